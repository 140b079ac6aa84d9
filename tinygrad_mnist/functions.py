"""The ``torch.*`` functions that are Tensor methods called on their first argument: ``torch.exp(x)`` is ``x.exp()``.

Each area lists its names in one tuple; ``METHOD_FUNCTIONS`` makes one function per name,
which the package exports at its top level. Functions that are not methods of their first
argument (``cat``, ``zeros``, ``where``) are defined with their ops instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor

#: Elementwise math, comparisons and logic.
ELEMENTWISE: tuple[str, ...] = ("exp", "log", "relu", "sigmoid", "tanh")
#: Reductions, softmax and the matmul family.
REDUCTIONS: tuple[str, ...] = ("sum", "mean", "matmul")
#: Shapes and movement.
SHAPES: tuple[str, ...] = (
    "reshape", "flatten", "clone", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "swapdims",
    "t", "movedim", "narrow", "split", "chunk", "unbind", "flip", "roll", "tile", "tril", "triu", "numel",
)
#: Indexing.
INDEXING: tuple[str, ...] = ()


def _method_as_function(name: str) -> Callable[..., Any]:
    def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``input.{name}(*args, **kwargs)``: see ``Tensor.{name}``."
    return function


#: One top-level function per Tensor method named above.
METHOD_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: _method_as_function(name) for name in ELEMENTWISE + REDUCTIONS + SHAPES + INDEXING
}
