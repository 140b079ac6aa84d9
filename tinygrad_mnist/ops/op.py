"""The contract every differentiable operation follows.

An ``Op`` is one node of the recorded graph. ``forward`` maps input arrays to one
output array and keeps in ``self.saved`` what ``backward`` will need; ``backward``
maps the gradient of the output to one gradient per input (``None`` where an input
needs none). Ops never see a ``Tensor``: the engine in ``tensor.py`` records them,
reduces each returned gradient to its input's shape, and frees ``saved`` after use.
An op may overwrite the gradient it is given only when the engine says no one else
holds it (``may_overwrite_grad``), which needs the ops upstream to promise that they
return new arrays (``returns_new_arrays``); both default to False.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np


class Op:
    """Base class of all recorded operations (one instance per use in a graph).

    The attributes below start as class-level defaults, so creating an op costs no
    work: the engine and ``save`` set them on the instance when the op is recorded.
    """

    #: Set by the engine before ``forward``: which inputs need a gradient.
    needs_input_grad: tuple[bool, ...] = ()
    #: Arrays kept for ``backward``; ``None`` once released.
    saved: tuple[Any, ...] | None = ()
    #: Graph edges, one per input: the Op that made it, or the leaf Tensor itself.
    parents: tuple[Any, ...] = ()
    out_shape: tuple[int, ...] = ()
    out_dtype: np.dtype = np.dtype(np.float32)
    #: Set by the engine: (position, version counter, version) of each input or output whose array
    #: ``saved`` holds, checked before ``backward`` so an in-place change is an error, not a wrong gradient.
    saved_versions: tuple[tuple[int, list[int], int], ...] = ()
    #: A weak reference to the output tensor once it called ``retain_grad()``.
    retained: weakref.ref | None = None
    #: A promise by the op's class: every array ``backward`` returns is either ``grad`` itself
    #: or new: made by this call, sharing memory with nothing else (not a view of ``grad``, of
    #: a saved array or of another returned array). The engine then knows who holds what.
    returns_new_arrays: bool = False
    #: Set by the engine before ``backward``: True when no one else holds ``grad``, so
    #: ``backward`` may overwrite it and return it instead of making a new array.
    may_overwrite_grad: bool = False

    @property
    def name(self) -> str:
        """The op's name as shown in reprs, errors and graph pictures."""
        return type(self).__name__

    def save(self, *arrays: Any) -> None:
        """Keep what backward needs; skipped by ops when no input needs a gradient."""
        self.saved = arrays

    def forward(self, *inputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    def release(self) -> None:
        """Drop the saved arrays; the graph's structure stays for drawing."""
        self.saved = None

    @property
    def released(self) -> bool:
        return self.saved is None

    def __repr__(self) -> str:
        return f"<{self.name} -> {self.out_shape} {self.out_dtype}>"
