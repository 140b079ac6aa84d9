"""Recurrent layers with PyTorch's names, parameter layouts and shapes: RNN, LSTM, GRU and their cells.

Everything is composed of Tensor ops (``linear``, ``@``, ``sigmoid``, ``tanh``, ``chunk``, ``stack``, ``cat``),
so gradients of any order come free. A layer projects the whole input sequence with one ``linear`` before
stepping through time; each step then only multiplies the hidden state by ``weight_hh``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..tensor import Tensor, cat, stack
from . import functional, init
from .module import Module
from .parameter import Parameter
from .registry import register_module

#: How many gate blocks each kind stacks in ``weight_ih`` / ``weight_hh`` (PyTorch's order i,f,g,o and r,z,n).
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

State = Tensor | tuple[Tensor, Tensor]


def _step(mode: str, projected_input: Tensor, state: State, weight_hh: Tensor, bias_hh: Tensor | None) -> State:
    """One time step from the input's projection ``x @ weight_ih.T + bias_ih`` (batch, gates * hidden)."""
    h = state[0] if mode == "LSTM" else state
    projected_hidden = functional.linear(h, weight_hh, bias_hh)
    if mode == "RNN_TANH":
        return (projected_input + projected_hidden).tanh()
    if mode == "RNN_RELU":
        return (projected_input + projected_hidden).relu()
    if mode == "LSTM":
        i, f, g, o = (projected_input + projected_hidden).chunk(4, 1)
        c = f.sigmoid() * state[1] + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
    r_input, z_input, n_input = projected_input.chunk(3, 1)
    r_hidden, z_hidden, n_hidden = projected_hidden.chunk(3, 1)
    r = (r_input + r_hidden).sigmoid()
    z = (z_input + z_hidden).sigmoid()
    n = (n_input + r * n_hidden).tanh()
    return (1 - z) * n + z * h


def _mode(name: str, nonlinearity: str) -> str:
    if name != "RNN":
        return name
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'")
    return f"RNN_{nonlinearity.upper()}"


def _check_sizes(name: str, input_size: int, hidden_size: int) -> None:
    if not (isinstance(input_size, int) and isinstance(hidden_size, int) and input_size > 0 and hidden_size > 0):
        raise ValueError(f"{name}: input_size and hidden_size must be positive ints, got {input_size}, {hidden_size}")


def _check_input(name: str, x: Tensor, input_size: int, batched_ndim: int) -> bool:
    """Refuse a wrong rank or feature size; True when ``x`` is batched."""
    if x.ndim not in (batched_ndim - 1, batched_ndim):
        raise ValueError(
            f"{name}: expected input to be {batched_ndim - 1}-D or {batched_ndim}-D, got {x.ndim}-D of shape {x.shape}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(f"{name}: input has inconsistent input_size: got {x.shape[-1]} expected {input_size}")
    return x.ndim == batched_ndim


def _check_hidden(name: str, what: str, hidden: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(hidden.shape) != expected:
        raise ValueError(f"{name}: expected {what} of shape {expected}, got {tuple(hidden.shape)}")


def _initial(name: str, mode: str, hx: Any, expected: tuple[int, ...], like: Tensor) -> list[Tensor]:
    """The given initial states (h, or h and c for an LSTM), checked against ``expected``, or zeros."""
    names = ("h_0", "c_0") if mode == "LSTM" else ("h_0",)
    if hx is None:
        return [Tensor(np.zeros(expected, dtype=like.numpy().dtype)) for _ in names]
    given = list(hx) if mode == "LSTM" else [hx]
    if mode == "LSTM" and (not isinstance(hx, tuple | list) or len(given) != 2):
        raise ValueError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
    for what, state in zip(names, given, strict=True):
        _check_hidden(name, what, state, expected)
    return given


class RNNCellBase(Module):
    """The parameters every cell shares: ``weight_ih`` (gates * hidden, input), ``weight_hh``, ``bias_ih``, ``bias_hh``.

    Default initialisation is PyTorch's: every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        bias: bool,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        rows = GATES[mode] * hidden_size
        self.weight_ih = Parameter(np.empty((rows, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((rows, hidden_size), dtype=dtype))
        self.bias_ih = Parameter(np.empty(rows, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(np.empty(rows, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: init.GeneratorLike = None) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in registration order."""
        generator = init.as_generator(generator)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound, generator)

    def forward(self, input: Tensor, hx: State | None = None) -> State:
        """One step: ``input`` (batch, input_size) or unbatched (input_size,); ``hx`` defaults to zeros."""
        name = type(self).__name__
        batched = _check_input(name, input, self.input_size, 2)
        x = input if batched else input.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        states = _initial(name, self.mode, hx, expected, input)
        states = [s if batched else s.unsqueeze(0) for s in states]
        projected = functional.linear(x, self.weight_ih, self.bias_ih)
        new = _step(
            self.mode, projected, tuple(states) if self.mode == "LSTM" else states[0], self.weight_hh, self.bias_hh
        )
        new = list(new) if self.mode == "LSTM" else [new]
        new = [s if batched else s.squeeze(0) for s in new]
        return tuple(new) if self.mode == "LSTM" else new[0]

    def extra_repr(self) -> str:
        nonlinearity = f", nonlinearity={self.mode[4:].lower()!r}" if self.mode == "RNN_RELU" else ""
        bias = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}{nonlinearity}"

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias}


@register_module
class RNNCell(RNNCellBase):
    """``h' = tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)`` (or relu), PyTorch's ``nn.RNNCell``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__(_mode("RNN", nonlinearity), input_size, hidden_size, bias, dtype, generator)
        self.nonlinearity = nonlinearity

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


@register_module
class LSTMCell(RNNCellBase):
    """PyTorch's ``nn.LSTMCell``: gates i, f, g, o stacked in that order; returns ``(h', c')``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, dtype, generator)


@register_module
class GRUCell(RNNCellBase):
    """PyTorch's ``nn.GRUCell``: gates r, z, n, with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, dtype, generator)


class RNNBase(Module):
    """A stack of ``num_layers`` recurrent layers, each one- or two-directional, PyTorch's parameter names.

    Layer ``k`` (suffix ``_reverse`` for the backward direction) holds ``weight_ih_l{k}`` (gates * hidden,
    input_size for k = 0, else num_directions * hidden), ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
    registered in PyTorch's order, so ``state_dict`` keys match PyTorch's. Dropout (training only) falls on
    the outputs of every layer but the last, with the module's own ``generator`` as ``nn.Dropout``'s.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        _check_sizes(name, input_size, hidden_size)
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers}")
        if isinstance(dropout, bool) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size={proj_size} is not supported here; use proj_size=0")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout={dropout} acts between layers, so with num_layers=1 it does nothing", stacklevel=2
            )
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = proj_size
        self.generator = init.as_generator().spawn(1)[0] if generator is None else init.as_generator(generator)
        rows = GATES[mode] * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes():
                self._register(f"weight_ih_l{layer}{suffix}", (rows, layer_input), dtype)
                self._register(f"weight_hh_l{layer}{suffix}", (rows, hidden_size), dtype)
                if bias:
                    self._register(f"bias_ih_l{layer}{suffix}", (rows,), dtype)
                    self._register(f"bias_hh_l{layer}{suffix}", (rows,), dtype)
        self.reset_parameters(generator)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def _register(self, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        setattr(self, name, Parameter(np.empty(shape, dtype=dtype)))

    def reset_parameters(self, generator: init.GeneratorLike = None) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in registration order."""
        generator = init.as_generator(generator)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound, generator)

    def _direction(
        self, sequence: Tensor, states: State, layer: int, suffix: str, reverse: bool
    ) -> tuple[Tensor, State]:
        """Run one direction of one layer over ``sequence`` (time, batch, features): its outputs in time order
        and its last state."""
        steps, batch = sequence.shape[0], sequence.shape[1]
        weight_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
        bias_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
        weight_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
        bias_hh = getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None
        projected = functional.linear(sequence.reshape(steps * batch, -1), weight_ih, bias_ih)
        projected = projected.reshape(steps, batch, -1).unbind(0)
        outputs: list[Tensor] = [None] * steps  # type: ignore[list-item]
        for t in reversed(range(steps)) if reverse else range(steps):
            states = _step(self.mode, projected[t], states, weight_hh, bias_hh)
            outputs[t] = states[0] if self.mode == "LSTM" else states
        return stack(outputs), states

    def forward(self, input: Tensor, hx: State | None = None) -> tuple[Tensor, State]:
        """``input`` (seq, batch, input_size), (batch, seq, input_size) with ``batch_first``, or unbatched
        (seq, input_size); ``hx`` of shape (num_layers * num_directions, batch, hidden_size), unbatched without
        the batch dim, zeros by default. Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for LSTM); output has
        the input's layout with num_directions * hidden_size features, ``h_n`` is never batch first."""
        name = type(self).__name__
        batched = _check_input(name, input, self.input_size, 3)
        sequence = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            sequence = sequence.transpose(0, 1)
        count = self.num_layers * self.num_directions
        expected = (count, sequence.shape[1], self.hidden_size) if batched else (count, self.hidden_size)
        initial = [s if batched else s.unsqueeze(1) for s in _initial(name, self.mode, hx, expected, input)]
        finals: list[list[Tensor]] = [[] for _ in initial]
        for layer in range(self.num_layers):
            if layer > 0:
                sequence = functional.dropout(sequence, self.dropout, self.training, self.generator)
            outputs = []
            for direction, suffix in enumerate(self._suffixes()):
                index = layer * self.num_directions + direction
                start = tuple(s[index] for s in initial) if self.mode == "LSTM" else initial[0][index]
                output, last = self._direction(sequence, start, layer, suffix, reverse=direction == 1)
                outputs.append(output)
                for kept, state in zip(finals, last if self.mode == "LSTM" else (last,), strict=True):
                    kept.append(state)
            sequence = cat(outputs, 2) if len(outputs) > 1 else outputs[0]
        if batched and self.batch_first:
            sequence = sequence.transpose(0, 1)
        states = [stack(kept) if batched else stack(kept).squeeze(1) for kept in finals]
        output = sequence if batched else sequence.squeeze(1)
        return output, (tuple(states) if self.mode == "LSTM" else states[0])

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False}
        return text + "".join(f", {k}={getattr(self, k)}" for k, v in defaults.items() if getattr(self, k) != v)

    def get_config(self) -> dict[str, Any]:
        keys = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional")
        return {k: getattr(self, k) for k in keys}


@register_module
class RNN(RNNBase):
    """PyTorch's ``nn.RNN``: ``h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)`` (or relu) per layer."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        mode = _mode("RNN", nonlinearity)
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, dtype, generator
        )
        self.nonlinearity = nonlinearity

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


@register_module
class LSTM(RNNBase):
    """PyTorch's ``nn.LSTM`` (gates i, f, g, o); returns ``(output, (h_n, c_n))``. ``proj_size`` must be 0."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            dtype,
            generator,
        )


@register_module
class GRU(RNNBase):
    """PyTorch's ``nn.GRU`` (gates r, z, n, the reset gate inside the hidden projection)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, dtype, generator
        )
