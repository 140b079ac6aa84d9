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
ELEMENTWISE: tuple[str, ...] = (
    "exp", "log", "relu", "sigmoid", "tanh",
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow", "reciprocal", "neg",
    "abs", "sign", "sqrt", "rsqrt", "square", "expm1", "log1p", "log2", "log10", "sin", "cos", "tan",
    "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "lerp",
    "floor", "ceil", "round", "trunc", "frac", "isnan", "isinf", "isfinite", "nan_to_num",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isclose", "allclose", "equal",
)  # fmt: skip
#: Reductions, softmax and the matmul family.
REDUCTIONS: tuple[str, ...] = (
    "sum", "mean", "prod", "var", "std", "norm", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp",
    "cumsum", "cumprod", "all", "any", "sort", "argsort", "topk", "softmax", "log_softmax",
    "matmul", "mm", "bmm", "dot", "mv", "outer",
)  # fmt: skip
#: Shapes and movement.
SHAPES: tuple[str, ...] = (
    "reshape", "flatten", "clone", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "swapdims",
    "t", "movedim", "narrow", "split", "chunk", "unbind", "flip", "roll", "tile", "tril", "triu", "numel",
)
#: Indexing.
INDEXING: tuple[str, ...] = (
    "index_select", "gather", "scatter", "scatter_add", "index_add", "index_copy", "index_fill", "masked_fill",
    "masked_select", "take_along_dim", "nonzero", "argwhere",
)  # fmt: skip


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
