"""How a tensor prints: PyTorch's layout, ``tensor([1.0000, 2.5000], requires_grad=True)``.

Floats share one format chosen from the values, as PyTorch chooses it: whole numbers print as
``1.``, values of one magnitude with four decimals, and values spanning more than three orders
of magnitude (or below 1e-4, or above 1e8) in scientific notation; every value takes the width
of the widest. Past 1,000 elements only the first and last three along each dim are shown.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Tensors with more elements than this print summarised, as PyTorch's default ``threshold``.
THRESHOLD = 1000
EDGE_ITEMS = 3


def format_array(array: np.ndarray, prefix: str) -> str:
    """The values of ``array`` as PyTorch prints them after ``prefix`` (``"tensor("``): nested brackets."""
    if array.size == 0:
        return "[]"
    return np.array2string(
        array,
        separator=", ",
        prefix=prefix,
        threshold=THRESHOLD,
        edgeitems=EDGE_ITEMS,
        max_line_width=80,
        formatter={"all": _formatter(array)},
    )


def _formatter(array: np.ndarray) -> Callable[[object], str]:
    """One function that formats every element of ``array`` alike, padded to the widest."""
    shown = _shown_values(array)
    if array.dtype.kind in "biu":
        fmt: Callable[[object], str] = str
    else:
        fmt = _float_format(shown)
        shown = shown[np.isfinite(shown)]  # as PyTorch: nan and inf do not widen the others
    width = max((len(fmt(v)) for v in shown), default=0)
    return lambda v: fmt(v).rjust(width)


def _shown_values(array: np.ndarray) -> np.ndarray:
    """The elements that will be printed: all of them, or the summarised corners of a large tensor."""
    flat = array.reshape(-1)
    if flat.size <= THRESHOLD:
        return flat
    return np.concatenate([flat[: THRESHOLD // 2], flat[-THRESHOLD // 2 :]])


def _float_format(values: np.ndarray) -> Callable[[object], str]:
    finite = values[np.isfinite(values)].astype(np.float64)
    magnitudes = np.abs(finite[finite != 0])
    if magnitudes.size == 0 or np.all(magnitudes == np.ceil(magnitudes)):
        number = "{:.4e}" if magnitudes.size and magnitudes.max() > 1e8 else "{:.0f}."
    elif magnitudes.max() / magnitudes.min() > 1000 or magnitudes.max() > 1e8 or magnitudes.min() < 1e-4:
        number = "{:.4e}"
    else:
        number = "{:.4f}"

    def fmt(value: object) -> str:
        value = float(value)  # type: ignore[arg-type]
        if not np.isfinite(value):
            return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
        return number.format(value)

    return fmt
