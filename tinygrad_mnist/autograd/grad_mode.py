"""Grad mode: whether ops record a graph right now (PyTorch's ``no_grad``, ``enable_grad``, ``set_grad_enabled``).

One module-level flag, read by ``Function.apply`` on every op. The engine turns it off
for an ordinary backward pass (so backward records nothing and costs nothing extra) and
leaves it on with ``create_graph=True`` (so the backward pass is itself a graph).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

enabled = True  #: read as ``grad_mode.enabled``; change it only through the classes below
inference = False  #: whether inside ``inference_mode()``


def is_grad_enabled() -> bool:
    """Whether ops are being recorded right now (False inside ``no_grad``)."""
    return enabled


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Turn recording on or off: at once when called, and back to what it was when used as a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        global enabled
        self._previous, enabled = enabled, bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self._previous


class _GradMode:
    """A context manager and decorator that sets grad mode to ``mode`` inside and restores it after."""

    mode = True

    def __enter__(self) -> None:
        global enabled
        self._previous, enabled = enabled, self.mode

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self._previous

    def _fresh(self) -> _GradMode:
        """A new context like this one, for each call of a decorated function."""
        return type(self)()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside record no graph (evaluation, parameter updates)."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside record a graph, even within ``no_grad``."""

    mode = True


def is_inference_mode_enabled() -> bool:
    """Whether code runs inside ``inference_mode()`` (with its default ``mode=True``)."""
    return inference


class inference_mode(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ``no_grad`` for pure evaluation; ``mode=False`` leaves grad mode alone."""

    def __init__(self, mode: bool = True) -> None:
        self.inference_mode = bool(mode)

    def _fresh(self) -> inference_mode:
        return inference_mode(self.inference_mode)

    def __enter__(self) -> None:
        global enabled, inference
        self._previous, self._previous_inference = enabled, inference
        enabled, inference = enabled and not self.inference_mode, self.inference_mode

    def __exit__(self, *exc: object) -> None:
        global enabled, inference
        enabled, inference = self._previous, self._previous_inference
