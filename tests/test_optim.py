"""optim and lr_scheduler: PyTorch's update rules and schedules, in place, dtype-preserving, resumable."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, lr_scheduler, optim

SHAPES = [(4, 3), (4,), ()]  # a 0-d parameter too: NumPy turns 0-d results into scalars


def parameters(dtype=np.float64, seed=0) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    return [Tensor(np.asarray(rng.standard_normal(shape), dtype=dtype), requires_grad=True) for shape in SHAPES]


def gradient_sequence(steps: int, seed: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[np.asarray(rng.standard_normal(shape)) for shape in SHAPES] for _ in range(steps)]


def run_ours(cls, options, grads, dtype=np.float64) -> list[Tensor]:
    params = parameters(dtype)
    optimizer = cls(params, **options)
    for step in grads:
        for p, g in zip(params, step, strict=True):
            p.grad = Tensor(g.astype(dtype))
        optimizer.step()
    return params


def run_torch(torch, name, options, grads) -> list[np.ndarray]:
    params = [torch.from_numpy(p.numpy().copy()).requires_grad_() for p in parameters()]
    optimizer = getattr(torch.optim, name)(params, **options)
    for step in grads:
        for p, g in zip(params, step, strict=True):
            p.grad = torch.from_numpy(g.copy())
        optimizer.step()
    return [p.detach().numpy() for p in params]


OPTIMIZERS = {"SGD": optim.SGD, "Adam": optim.Adam, "AdamW": optim.AdamW}

sgd_options = st.fixed_dictionaries(
    {"lr": st.floats(1e-4, 0.5)},
    optional={
        "momentum": st.floats(0.0, 0.99),
        "dampening": st.floats(0.0, 0.5),
        "weight_decay": st.floats(0.0, 0.1),
    },
)
nesterov_options = st.fixed_dictionaries(
    {"lr": st.floats(1e-4, 0.5), "momentum": st.floats(0.1, 0.99), "nesterov": st.just(True)},
    optional={"weight_decay": st.floats(0.0, 0.1)},
)
adam_options = st.fixed_dictionaries(
    {"lr": st.floats(1e-4, 0.1)},
    optional={
        "betas": st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.9999)),
        "eps": st.floats(1e-10, 1e-3),
        "weight_decay": st.floats(0.0, 0.1),
        "amsgrad": st.booleans(),
    },
)
cases = st.one_of(
    st.tuples(st.just("SGD"), sgd_options | nesterov_options),
    st.tuples(st.just("Adam"), adam_options),
    st.tuples(st.just("AdamW"), adam_options),
)


@settings(max_examples=40)
@given(cases, st.integers(1, 6))
def test_updates_match_pytorch(case, steps):
    torch = pytest.importorskip("torch")
    name, options = case
    grads = gradient_sequence(steps)
    ours = run_ours(OPTIMIZERS[name], options, grads)
    theirs = run_torch(torch, name, options, grads)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.numpy(), q, rtol=1e-12, atol=1e-14)


def test_defaults_are_pytorchs():
    torch = pytest.importorskip("torch")
    for name, cls in OPTIMIZERS.items():
        ours = cls(parameters()).defaults
        theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
        assert {k: theirs[k] for k in ours} == ours, name


def test_plain_sgd_is_the_notebooks_update():
    grads = gradient_sequence(3)
    params = run_ours(optim.SGD, {"lr": 0.01}, grads)
    expected = [p.numpy() for p in parameters()]
    for step in grads:
        expected = [w - 0.01 * g for w, g in zip(expected, step, strict=True)]
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_array_equal(p.numpy(), e)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_are_in_place_and_float32_stays_float32(name):
    params = parameters(np.float32)
    arrays = [p.numpy() for p in params]
    optimizer = OPTIMIZERS[name](params, lr=np.float64(0.01))
    for step in gradient_sequence(2):
        for p, g in zip(params, step, strict=True):
            p.grad = Tensor(g.astype(np.float32))
        optimizer.step()
    assert all(p.numpy() is a and p.dtype == np.float32 for p, a in zip(params, arrays, strict=True))
    assert all(
        v.dtype == np.float32 for state in optimizer.state.values() for v in state.values() if hasattr(v, "dtype")
    )


def test_parameters_without_gradient_are_left_alone():
    params = parameters()
    before = params[1].numpy().copy()
    params[0].grad = Tensor(np.ones((4, 3)))
    optim.Adam(params).step()
    np.testing.assert_array_equal(params[1].numpy(), before)


def test_zero_grad_forgets_gradients():
    params = parameters()
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    optimizer = optim.SGD(params, lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_param_groups_take_their_own_hyperparameters():
    first, second, _ = parameters()
    optimizer = optim.SGD([{"params": [first]}, {"params": [second], "lr": 0.5}], lr=0.1)
    first.grad, second.grad = Tensor(np.ones(first.shape)), Tensor(np.ones(second.shape))
    before = [first.numpy().copy(), second.numpy().copy()]
    optimizer.step()
    np.testing.assert_allclose(before[0] - first.numpy(), 0.1)
    np.testing.assert_allclose(before[1] - second.numpy(), 0.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.SGD([], lr=0.1),
        lambda: optim.SGD([Tensor(np.ones(2))], lr=0.1),
        lambda: optim.SGD(parameters(), lr=-1),
        lambda: optim.SGD(parameters(), lr=0.1, nesterov=True),
        lambda: optim.Adam(parameters(), betas=(0.9, 1.0)),
    ],
    ids=["empty", "no-grad", "negative-lr", "nesterov-without-momentum", "beta-1"],
)
def test_bad_arguments_are_refused(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_resume_continues_bitwise(name):
    options = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}
    grads = gradient_sequence(6)
    uninterrupted = run_ours(OPTIMIZERS[name], options, grads)

    params = parameters()
    optimizer = OPTIMIZERS[name](params, **options)
    for step in grads[:3]:
        for p, g in zip(params, step, strict=True):
            p.grad = Tensor(g)
        optimizer.step()
    saved_weights = [p.numpy().copy() for p in params]
    saved_state = optimizer.state_dict()

    resumed = [Tensor(w, requires_grad=True) for w in saved_weights]
    optimizer = OPTIMIZERS[name](resumed, lr=1.0)
    optimizer.load_state_dict(saved_state)
    for step in grads[3:]:
        for p, g in zip(resumed, step, strict=True):
            p.grad = Tensor(g)
        optimizer.step()
    for p, q in zip(uninterrupted, resumed, strict=True):
        assert np.array_equal(p.numpy(), q.numpy())


def test_load_state_dict_refuses_another_model():
    optimizer = optim.Adam(parameters())
    other = optim.Adam([Tensor(np.ones(3), requires_grad=True)])
    with pytest.raises(ValueError, match=r"groups of sizes \[3\], this optimizer \[1\]"):
        other.load_state_dict(optimizer.state_dict())


# ----- schedules ----------------------------------------------------------------------

SCHEDULES = {
    "StepLR": (lr_scheduler.StepLR, {"step_size": 3, "gamma": 0.5}),
    "CosineAnnealingLR": (lr_scheduler.CosineAnnealingLR, {"T_max": 7, "eta_min": 1e-4}),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_match_pytorch_epoch_by_epoch(name):
    torch = pytest.importorskip("torch")
    cls, options = SCHEDULES[name]
    optimizer = optim.SGD(parameters(), lr=0.1)
    schedule = cls(optimizer, **options)
    reference_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    reference = getattr(torch.optim.lr_scheduler, name)(reference_optimizer, **options)
    for _ in range(20):
        np.testing.assert_allclose(schedule.get_last_lr(), reference.get_last_lr(), rtol=1e-12)
        assert optimizer.param_groups[0]["lr"] == schedule.get_last_lr()[0]
        reference_optimizer.step()
        schedule.step()
        reference.step()


def test_step_lr_decays_by_gamma_every_step_size_epochs():
    optimizer = optim.SGD(parameters(), lr=1.0)
    schedule = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        schedule.step()
    np.testing.assert_allclose(rates, [1, 1, 0.1, 0.1, 0.01, 0.01])


def test_cosine_reaches_eta_min_at_t_max():
    optimizer = optim.SGD(parameters(), lr=0.2)
    schedule = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5, eta_min=0.01)
    for _ in range(5):
        schedule.step()
    assert schedule.get_last_lr() == pytest.approx([0.01])


def test_scheduler_state_resumes():
    optimizer = optim.SGD(parameters(), lr=0.2)
    schedule = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(4):
        schedule.step()
    fresh_optimizer = optim.SGD(parameters(), lr=0.2)
    fresh = lr_scheduler.CosineAnnealingLR(fresh_optimizer, T_max=10)
    fresh.load_state_dict(schedule.state_dict())
    fresh_optimizer.load_state_dict(optimizer.state_dict())
    schedule.step()
    fresh.step()
    assert fresh.get_last_lr() == schedule.get_last_lr()
