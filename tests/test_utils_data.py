"""utils.data against PyTorch: collation, batch counts, samplers, splits, argument checks and the fast path."""

import collections
import itertools
import warnings

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist.utils import data

torch = pytest.importorskip("torch")
tdata = torch.utils.data

Point = collections.namedtuple("Point", ["x", "label"])


def structure(value):
    """A framework-free description of a batch: containers, tensor dtypes and shapes, and the values."""
    if isinstance(value, tm.Tensor | torch.Tensor):
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape), value.numpy().tolist())
    if isinstance(value, dict):
        return ("dict", {key: structure(item) for key, item in value.items()})
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, [structure(item) for item in value])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [structure(item) for item in value])
    return ("value", value)


def samples(framework):
    """The same samples of every kind default_collate knows, built with ``framework``'s tensors."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    return [
        [framework.tensor(a) for a in arrays],
        arrays,
        [np.float32(i) for i in range(3)],
        [np.int16(i) for i in range(3)],
        [1, 2, 3],
        [0.5, 1.5, 2.5],
        [True, False, True],
        ["a", "bb", "c"],
        [(framework.tensor(a), i) for i, a in enumerate(arrays)],
        [[i, float(i)] for i in range(3)],
        [{"image": a, "label": i, "name": f"n{i}"} for i, a in enumerate(arrays)],
        [Point(framework.tensor(a), i) for i, a in enumerate(arrays)],
        [{"nested": [(i, {"deep": np.int64(i)})]} for i in range(3)],
    ]


@pytest.mark.parametrize("kind", range(13))
def test_default_collate_builds_pytorchs_batch(kind):
    ours = data.default_collate(samples(tm)[kind])
    theirs = tdata.default_collate(samples(torch)[kind])
    assert structure(ours) == structure(theirs)


@pytest.mark.parametrize("kind", range(13))
def test_default_convert_is_pytorchs(kind):
    sample = samples(tm)[kind][0]
    assert structure(data.default_convert(sample)) == structure(tdata.default_convert(samples(torch)[kind][0]))


def test_default_collate_refuses_what_it_cannot_batch():
    with pytest.raises(TypeError, match=r"default_collate: batch must contain tensors.*found <class 'object'>"):
        data.default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <U1"):
        data.default_collate([np.array(["a"]), np.array(["b"])])


class Squares(data.Dataset):
    """A map-style dataset of (array, int) samples, as a user writes one."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        return np.full(2, index * index, dtype=np.float32), index

    def __len__(self):
        return self.n


class TorchSquares(tdata.Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        return np.full(2, index * index, dtype=np.float32), index

    def __len__(self):
        return self.n


class Stream(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TorchStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("rows", [1, 7, 8, 9])
@pytest.mark.parametrize("batch_size", [1, 3, 8, None])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_batches_and_their_count_are_pytorchs(rows, batch_size, drop_last):
    if batch_size is None and drop_last:
        return  # an error, checked below
    rng = np.random.default_rng(rows)
    x, y = rng.standard_normal((rows, 3)).astype(np.float32), rng.integers(0, 5, rows)
    cases = [
        (data.TensorDataset(tm.tensor(x), tm.tensor(y)), tdata.TensorDataset(torch.tensor(x), torch.tensor(y))),
        (Squares(rows), TorchSquares(rows)),
        (
            data.Subset(Squares(rows + 3), np.arange(rows)[::-1]),
            tdata.Subset(TorchSquares(rows + 3), np.arange(rows)[::-1]),
        ),
        (Stream(rows), TorchStream(rows)),
    ]
    for ours, theirs in cases:
        ours = data.DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
        theirs = tdata.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
        assert len(ours) == len(theirs)
        assert [structure(b) for b in ours] == [structure(b) for b in theirs]


def test_the_fast_path_serves_what_per_sample_collation_serves_and_keeps_grads():
    x = tm.tensor(np.arange(20.0).reshape(10, 2))
    y = tm.arange(10)
    dataset = data.Subset(data.TensorDataset(x, y), [9, 2, 4, 0, 7, 1])
    order = list(data.RandomSampler(dataset, generator=tm.Generator().manual_seed(3)))
    fast = data.DataLoader(dataset, batch_size=4, shuffle=True, generator=tm.Generator().manual_seed(3))
    slow = data.DataLoader(dataset, batch_size=4, sampler=order, collate_fn=data.default_collate)
    assert [structure(b) for b in fast] == [structure(b) for b in slow]
    weights = tm.ones(4, 2, requires_grad=True)
    (batch,) = next(iter(data.DataLoader(data.TensorDataset(weights), batch_size=4)))
    batch.sum().backward()
    np.testing.assert_array_equal(weights.grad.numpy(), np.ones((4, 2)))


def test_a_subclass_that_transforms_samples_is_not_fast_pathed():
    class Doubled(data.TensorDataset):
        def __getitem__(self, index):
            return tuple(t[index] * 2 for t in self.tensors)

    (batch,) = next(iter(data.DataLoader(Doubled(tm.ones(4)), batch_size=4)))
    np.testing.assert_array_equal(batch.numpy(), np.full(4, 2.0))


def test_batch_size_none_serves_unbatched_samples_as_pytorch():
    ours = list(data.DataLoader(Squares(3), batch_size=None))
    theirs = list(tdata.DataLoader(TorchSquares(3), batch_size=None))
    assert [structure(b) for b in ours] == [structure(b) for b in theirs]


def test_batch_sampler_and_sampler_arguments_serve_pytorchs_batches():
    for batch_size, drop_last in itertools.product([1, 3, 4, 10], [False, True]):
        sampler = [5, 1, 4, 2, 0, 3, 6]
        ours = data.BatchSampler(sampler, batch_size, drop_last)
        theirs = tdata.BatchSampler(sampler, batch_size, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    ours = data.DataLoader(Squares(7), batch_sampler=[[3, 1], [0, 2, 6]])
    theirs = tdata.DataLoader(TorchSquares(7), batch_sampler=[[3, 1], [0, 2, 6]])
    assert [structure(b) for b in ours] == [structure(b) for b in theirs] and len(ours) == len(theirs) == 2
    ours = data.DataLoader(Squares(7), sampler=data.SequentialSampler(range(5)), batch_size=2)
    assert [b[1].numpy().tolist() for b in ours] == [[0, 1], [2, 3], [4]] and len(ours) == 3


def test_loader_keeps_pytorchs_attributes():
    dataset = Squares(5)
    loader = data.DataLoader(dataset, batch_size=2, drop_last=True)
    assert loader.dataset is dataset and loader.batch_size == 2 and loader.drop_last
    assert isinstance(loader.sampler, data.SequentialSampler) and isinstance(loader.batch_sampler, data.BatchSampler)
    assert isinstance(data.DataLoader(dataset, shuffle=True).sampler, data.RandomSampler)
    assert data.DataLoader(dataset, batch_sampler=[[0]]).batch_size is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"shuffle": True, "sampler": [0, 1]}, "sampler option is mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
        ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
        ({"batch_sampler": [[0]], "sampler": [0]}, "batch_sampler option is mutually exclusive"),
        ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
        ({"num_workers": -1}, "num_workers option should be non-negative"),
        ({"timeout": -1}, "timeout option should be non-negative"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in multiprocessing"),
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"batch_size": 0}, "batch_size should be a positive integer value"),
    ],
)
def test_bad_loader_arguments_are_refused_as_pytorch_refuses_them(options, message):
    with pytest.raises(ValueError, match=message):
        data.DataLoader(Squares(3), **options)
    with pytest.raises(ValueError, match=message.replace("Let", "let")[:30]):
        tdata.DataLoader(TorchSquares(3), **options)


@pytest.mark.parametrize("option", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_datasets_refuse_samplers_and_shuffle(option):
    name = next(iter(option))
    with pytest.raises(ValueError, match=f"DataLoader with IterableDataset: expected unspecified {name} option"):
        data.DataLoader(Stream(3), **option)


def test_num_workers_run_in_process_and_call_worker_init_fn_each_epoch():
    calls = []
    loader = data.DataLoader(Squares(4), batch_size=2, num_workers=2, worker_init_fn=calls.append)
    assert [b[1].numpy().tolist() for b in loader] == [[0, 1], [2, 3]]
    list(loader)
    assert calls == [0, 0] and data.get_worker_info() is None


def test_shuffled_epochs_are_permutations_reproducible_from_the_generator():
    dataset = data.TensorDataset(tm.arange(50))

    def epochs(seed, count=3):
        loader = data.DataLoader(dataset, batch_size=8, shuffle=True, generator=tm.Generator().manual_seed(seed))
        return [np.concatenate([b.numpy() for (b,) in loader]) for _ in range(count)]

    first = epochs(0)
    assert all(sorted(epoch.tolist()) == list(range(50)) for epoch in first)
    assert not np.array_equal(first[0], first[1])
    assert all(np.array_equal(a, b) for a, b in zip(first, epochs(0), strict=True))
    assert not np.array_equal(first[0], epochs(1)[0])
    tm.manual_seed(4)
    default = [b.numpy() for (b,) in data.DataLoader(dataset, batch_size=50, shuffle=True)]
    tm.manual_seed(4)
    assert np.array_equal(default[0], next(iter(data.DataLoader(dataset, batch_size=50, shuffle=True)))[0].numpy())


def test_random_samplers_draw_what_they_promise():
    generator = tm.Generator().manual_seed(0)
    assert len(list(data.RandomSampler(range(5), num_samples=12, generator=generator))) == 12
    twelve = list(data.RandomSampler(range(5), num_samples=12, generator=generator))
    assert sorted(twelve[:5]) == sorted(twelve[5:10]) == list(range(5))  # whole permutations first
    drawn = list(data.RandomSampler(range(3), replacement=True, num_samples=300, generator=generator))
    assert set(drawn) == {0, 1, 2} and len(data.RandomSampler(range(3), replacement=True, num_samples=300)) == 300
    assert sorted(data.SubsetRandomSampler([7, 3, 9], generator=generator)) == [3, 7, 9]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=generator))
    assert 0 not in weighted and abs(weighted.count(2) / 4000 - 0.75) < 0.03  # 4.4 sd of 0.0068
    assert sorted(data.WeightedRandomSampler([1, 1, 1], 3, replacement=False, generator=generator)) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        data.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        data.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="without replacement"):
        data.WeightedRandomSampler([1, 0], 2, replacement=False)


@pytest.mark.parametrize(
    "rows, lengths",
    [(10, [3, 7]), (10, [0.3, 0.7]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.2, 0.2, 0.6]), (5, [0.1] * 10)],
)
def test_random_split_lengths_are_pytorchs_and_the_splits_partition_the_dataset(rows, lengths):
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = data.random_split(Squares(rows), lengths, generator=tm.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = tdata.random_split(TorchSquares(rows), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert len(ours_warned) == len(theirs_warned)
    assert sorted(i for s in ours for i in s.indices) == list(range(rows))
    assert all(s.dataset.n == rows for s in ours)


def test_random_split_is_reproducible_and_refuses_bad_lengths():
    def split(seed):
        return [s.indices for s in data.random_split(range(20), [5, 15], generator=tm.Generator().manual_seed(seed))]

    assert split(0) == split(0) and split(0) != split(1)
    with pytest.raises(ValueError, match="sum to 9, not to the dataset's length 10"):
        data.random_split(range(10), [4, 5])
    with pytest.raises(ValueError, match=r"fraction at index 0 \(1.5\)"):
        data.random_split(range(10), [1.5, -0.5])


def test_tensor_dataset_subset_and_concat_index_as_pytorch():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ours = data.TensorDataset(tm.tensor(x), tm.tensor(y))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    for index in (0, 5, -1, slice(1, 4), [4, 0]):
        assert structure(ours[index]) == structure(theirs[index])
    assert len(ours) == 6 and len(data.Subset(ours, [1, 3])) == 2
    assert structure(data.Subset(ours, [5, 3, 1])[[0, 2]]) == structure(tdata.Subset(theirs, [5, 3, 1])[[0, 2]])
    joined, torch_joined = ours + data.Subset(ours, [2]), theirs + tdata.Subset(theirs, [2])
    assert isinstance(joined, data.ConcatDataset) and len(joined) == len(torch_joined) == 7
    for index in (0, 5, 6, -1, -7):
        assert structure(joined[index]) == structure(torch_joined[index])
    with pytest.raises(ValueError, match="out of range"):
        joined[-8]
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, data.ChainDataset) and list(chained) == [0, 1, 0, 1, 2]


def test_tensor_dataset_refuses_mismatched_rows_and_arrays_clearly():
    with pytest.raises(ValueError, match=r"size mismatch between tensors \(shapes \(5, 2\), \(4,\)\)"):
        data.TensorDataset(tm.zeros(5, 2), tm.zeros(4))
    with pytest.raises(TypeError, match=r"argument 1 is a ndarray, not a Tensor.*from_numpy"):
        data.TensorDataset(tm.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="ConcatDataset: datasets should not be an empty"):
        data.ConcatDataset([])
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        data.Dataset()[0]


def test_torch_names_resolve_after_import_tinygrad_mnist_as_torch():
    assert tm.utils.data.DataLoader is data.DataLoader and tm.utils.data.TensorDataset is data.TensorDataset


def test_the_recipes_loader_serves_epoch_e_in_the_documented_order():
    """Checkpoints saved by earlier versions resume with the same batches only if this order never changes."""
    from tinygrad_mnist.data.loader import DataLoader as ArrayLoader

    x = np.arange(30)
    loader = ArrayLoader(x, batch_size=7, shuffle=True, seed=5)
    assert isinstance(loader, data.DataLoader) and isinstance(loader.dataset, data.TensorDataset)
    for epoch in (0, 1, 4):
        loader.set_epoch(epoch)
        served = np.concatenate([b.numpy() for (b,) in loader])
        np.testing.assert_array_equal(served, np.random.default_rng([5, epoch]).permutation(30))
    unshuffled = ArrayLoader(x, batch_size=None)
    assert len(unshuffled) == 1 and np.shares_memory(next(iter(unshuffled))[0].numpy(), x)  # a view, no copy
