"""Parameter: the Tensor type that marks a module's learnable weights."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad and is registered by the Module it is assigned to.

    ``param.data`` is its values as a tensor outside the graph (``p.data -= lr * p.grad``
    updates it in place, as in PyTorch); ``param.numpy()`` is the ndarray itself.
    """

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
