"""DataLoader, fit, evaluate and predict: reproducible batches, a loop that learns and stops safely."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.lr_scheduler import StepLR
from tinygrad_mnist.optim import SGD, Adam
from tinygrad_mnist.train import (
    DivergenceError,
    EpochProgress,
    History,
    NonFiniteLossError,
    TrainingInterruptedError,
    evaluate,
    fit,
    predict,
)

# ----- DataLoader ---------------------------------------------------------------------


@given(
    rows=st.integers(1, 40),
    batch_size=st.one_of(st.none(), st.integers(1, 50)),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    epoch=st.integers(0, 100),
)
def test_an_epoch_serves_each_row_once_in_batches_of_the_given_size(rows, batch_size, shuffle, drop_last, seed, epoch):
    x = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
    y = np.arange(rows)
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    loader.set_epoch(epoch)
    batches = list(loader)
    size = rows if batch_size is None else batch_size
    assert len(batches) == len(loader)
    assert all(len(bx) == len(by) == size for bx, by in batches[:-1])
    served = np.concatenate([by.numpy() for _, by in batches]) if batches else np.array([], dtype=int)
    for bx, by in batches:
        np.testing.assert_array_equal(bx.numpy(), x[by.numpy()])  # rows stay paired across arrays
    if drop_last:
        assert len(served) == rows // size * size and len(set(served.tolist())) == len(served)
    else:
        assert sorted(served.tolist()) == list(range(rows))
    if not shuffle:
        np.testing.assert_array_equal(served, np.arange(len(served)))


def test_shuffle_order_depends_on_seed_and_epoch_alone():
    x = np.arange(100)

    def served(loader):
        return np.concatenate([b.numpy() for (b,) in loader])

    def resumed_at(seed, epoch):
        loader = DataLoader(x, batch_size=10, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return served(loader)

    iterated = DataLoader(x, batch_size=10, shuffle=True, seed=0)
    epochs = [served(iterated) for _ in range(4)]
    assert np.array_equal(epochs[3], resumed_at(0, 3))
    assert not np.array_equal(epochs[3], epochs[2])
    assert not np.array_equal(resumed_at(0, 3), resumed_at(1, 3))


def test_dtypes_are_kept():
    x, y = np.zeros((5, 3), dtype=np.float32), np.zeros(5, dtype=np.int64)
    bx, by = next(iter(DataLoader(x, y, batch_size=2)))
    assert bx.dtype == np.float32 and by.dtype == np.int64


def test_bad_loader_arguments_are_explained():
    with pytest.raises(ValueError, match="array 1 has shape \\(4,\\), but array 0 has 5 rows"):
        DataLoader(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be a positive int or None"):
        DataLoader(np.zeros((5, 2)), batch_size=0)
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader()


# ----- fit ----------------------------------------------------------------------------


def blobs(rows=120, seed=0):
    """Three well-separated Gaussian blobs in 4-D, float32."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    centres = np.eye(3, 4) * 4
    return (centres[y] + rng.standard_normal((rows, 4))).astype(np.float32), y


def small_model(seed=0):
    nn.init.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def test_fit_learns_and_records_like_l_layer_model_cv():
    x, y = blobs()
    model = small_model()
    loader = DataLoader(x[:90], y[:90], batch_size=30, shuffle=True)
    history = fit(model, Adam(model.parameters(), lr=0.05), loader, 6, dev=(x[90:], y[90:]), log_every=2)
    assert history.step == list(range(0, 18, 2))
    assert history.epoch == [1, 2, 3, 4, 5, 6]
    assert len(history.train_accuracy) == len(history.dev_accuracy) == len(history.dev_loss) == 6
    assert history.loss[-1] < history.loss[0] / 3
    assert history.dev_accuracy[-1] > 0.9
    assert all(s > 0 for s in history.seconds)
    assert evaluate(model, x[90:], y[90:]).accuracy == history.dev_accuracy[-1]


def test_full_batch_loss_is_the_cost_at_each_iteration_before_the_update():
    x, y = blobs(30)
    model = small_model()
    history = fit(model, SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=None), 3, progress=False)
    probe = small_model()
    costs = []
    optimizer = SGD(probe.parameters(), lr=0.1)
    for _ in range(3):
        loss = nn.CrossEntropyLoss()(probe(Tensor(x)), y)
        costs.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert history.loss == costs
    assert history.step == [0, 1, 2]


def test_eval_every_records_only_those_epochs_and_the_last():
    x, y = blobs(30)
    model = small_model()
    history = fit(model, SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=None), 7, eval_every=3)
    assert history.epoch == [3, 6, 7]
    assert history.dev_accuracy == []


def test_the_scheduler_steps_once_per_epoch():
    x, y = blobs(30)
    model = small_model()
    optimizer = SGD(model.parameters(), lr=0.1)
    history = fit(model, optimizer, DataLoader(x, y, batch_size=10), 4, scheduler=StepLR(optimizer, 2, gamma=0.5))
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_loss_stops_at_once_keeping_the_last_finite_weights():
    x, y = blobs(30)
    x[0, 0] = np.inf
    model = small_model()
    before = {name: array.copy() for name, array in model.state_dict().items()}
    calls = []
    with pytest.raises(NonFiniteLossError) as error:
        fit(
            model,
            SGD(model.parameters(), lr=0.1),
            DataLoader(x, y, batch_size=None),
            5,
            on_epoch_end=lambda *args: calls.append(args),
        )
    message = str(error.value)
    assert "step 0 (epoch 1)" in message and "nan" in message
    assert "normalising the inputs" in message and "lower learning rate (now 0.1)" in message
    assert error.value.step == 0 and np.isnan(error.value.loss)
    assert calls == []
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_stops_at_the_first_non_finite_step():
    x, y = blobs(60)
    model = small_model()
    with pytest.raises(NonFiniteLossError) as error:  # with no limit on the loss's rise
        fit(model, SGD(model.parameters(), lr=1e6), DataLoader(x * 1e3, y, batch_size=None), 50, max_loss_ratio=None)
    history = error.value.history
    assert history.step == list(range(error.value.step))
    assert all(np.isfinite(history.loss))
    assert all(np.isfinite(p.numpy()).all() for p in model.parameters())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_gradient_under_a_finite_loss_stops_before_the_step():
    def sqrt_at_zero(logits, target):  # value 0, gradient 0 * inf = nan
        return ((logits * 0.0) ** 0.5).sum()

    x, y = blobs(30)
    model = small_model()
    before = {name: array.copy() for name, array in model.state_dict().items()}
    with pytest.raises(NonFiniteLossError, match=r"the loss is 0 but the gradient of 0\.weight is not finite"):
        fit(model, SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=None), 2, loss_fn=sqrt_at_zero)
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())


def test_a_loss_far_above_its_start_stops_before_that_step_even_while_finite():
    x, y = blobs(60)
    model = small_model()
    weights = []
    with pytest.raises(DivergenceError) as error:
        fit(
            model,
            SGD(model.parameters(), lr=5.0),
            DataLoader(x * 10, y, batch_size=None),
            50,
            max_loss_ratio=100,
            on_epoch_end=lambda *_: weights.append(model.state_dict()),
        )
    stopped = error.value
    assert not isinstance(stopped, NonFiniteLossError) and np.isfinite(stopped.loss)
    assert stopped.loss > 100 * stopped.history.loss[0] and "times its start" in str(stopped)
    assert stopped.history.step == list(range(stopped.step))  # every step before it, logged
    assert max(stopped.history.loss) <= 100 * stopped.history.loss[0]
    last_kept = weights[-1]  # after the last full epoch, i.e. before the offending step
    assert all(np.array_equal(last_kept[name], array) for name, array in model.state_dict().items())


def test_a_network_that_learned_nothing_stops_after_the_epoch_with_the_chance_level():
    x, y = blobs(90)
    model = small_model()
    nn.init.constant_(model[0].bias, -1e3)  # every hidden ReLU dead: one answer for every input
    loader, dev = DataLoader(x[:60], y[:60], batch_size=20), (x[60:], y[60:])
    with pytest.raises(DivergenceError, match=r"dev accuracy after epoch 1 is .*no better than always answering"):
        fit(model, Adam(model.parameters()), loader, 5, dev=dev, stop_at_chance=True)
    history = fit(model, Adam(model.parameters()), loader, 2, dev=dev)  # off by default: random labels are legal
    assert history.dev_accuracy[-1] <= np.bincount(y[60:]).max() / 30  # one class for every row


def test_an_interrupted_run_continues_mid_epoch_bit_for_bit():
    x, y = blobs(90)

    def run(stop_after=None, **resume):
        nn.init.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        optimizer = Adam(model.parameters(), lr=0.01)
        steps = iter(range(10**6))
        stop = None if stop_after is None else (lambda: next(steps) == stop_after)
        loader = DataLoader(x[:60], y[:60], batch_size=25, shuffle=True, seed=1)
        return model, optimizer, loader, stop

    model, optimizer, loader, _ = run()
    whole = fit(model, optimizer, loader, 4, dev=(x[60:], y[60:]))

    model_b, optimizer_b, loader_b, stop = run(stop_after=7)  # 3 batches an epoch: stops inside epoch 3
    with pytest.raises(TrainingInterruptedError) as interrupted:
        fit(model_b, optimizer_b, loader_b, 4, dev=(x[60:], y[60:]), should_stop=stop)
    state = interrupted.value
    assert (state.epoch, state.step, state.within.batches) == (2, 7, 1)
    resumed = fit(
        model_b,
        optimizer_b,
        DataLoader(x[:60], y[:60], batch_size=25, shuffle=True, seed=1),
        4,
        dev=(x[60:], y[60:]),
        start_epoch=state.epoch,
        history=state.history,
        within_epoch=state.within,
    )
    for (name, a), (_, b) in zip(model.named_parameters(), model_b.named_parameters(), strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes(), name
    for name in ("step", "loss", "epoch", "train_accuracy", "dev_loss", "dev_accuracy", "lr"):
        assert getattr(resumed, name) == getattr(whole, name), name
    with pytest.raises(ValueError, match=r"within_epoch\.batches is 4, but an epoch has 3"):
        fit(model_b, optimizer_b, loader_b, 5, start_epoch=4, within_epoch=EpochProgress(batches=4))


def test_the_recorded_seconds_add_up_to_every_epoch_even_between_evaluations(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("tinygrad_mnist.train.time.perf_counter", lambda: clock[0])

    def loss_taking_a_second(logits, target):
        clock[0] += 1.0
        return nn.functional.cross_entropy(logits, target)

    x, y = blobs(30)
    model = small_model()
    loader = DataLoader(x, y, batch_size=15)  # 2 steps an epoch
    history = fit(model, SGD(model.parameters(), lr=0.1), loader, 7, eval_every=3, loss_fn=loss_taking_a_second)
    assert history.epoch == [3, 6, 7] and history.seconds == [6.0, 6.0, 2.0]


def test_progress_bar_is_off_when_stderr_is_not_a_terminal_and_on_when_asked(capsys):
    x, y = blobs(30)
    model = small_model()
    fit(model, SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=10), 1)
    assert capsys.readouterr().err == ""
    fit(model, SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=10), 1, progress=True)
    assert "3/3" in capsys.readouterr().err


def test_history_round_trips_through_a_dict():
    history = History(step=[0, 1], loss=[2.0, 1.5], epoch=[1], train_accuracy=[0.5], lr=[0.1], seconds=[0.2])
    assert History.from_dict(history.to_dict()) == history


# ----- evaluate and predict -----------------------------------------------------------


def test_predict_gives_class_ids_and_probabilities_in_batches_and_restores_the_mode():
    x, _ = blobs(50)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    classes, probabilities = predict(model, x, batch_size=7)
    assert model.training
    assert classes.shape == (50,) and probabilities.shape == (50, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(classes, probabilities.argmax(axis=1))
    whole_classes, whole_probabilities = predict(model, x, batch_size=None)  # Dropout is off: deterministic
    np.testing.assert_array_equal(classes, whole_classes)
    np.testing.assert_allclose(probabilities, whole_probabilities, rtol=1e-6)


def test_evaluate_gives_the_mean_loss_and_accuracy_whatever_the_batch_size():
    x, y = blobs(50)
    model = small_model()
    whole = evaluate(model, x, y, batch_size=None)
    batched = evaluate(model, x, y, batch_size=7)
    assert batched.loss == pytest.approx(whole.loss, rel=1e-6)
    assert batched.accuracy == whole.accuracy == np.mean(predict(model, x)[0] == y)
    onehot = evaluate(model, x, np.eye(3, dtype=np.float32)[y])
    assert onehot.accuracy == whole.accuracy and onehot.loss == pytest.approx(whole.loss, rel=1e-6)
    with pytest.raises(ValueError, match="50 inputs but 49 targets"):
        evaluate(model, x, y[:49])


def test_fit_refuses_a_loader_without_batches():
    x, y = blobs(30)
    model = small_model()
    with pytest.raises(ValueError, match="30 rows and drop_last with batch_size 64"):
        fit(model, SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=64, drop_last=True), 1)
