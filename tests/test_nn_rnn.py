"""RNN/LSTM/GRU layers and cells cross-checked against PyTorch in float64: outputs, final states, gradients."""

import itertools

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn

torch = pytest.importorskip("torch")

KINDS = [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


def pair(kind: str, **kwargs):
    """A PyTorch module and ours with the same float64 weights, copied through the state dict."""
    theirs = getattr(torch.nn, kind)(**kwargs).double()
    ours = getattr(nn, kind)(**kwargs, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def run_both(theirs, ours, x, hx, rng):
    """Forward both at x, hx; backward at random cotangents; return (our values, their values) lists."""
    tx = torch.tensor(x, requires_grad=True)
    thx = [torch.tensor(h, requires_grad=True) for h in hx]
    ox = Tensor(x, requires_grad=True)
    ohx = [Tensor(h, requires_grad=True) for h in hx]
    pack = (lambda s: tuple(s)) if len(hx) == 2 else (lambda s: s[0])
    t_out, t_state = theirs(tx, pack(thx)) if hx else theirs(tx)
    o_out, o_state = ours(ox, pack(ohx)) if hx else ours(ox)
    t_all, o_all = [t_out, *flat(t_state)], [o_out, *flat(o_state)]
    cotangents = [rng.standard_normal(tuple(t.shape)) for t in t_all]
    sum((t * torch.tensor(g)).sum() for t, g in zip(t_all, cotangents, strict=True)).backward()
    sum((o * Tensor(g)).sum() for o, g in zip(o_all, cotangents, strict=True)).backward()
    mine = [o.numpy() for o in o_all] + [ox.grad.numpy()] + [h.grad.numpy() for h in ohx]
    mine += [p.grad.numpy() for p in ours.parameters()]
    yours = [t.detach().numpy() for t in t_all] + [tx.grad.numpy()] + [h.grad.numpy() for h in thx]
    yours += [p.grad.numpy() for p in theirs.parameters()]
    return mine, yours


@pytest.mark.parametrize(
    "kind,extra,batch_first,num_layers,bidirectional,batched",
    [(*k, *rest) for k in KINDS for rest in itertools.product([False, True], [1, 2], [False, True], [True, False])],
)
def test_layer_matches_pytorch(kind, extra, batch_first, num_layers, bidirectional, batched):
    rng = np.random.default_rng(0)
    kwargs = dict(
        input_size=3, hidden_size=4, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional
    )
    theirs, ours = pair(kind, **kwargs, **extra)
    shape = ((2, 5, 3) if batch_first else (5, 2, 3)) if batched else (5, 3)
    hidden = (num_layers * (2 if bidirectional else 1), *((2,) if batched else ()), 4)
    hx = [rng.standard_normal(hidden) for _ in range(2 if kind == "LSTM" else 1)]
    mine, yours = run_both(theirs, ours, rng.standard_normal(shape), hx, rng)
    for a, b in zip(mine, yours, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind,extra", KINDS)
def test_layer_without_hx_starts_from_zeros(kind, extra):
    theirs, ours = pair(kind, input_size=3, hidden_size=4, **extra)
    mine, yours = run_both(
        theirs, ours, np.random.default_rng(1).standard_normal((4, 2, 3)), [], np.random.default_rng(2)
    )
    for a, b in zip(mine, yours, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "cell,extra",
    [("RNNCell", {"nonlinearity": "tanh"}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})],
)
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_pytorch(cell, extra, batched):
    rng = np.random.default_rng(3)
    theirs, ours = pair(cell, input_size=3, hidden_size=4, **extra)
    hx = [rng.standard_normal((2, 4) if batched else (4,)) for _ in range(2 if cell == "LSTMCell" else 1)]
    x = rng.standard_normal((2, 3) if batched else (3,))
    tx, ox = torch.tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    thx = [torch.tensor(h, requires_grad=True) for h in hx]
    ohx = [Tensor(h, requires_grad=True) for h in hx]
    t_new = flat(theirs(tx, tuple(thx) if len(hx) == 2 else thx[0]))
    o_new = flat(ours(ox, tuple(ohx) if len(hx) == 2 else ohx[0]))
    cot = [rng.standard_normal(tuple(t.shape)) for t in t_new]
    sum((t * torch.tensor(g)).sum() for t, g in zip(t_new, cot, strict=True)).backward()
    sum((o * Tensor(g)).sum() for o, g in zip(o_new, cot, strict=True)).backward()
    pairs = [(o.numpy(), t.detach().numpy()) for o, t in zip(o_new, t_new, strict=True)] + [
        (ox.grad.numpy(), tx.grad.numpy())
    ]
    pairs += [(o.grad.numpy(), t.grad.numpy()) for o, t in zip(ohx, thx, strict=True)]
    pairs += [(o.grad.numpy(), t.grad.numpy()) for o, t in zip(ours.parameters(), theirs.parameters(), strict=True)]
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_state_dict_keys_and_default_init_bounds(kind):
    layer = kind in ("RNN", "LSTM", "GRU")
    kwargs = dict(input_size=9, hidden_size=4, **({"num_layers": 2, "bidirectional": True} if layer else {}))
    ours, theirs = getattr(nn, kind)(**kwargs), getattr(torch.nn, kind)(**kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(ours.state_dict()[k].shape == tuple(v.shape) for k, v in theirs.state_dict().items())
    values = np.concatenate([p.numpy().ravel() for p in ours.parameters()])
    assert values.dtype == np.float32 and np.abs(values).max() <= 0.5 and np.abs(values).max() > 0.45


def test_dropout_between_layers_only_and_only_in_training():
    rng = np.random.default_rng(4)
    theirs, ours = pair("LSTM", input_size=3, hidden_size=4, num_layers=2, dropout=1.0)
    x = rng.standard_normal((5, 2, 3))
    out_t, (h_t, c_t) = theirs(torch.tensor(x))  # dropout 1.0 is deterministic: the second layer sees zeros
    out_o, (h_o, c_o) = ours(Tensor(x))
    for a, b in [(out_o, out_t), (h_o, h_t), (c_o, c_t)]:
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    theirs.eval(), ours.eval()
    np.testing.assert_allclose(ours(Tensor(x))[0].numpy(), theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-10)


def test_second_order_gradients_of_an_lstm_cell():
    from tinygrad_mnist.autograd import gradgradcheck

    cell = nn.LSTMCell(2, 2, dtype=np.float64)
    rng = np.random.default_rng(5)

    def h_and_c(x, h, c):
        new_h, new_c = cell(x, (h, c))
        return new_h * 2 + new_c

    assert gradgradcheck(h_and_c, rng.standard_normal((2, 2)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2)))


def test_clear_errors():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="input_size: got 5 expected 3"):
        lstm(Tensor(np.zeros((2, 1, 5), np.float32)))
    with pytest.raises(ValueError, match="h_0 of shape"):
        lstm(Tensor(np.zeros((2, 1, 3), np.float32)), (Tensor(np.zeros((1, 2, 4), np.float32)),) * 2)
    with pytest.raises(ValueError, match="3-D"):
        lstm(Tensor(np.zeros((2, 1, 1, 3), np.float32)))
    with pytest.raises(ValueError, match="h_0 of shape"):
        nn.GRUCell(3, 4)(Tensor(np.zeros((2, 3), np.float32)), Tensor(np.zeros((3, 4), np.float32)))
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
