"""Pictures of a training run and of its mistakes, written as PNG files; nothing opens a window.

The notebook's two figures (cost per iteration on a log axis with a smoothed curve,
train vs dev accuracy in percent), a grid of digits with their labels and predictions
(the notebook's ``plot_digit``, for many), the confusion matrix shaded by its mistakes,
and the digits the model got wrong most confidently. Figures
are plain ``matplotlib.figure.Figure`` objects (no pyplot, so no global state and
no GUI backend) saved atomically. Each function writes its PNG and returns the
figure, so a test or a notebook can look inside. Inputs are plain lists and arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter
from numpy.typing import ArrayLike

from .files import atomic_write

RIGHT, WRONG = "black", "tab:red"


def plot_cost(
    costs: ArrayLike,
    path: str | Path,
    *,
    steps: ArrayLike | None = None,
    dev_costs: ArrayLike | None = None,
    title: str = "Cost per iteration",
    xlabel: str = "iteration",
    smooth: int | None = None,
) -> Figure:
    """Training cost (and dev cost, if given) against the iteration it was recorded at.

    The axis is logarithmic when every cost is positive: a falling cost keeps falling
    visibly long after a linear axis shows it flat. Mini-batch costs are noisy, so a
    trailing mean over ``smooth`` values (default: a 25th of them) is drawn over the
    faint raw curve.
    """
    costs = np.asarray(costs, dtype=np.float64)
    x = _steps(steps, len(costs))
    window = max(1, len(costs) // 25) if smooth is None else smooth
    figure = Figure(figsize=(5, 4), layout="constrained")
    axes = figure.subplots()
    axes.plot(x, costs, label="train", color="tab:blue", alpha=0.35 if window > 1 else 1.0, linewidth=0.8)
    if dev_costs is not None:
        axes.plot(x, _same_length(dev_costs, len(costs), "dev costs"), label="dev", color="tab:orange")
    if 1 < window <= len(costs):
        mean = np.convolve(costs, np.ones(window) / window, mode="valid")
        axes.plot(x[window - 1 :], mean, label=f"train, mean of {window}", color="tab:blue")
    if len(costs) and np.all(costs > 0):
        axes.set_yscale("log")
    axes.set(xlabel=xlabel, ylabel="cost", title=title)
    axes.legend()
    return _save(figure, path)


def plot_accuracy(
    train_accuracy: ArrayLike,
    dev_accuracy: ArrayLike,
    path: str | Path,
    *,
    steps: ArrayLike | None = None,
    title: str = "Train vs dev accuracy",
    xlabel: str = "iteration",
) -> Figure:
    """Train and dev accuracy against the iteration (or epoch: ``xlabel``) they were measured at:
    the gap shows overfitting. Accuracies are fractions, shown as percentages; ticks are whole steps."""
    train_accuracy = np.asarray(train_accuracy, dtype=np.float64)
    dev_accuracy = _same_length(dev_accuracy, len(train_accuracy), "dev accuracies")
    x = _steps(steps, len(train_accuracy))
    figure = Figure(figsize=(5, 4), layout="constrained")
    axes = figure.subplots()
    axes.plot(x, train_accuracy, label="train")
    axes.plot(x, dev_accuracy, label="dev")
    axes.set(xlabel=xlabel, ylabel="accuracy", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.legend()
    return _save(figure, path)


def plot_digits(
    images: ArrayLike,
    path: str | Path,
    *,
    labels: ArrayLike | None = None,
    predictions: ArrayLike | None = None,
    columns: int = 10,
    title: str | None = None,
) -> Figure:
    """A grid of digits titled with their labels and predictions; wrong predictions in red.

    ``images`` are flat ``(m, 784)`` or square ``(m, 28, 28)`` / ``(m, 1, 28, 28)``.
    """
    images = np.asarray(images)
    if labels is not None:
        labels = _same_length(labels, len(images), "labels")
    if predictions is not None:
        predictions = _same_length(predictions, len(images), "predictions")
    titles, colours = [], []
    for i in range(len(images)):
        parts = [] if labels is None else [f"label {labels[i]}"]
        parts += [] if predictions is None else [f"predicted {predictions[i]}"]
        titles.append("\n".join(parts))
        wrong = labels is not None and predictions is not None and labels[i] != predictions[i]
        colours.append(WRONG if wrong else RIGHT)
    return _save(_digit_grid(images, titles, colours, columns, title), path)


def plot_confusion_matrix(
    matrix: ArrayLike, path: str | Path, *, title: str = "Confusion matrix (rows: true, columns: predicted)"
) -> Figure:
    """A square matrix ``matrix[true, predicted]`` of counts (or rates), each cell annotated with its value.

    The mistakes are what a confusion matrix is for, so the shading is each row's share
    (the fraction of a true class predicted as each other class) with the diagonal left
    out of it, where it would outshine every confusion; the diagonal, each class's
    accuracy, is shown in a strip of its own on the right.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {matrix.shape}")
    classes = np.arange(len(matrix))
    rows = matrix.sum(axis=1, keepdims=True).astype(np.float64)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    mistakes = np.ma.masked_array(shares, mask=np.eye(len(matrix), dtype=bool))
    figure = Figure(figsize=(7, 5.5), layout="constrained")
    axes, strip = figure.subplots(1, 2, width_ratios=[len(matrix), 1.2])
    image = axes.imshow(mistakes, cmap="Reds", vmin=0, vmax=max(float(mistakes.max() or 0), 1e-9))
    figure.colorbar(image, ax=axes, label="share of the true class", format=PercentFormatter(1.0))
    axes.set(xticks=classes, yticks=classes, xlabel="predicted", ylabel="true", title=title)
    style = "d" if np.issubdtype(matrix.dtype, np.integer) else ".2f"  # counts, or rates if normalised
    threshold = float(mistakes.max() or 0) / 2
    for (true, predicted), count in np.ndenumerate(matrix):
        colour = "white" if true != predicted and shares[true, predicted] > threshold > 0 else "black"
        axes.text(predicted, true, format(count, style), ha="center", va="center", color=colour, fontsize=7)
    accuracy = np.diagonal(shares)[:, None]
    strip.imshow(accuracy, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    strip.set(xticks=[], yticks=classes, title="correct")
    for true, share in enumerate(accuracy[:, 0]):
        colour = "white" if share > 0.5 else "black"
        strip.text(0, true, f"{share:.0%}", ha="center", va="center", color=colour, fontsize=7)
    return _save(figure, path)


def most_confident_errors(labels: ArrayLike, probabilities: ArrayLike, count: int = 16) -> np.ndarray:
    """Indices of up to ``count`` misclassified rows, the most confident wrong prediction first.

    ``probabilities`` is ``(m, classes)``; the prediction is its argmax and the
    confidence its probability. Ties keep row order.
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"probabilities must be (m, classes) for {len(labels)} labels, got {probabilities.shape}")
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def plot_confident_errors(
    images: ArrayLike,
    labels: ArrayLike,
    probabilities: ArrayLike,
    path: str | Path,
    *,
    count: int = 16,
    columns: int = 8,
) -> Figure:
    """The ``count`` digits the model got wrong most confidently, each with its label, prediction and confidence."""
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    rows = most_confident_errors(labels, probabilities, count)
    predictions = probabilities[rows].argmax(axis=1)
    titles = [
        f"label {labels[i]}\npredicted {p} ({probabilities[i, p]:.2f})" for i, p in zip(rows, predictions, strict=True)
    ]
    title = "Most confident mistakes" if len(rows) else "No mistakes"
    return _save(_digit_grid(np.asarray(images)[rows], titles, [WRONG] * len(rows), columns, title), path)


def _steps(steps: ArrayLike | None, count: int) -> np.ndarray:
    """The x values: the given steps (one per value), else 0, 1, 2, ..."""
    return np.arange(count) if steps is None else _same_length(steps, count, "steps")


def _same_length(values: ArrayLike, count: int, name: str) -> np.ndarray:
    values = np.asarray(values)
    if len(values) != count:
        raise ValueError(f"{count} values but {len(values)} {name}")
    return values


def _digit_grid(
    images: np.ndarray, titles: Sequence[str], colours: Sequence[str], columns: int, title: str | None
) -> Figure:
    """One small grey panel per image, in rows of ``columns``."""
    images = np.asarray(images)
    side = math.isqrt(images[0].size) if len(images) else 0
    if len(images) and side * side != images[0].size:
        raise ValueError(f"images must be square, got {images[0].size} pixels each")
    columns = max(1, min(columns, len(images)))
    rows = max(1, math.ceil(len(images) / columns))
    figure = Figure(figsize=(1.3 * columns, 1.5 * rows + (0.4 if title else 0)), layout="constrained")
    if title:
        figure.suptitle(title)
    for i, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        axes.set_axis_off()
        if i < len(images):
            axes.imshow(images[i].reshape(side, side), cmap="Greys")
            axes.set_title(titles[i], color=colours[i], fontsize=8)
    return figure


def _save(figure: Figure, path: str | Path) -> Figure:
    """Write the figure as a PNG, atomically, and return it."""
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    return figure
