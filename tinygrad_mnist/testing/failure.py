"""Pictures of a failed gradient check: each value of the graph coloured by the gap between its
analytic gradient (backward) and its numeric one (central differences), so the wrong op stands out.

The value whose gradient is right while an operand's is wrong is the output of the op whose
backward is wrong: its node is white, its operands' are red.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..autograd import grad
from ..tensor import Tensor

#: Where failure pictures go: ``$TINYGRAD_MNIST_FAILURES``, else a folder in the temporary directory.
FAILURES = Path(os.environ.get("TINYGRAD_MNIST_FAILURES", Path(tempfile.gettempdir()) / "tinygrad_mnist_failures"))


def gradient_gaps(
    inputs: Sequence[np.ndarray], steps: Sequence[Callable[[list[Tensor]], Tensor]], seed: int = 0, eps: float = 1e-6
) -> list[float]:
    """For each value of a graph (its ``inputs``, then one per step, each step computing a value from
    all earlier ones; the last is the output), the largest gap between d<out, c>/d(value) by backward
    and by central differences, relative to the numeric gradient's size (``c`` a random cotangent)."""

    def replay(position: int = -1, value: np.ndarray | None = None) -> list[Tensor]:
        """Every value, with the one at ``position`` replaced by the constant ``value``."""
        values = [Tensor(x, requires_grad=True) for x in inputs]
        if 0 <= position < len(inputs):
            values[position] = Tensor(value, requires_grad=True)
        for index, step in enumerate(steps, start=len(inputs)):
            values.append(Tensor(value, requires_grad=True) if index == position else step(values))
        return values

    tensors = replay()
    out = tensors[-1]
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)
    analytic = grad(out, tensors, Tensor(cotangent), allow_unused=True)
    gaps = []
    for k, tensor in enumerate(tensors):
        value = tensor.numpy().copy()
        numeric = np.zeros(value.shape)
        for j in range(value.size):
            shifted = []
            for sign in (1, -1):
                moved = value.copy()
                moved.reshape(-1)[j] += sign * eps
                shifted.append(float((replay(k, moved)[-1].numpy() * cotangent).sum()))
            numeric.reshape(-1)[j] = (shifted[0] - shifted[1]) / (2 * eps)
        found = np.zeros(value.shape) if analytic[k] is None else analytic[k].numpy()
        scale = max(1.0, float(np.abs(numeric).max(initial=0.0)))
        gaps.append(float(np.abs(found - numeric).max(initial=0.0)) / scale)
    return gaps


def gap_picture(labels: list[str], edges: list[tuple[int, int]], gaps: list[float], name: str) -> Path:
    """Write the graph (one box per value, ``edges`` from operand to result) as SVG, or DOT where
    Graphviz's ``dot`` is missing, each box coloured by its gap; returns the file's path."""
    lines = ["digraph failure {", "  rankdir=LR; node [shape=box, style=filled, fontname=Helvetica];"]
    for k, (label, gap) in enumerate(zip(labels, gaps, strict=True)):
        text = f"{label}\\ngradient gap {gap:.2g}".replace('"', "'")
        lines.append(f'  v{k} [label="{text}", fillcolor="{_colour(gap)}"];')
    lines += [f"  v{a} -> v{b};" for a, b in edges]
    lines.append("}")
    source = "\n".join(lines)
    FAILURES.mkdir(parents=True, exist_ok=True)
    if shutil.which("dot"):
        path = FAILURES / f"{name}.svg"
        svg = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=True).stdout
        path.write_text(svg)
    else:
        path = FAILURES / f"{name}.dot"
        path.write_text(source)
    return path


def _colour(gap: float) -> str:
    """White for no gap, through orange, to red at a gap of 1e-2 or more (log scale from 1e-8)."""
    position = 0.0 if gap <= 1e-8 else min(1.0, (np.log10(gap) + 8) / 6)
    green_blue = int(255 * (1 - position))
    return f"#ff{green_blue:02x}{green_blue:02x}" if position else "#ffffff"
