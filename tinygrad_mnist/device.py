"""Devices, PyTorch's way: everything runs on the CPU, and asking for CUDA or MPS says so once, clearly.

``device("cpu")``, ``Tensor.device``, ``cuda.is_available()`` (False) and ``backends.mps.is_available()``
(False) let the usual ``device = "cuda" if torch.cuda.is_available() else "cpu"`` lines run unchanged.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor lives: ``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)``; only the CPU exists."""

    __slots__ = ("index", "type")

    def __init__(self, type: str | device, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu', got {type.__class__.__name__}")
        name, _, number = type.partition(":")
        if name != "cpu":
            raise unavailable(type)
        self.type, self.index = name, int(number) if number else index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


def unavailable(name: str) -> RuntimeError:
    """The one error for asking for a device other than the CPU."""
    return RuntimeError(
        f"device {name!r}: tinygrad_mnist runs on the CPU only (NumPy), there is no CUDA or MPS; "
        "use 'cpu', or pick it with: device = 'cuda' if torch.cuda.is_available() else 'cpu'"
    )


#: The one device; what ``Tensor.device`` returns.
CPU = device("cpu")


def check_device(where: Any) -> None:
    """Accept ``None``, ``"cpu"``/``"cpu:0"`` or a ``device``; anything else raises ``device``'s error."""
    if where is not None:
        device(where if isinstance(where, str | device) else str(where))


#: ``torch.cuda``: no GPU here. ``manual_seed`` and ``manual_seed_all`` do nothing, as in PyTorch without CUDA.
cuda = SimpleNamespace(
    is_available=lambda: False,
    device_count=lambda: 0,
    manual_seed=lambda seed: None,
    manual_seed_all=lambda seed: None,
)
#: ``torch.backends``: ``mps.is_available()`` is False; ``cudnn`` takes the flags scripts set, and ignores them.
backends = SimpleNamespace(
    mps=SimpleNamespace(is_available=lambda: False, is_built=lambda: False),
    cudnn=SimpleNamespace(deterministic=False, benchmark=False, enabled=True),
)
