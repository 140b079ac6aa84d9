"""Checkpoints: a safetensors file alone rebuilds the model, loads into PyTorch, resumes bit for bit."""

import json
import os
import re
import struct
import tracemalloc

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tinygrad_mnist import nn
from tinygrad_mnist.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.lr_scheduler import StepLR
from tinygrad_mnist.optim import Adam
from tinygrad_mnist.train import fit, predict

CLASS_NAMES = [str(digit) for digit in range(10)]


def digits_like(rows=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((rows, 20), dtype=np.float32), rng.integers(0, 10, rows)


def build(seed=0, dtype=np.float32):
    nn.init.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 10))
    return model.to(dtype)


def header(path) -> dict:
    """The safetensors header: 8 bytes of little-endian length, then JSON."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length])


def test_a_file_alone_rebuilds_the_model_with_its_metadata(tmp_path):
    model = build()
    path = save_checkpoint(
        tmp_path / "model.safetensors",
        model,
        preprocessing={"pixel_scale": np.float64(1 / 255)},
        class_names=CLASS_NAMES,
        step=7,
        epoch=3,
    )
    loaded = load_checkpoint(path)
    assert repr(loaded.model) == repr(model)
    for (name, a), (_, b) in zip(model.named_parameters(), loaded.model.named_parameters(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy()), name
    x, _ = digits_like()
    np.testing.assert_array_equal(predict(loaded.model, x)[1], predict(model, x)[1])
    assert loaded.preprocessing == {"pixel_scale": 1 / 255}
    assert loaded.class_names == CLASS_NAMES
    assert (loaded.step, loaded.epoch) == (7, 3)
    assert loaded.optimizer_state is None and loaded.history is None


def test_float64_models_come_back_float64(tmp_path):
    model = build(dtype=np.float64)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "m.safetensors", model)).model
    assert {p.dtype for p in loaded.parameters()} == {np.dtype(np.float64)}


def test_the_file_is_plain_safetensors_tensors_plus_string_metadata(tmp_path):
    model = build()
    optimizer = Adam(model.parameters())
    x, y = digits_like()
    fit(model, optimizer, DataLoader(x, y, batch_size=32), 1)
    path = save_checkpoint(tmp_path / "m.safetensors", model, optimizer=optimizer)
    entries = header(path)
    metadata = entries.pop("__metadata__")
    assert all(isinstance(value, str) for value in metadata.values())
    json.loads(metadata["architecture"])
    weights = {name for name in entries if not name.startswith("optimizer.")}
    assert weights == set(model.state_dict())
    assert {name for name in entries if name.startswith("optimizer.")} == {
        f"optimizer.state.{i}.{kind}" for i in range(4) for kind in ("exp_avg", "exp_avg_sq")
    }
    assert all(set(entry) == {"dtype", "shape", "data_offsets"} for entry in entries.values())


def test_weights_load_into_pytorch_sequential_through_safetensors_alone(tmp_path):
    torch = pytest.importorskip("torch")
    nn.init.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 10))
    optimizer = Adam(model.parameters())
    x, y = digits_like()
    fit(model, optimizer, DataLoader(x, y, batch_size=16), 1)
    path = save_checkpoint(tmp_path / "m.safetensors", model, optimizer=optimizer)

    reference = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    tensors = {k: torch.from_numpy(v) for k, v in load_file(path).items() if not k.startswith("optimizer.")}
    reference.load_state_dict(tensors)  # strict: every name and shape fits
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).softmax(1).numpy()
    np.testing.assert_allclose(predict(model, x)[1], expected, rtol=1e-5, atol=1e-7)


def test_a_resumed_run_ends_bitwise_identical_to_an_uninterrupted_one(tmp_path):
    x, y = digits_like(96)
    dev = digits_like(32, seed=1)
    epochs, stop_after = 5, 2

    def start(seed=0):
        model = build(seed)
        optimizer = Adam(model.parameters(), lr=0.01)
        return model, optimizer, StepLR(optimizer, step_size=2, gamma=0.5)

    def loader():
        return DataLoader(x, y, batch_size=20, shuffle=True, seed=3)

    model, optimizer, scheduler = start()
    uninterrupted = fit(model, optimizer, loader(), epochs, dev=dev, scheduler=scheduler)

    first, first_optimizer, first_scheduler = start()
    path = tmp_path / "run.safetensors"

    def save_and_interrupt(epoch, history):
        save_checkpoint(path, first, optimizer=first_optimizer, scheduler=first_scheduler, epoch=epoch, history=history)
        if epoch == stop_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(
            first,
            first_optimizer,
            loader(),
            epochs,
            dev=dev,
            scheduler=first_scheduler,
            on_epoch_end=save_and_interrupt,
        )

    saved = load_checkpoint(path)
    resumed = saved.model
    resumed_optimizer = Adam(resumed.parameters(), lr=0.01)
    resumed_scheduler = StepLR(resumed_optimizer, step_size=2, gamma=0.5)
    resumed_optimizer.load_state_dict(saved.optimizer_state)
    resumed_scheduler.load_state_dict(saved.scheduler_state)
    history = fit(
        resumed,
        resumed_optimizer,
        loader(),
        epochs,
        dev=dev,
        scheduler=resumed_scheduler,
        start_epoch=saved.epoch,
        history=saved.history,
    )

    for (name, a), (_, b) in zip(model.named_parameters(), resumed.named_parameters(), strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes(), name
    for field in ("step", "loss", "epoch", "train_accuracy", "dev_loss", "dev_accuracy", "lr"):
        assert getattr(history, field) == getattr(uninterrupted, field), field


def test_a_failed_write_leaves_the_previous_file_intact_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, build(0))
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, build(1))
    monkeypatch.undo()
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, build(1))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    save_checkpoint(path, build(1))
    assert load_checkpoint(path).model.state_dict().keys() == build(1).state_dict().keys()
    assert path.read_bytes() != before


def test_bad_files_get_one_clear_message_naming_them(tmp_path):
    missing = tmp_path / "none.safetensors"
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*none\.safetensors"):
        load_checkpoint(missing)

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00not a safetensors file")
    with pytest.raises(CheckpointError, match=r"garbage\.safetensors is not a readable safetensors file"):
        load_checkpoint(garbage)

    bare = tmp_path / "bare.safetensors"
    save_file({"0.weight": np.zeros((2, 2), dtype=np.float32)}, bare)
    with pytest.raises(CheckpointError, match=r"bare.safetensors .*model.load_state_dict"):
        load_checkpoint(bare)

    good = save_checkpoint(tmp_path / "good.safetensors", build())
    metadata = header(good)["__metadata__"]
    del metadata["sha256"]  # crafted files: without the checksum each check below is reached
    tensors = load_file(good)

    wrong_shape = tmp_path / "wrong_shape.safetensors"
    config = json.loads(metadata["architecture"])
    config["layers"][1]["out_features"] = 17
    save_file(tensors, wrong_shape, metadata={**metadata, "architecture": json.dumps(config)})
    expected = r"wrong_shape.safetensors.*asks for 1.weight of shape \(17, 20\).*holds \(16, 20\)"
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint(wrong_shape)

    tampered = tmp_path / "tampered.safetensors"
    rng = json.loads(metadata["rng"])
    rng["3"]["bit_generator"] = "seed"  # np.random.seed: a callable, never called from a file
    save_file(tensors, tampered, metadata={**metadata, "rng": json.dumps(rng)})
    with pytest.raises(CheckpointError, match=r"tampered.safetensors.*random state saved for module '3' \(seed\)"):
        load_checkpoint(tampered)

    unknown = tmp_path / "unknown.safetensors"
    save_file(tensors, unknown, metadata={**metadata, "architecture": json.dumps({"type": "Conv9d"})})
    with pytest.raises(CheckpointError, match=r"unknown.safetensors.*unknown module type 'Conv9d'"):
        load_checkpoint(unknown)


class Custom(nn.Module):
    """A user's own model: no decorator, no get_config, a Dropout with its own generator."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(20, 8)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(8, 10)

    def forward(self, x):
        return self.out(self.drop(self.hidden(x).relu()))


def test_a_model_of_the_users_own_class_resumes_in_an_instance_the_caller_builds(tmp_path):
    nn.init.manual_seed(0)
    model = Custom()
    optimizer = Adam(model.parameters(), lr=0.01)
    x, y = digits_like()
    fit(model, optimizer, DataLoader(x, y, batch_size=16), 1)
    path = save_checkpoint(tmp_path / "own.safetensors", model, optimizer=optimizer, epoch=1)
    with pytest.raises(CheckpointError, match=r"own\.safetensors: .*a Custom.*model=Custom\(\)\)"):
        load_checkpoint(path)

    nn.init.manual_seed(1)
    fresh = Custom()
    loaded = load_checkpoint(path, model=fresh)
    assert loaded.model is fresh and loaded.epoch == 1
    fresh_optimizer = Adam(fresh.parameters(), lr=0.01)
    fresh_optimizer.load_state_dict(loaded.optimizer_state)
    fit(model, optimizer, DataLoader(x, y, batch_size=16, shuffle=True, seed=2), 1)  # Dropout draws: its generator
    fit(fresh, fresh_optimizer, DataLoader(x, y, batch_size=16, shuffle=True, seed=2), 1)
    for (name, a), (_, b) in zip(model.named_parameters(), fresh.named_parameters(), strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes(), name

    with pytest.raises(CheckpointError, match=r"(?s)own\.safetensors: .*missing: 1\.weight.*unexpected: hidden\.bias"):
        load_checkpoint(path, model=build())


def test_saving_refuses_what_it_cannot_describe(tmp_path):
    with pytest.raises(TypeError, match="cannot be stored as JSON"):
        save_checkpoint(tmp_path / "m.safetensors", build(), preprocessing={"scale": object()})
    assert list(tmp_path.iterdir()) == []


def test_a_flipped_bit_anywhere_in_the_tensor_data_is_caught_by_the_checksum(tmp_path):
    model = build()
    optimizer = Adam(model.parameters())
    x, y = digits_like()
    fit(model, optimizer, DataLoader(x, y, batch_size=32), 1)
    path = save_checkpoint(tmp_path / "m.safetensors", model, optimizer=optimizer)
    raw = bytearray(path.read_bytes())
    data_start = 8 + struct.unpack("<Q", raw[:8])[0]
    for position in np.random.default_rng(0).integers(data_start, len(raw), 5):
        flipped = bytearray(raw)
        flipped[position] ^= 1 << int(position % 8)
        damaged = tmp_path / "damaged.safetensors"
        damaged.write_bytes(flipped)
        with pytest.raises(CheckpointError, match=r"damaged\.safetensors: its contents do not match the SHA-256"):
            load_checkpoint(damaged)


def crafted(path, tensors, metadata):
    """A safetensors file written by hand: any dtype name, any header, zero-filled data."""
    entries, offset = {}, 0
    for name, (dtype, shape, itemsize) in tensors.items():
        size = int(np.prod(shape)) * itemsize
        entries[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps({"__metadata__": metadata, **entries}).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + bytes(offset))
    return path


def our_metadata(architecture):
    return {"format": "tinygrad_mnist.checkpoint.v1", "architecture": json.dumps(architecture)}


@pytest.mark.parametrize(
    "layers",
    [
        [{"type": "Linear", "in_features": 784, "out_features": 784, "bias": True}] * 300,  # 300 x 2.4 MB
        [{"type": "Linear", "in_features": 200_000, "out_features": 200_000, "bias": True}],  # 149 GiB
        [{"type": "Conv2d", "in_channels": 9999, "out_channels": 9999, "kernel_size": [99, 99]}],
    ],
)
def test_a_small_file_asking_for_a_huge_model_is_refused_before_anything_is_allocated(tmp_path, layers):
    path = crafted(
        tmp_path / "huge.safetensors",
        {"0.weight": ("F32", (10, 4), 4), "0.bias": ("F32", (10,), 4)},
        our_metadata({"type": "Sequential", "layers": layers}),
    )
    tracemalloc.start()
    with pytest.raises(CheckpointError, match=r"huge\.safetensors: its architecture asks for 0\.weight of shape"):
        load_checkpoint(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20  # under 1 MiB: not one layer was built


def test_the_format_is_checked_before_any_tensor_is_read(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"big": np.ones((1 << 22,), dtype=np.float32)}, foreign)  # 16 MiB of someone else's tensor
    tracemalloc.start()
    with pytest.raises(CheckpointError, match=r"foreign\.safetensors is a safetensors file without"):
        load_checkpoint(foreign)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize(("dtype", "itemsize"), [("BF16", 2), ("F16", 2), ("I64", 8), ("BOOL", 1)])
def test_weights_of_other_dtypes_are_refused_by_name(tmp_path, dtype, itemsize):
    architecture = {"type": "Sequential", "layers": [{"type": "Linear", "in_features": 2, "out_features": 3}]}
    path = crafted(
        tmp_path / "half.safetensors",
        {"0.weight": (dtype, (3, 2), itemsize), "0.bias": (dtype, (3,), itemsize)},
        our_metadata(architecture),
    )
    with pytest.raises(CheckpointError, match=rf"half\.safetensors: tensor 0\.(weight|bias) is stored as {dtype}"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("preprocessing", [], "its 'preprocessing' metadata is a list, expected dict"),
        ("history", [1, 2], "its 'history' metadata is a list, expected dict or null"),
        ("history", {"loss": 3}, "history or epoch progress metadata does not fit"),
        ("optimizer", ["Adam"], "its 'optimizer' metadata is a list"),
        ("optimizer", {"type": "Adam", "param_groups": {}, "state": {}}, "lacks a type, param_groups or state"),
        ("class_names", {"0": "zero"}, "its 'class_names' metadata is a dict"),
        ("rng", ["PCG64"], "its 'rng' metadata is a list"),
        ("step", [3], "its 'step' metadata is a list, expected int"),
        ("epoch", -1, "its 'epoch' metadata is -1"),
        ("architecture", [], "its 'architecture' metadata is a list"),
        ("architecture", {"type": "Sequential", "layers": [[]]}, "layer 0 of the architecture is a list"),
    ],
)
def test_crafted_metadata_of_the_wrong_kind_gets_one_message(tmp_path, key, value, expected):
    good = save_checkpoint(tmp_path / "good.safetensors", build(), optimizer=Adam(build().parameters()))
    metadata = header(good)["__metadata__"]
    del metadata["sha256"]
    crafted_file = tmp_path / "crafted.safetensors"
    save_file(load_file(good), crafted_file, metadata={**metadata, key: json.dumps(value)})
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        load_checkpoint(crafted_file)
