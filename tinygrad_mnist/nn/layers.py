"""The layers of a multilayer perceptron: Linear, activations, Dropout, Flatten."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional, init
from .module import Module
from .parameter import Parameter
from .registry import register_module


@register_module
class Linear(Module):
    """``y = x @ weight.T + bias``, PyTorch's layout: weight (out_features, in_features), x (m, in_features).

    Default initialisation is PyTorch's: ``kaiming_uniform_(a=sqrt(5))`` for the weight,
    i.e. U(-1/sqrt(in_features), 1/sqrt(in_features)), and the same bound for the bias.
    Parameters are float32 unless ``dtype`` says otherwise.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: init.GeneratorLike = None) -> None:
        """Draw fresh weights with the default initialisation."""
        init.default_(self.weight, self.bias, generator)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self.label()}: input has shape {x.shape}, expected (batch, {self.in_features})")
        return functional.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def label(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None}


@register_module
class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


@register_module
class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


@register_module
class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


@register_module
class Softmax(Module):
    """Probabilities along ``dim``. Put it after training, not before ``CrossEntropyLoss``, which wants logits."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}


@register_module
class Dropout(Module):
    """Zero each element with probability ``p`` in training mode, scaling the rest by 1/(1-p); identity in eval.

    Each Dropout owns ``generator`` (spawned from the default generator unless given),
    whose state a checkpoint saves, so a resumed run draws the same masks.
    """

    def __init__(self, p: float = 0.5, generator: init.GeneratorLike = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = float(p)
        self.generator = init.as_generator().spawn(1)[0] if generator is None else init.as_generator(generator)

    def forward(self, x: Tensor) -> Tensor:
        return functional.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"

    def label(self) -> str:
        return f"Dropout(p={self.p})"

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}


@register_module
class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one: (m, 1, 28, 28) -> (m, 784)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return functional.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def get_config(self) -> dict[str, Any]:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}
