"""Plots: each writes a real PNG atomically, draws exactly the data it was given, and never opens a window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.figure import Figure

from tinygrad_mnist.plots import (
    WRONG,
    most_confident_errors,
    plot_accuracy,
    plot_confident_errors,
    plot_confusion_matrix,
    plot_cost,
    plot_digits,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> np.ndarray:
    assert path.read_bytes().startswith(PNG_MAGIC)
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".part")] == []
    return pixels


def image_axes(figure: Figure) -> list:
    return [axes for axes in figure.axes if axes.images]


def digits(count: int) -> np.ndarray:
    return np.random.default_rng(count).integers(0, 256, size=(count, 784), dtype=np.uint8)


def test_cost_plot_draws_the_costs_at_their_steps(tmp_path: Path) -> None:
    costs, dev, steps = [2.3, 1.1, 0.7, 0.5], [2.3, 1.2, 0.9, 0.8], [0, 10, 20, 30]
    figure = plot_cost(costs, tmp_path / "cost.png", steps=steps, dev_costs=dev)
    assert_png(tmp_path / "cost.png")
    (train_line, dev_line) = figure.axes[0].get_lines()
    np.testing.assert_array_equal(train_line.get_xydata(), np.column_stack((steps, costs)))
    np.testing.assert_array_equal(dev_line.get_ydata(), dev)
    assert (figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel()) == ("iteration", "cost")


def test_accuracy_plot_draws_train_and_dev(tmp_path: Path) -> None:
    train, dev = [0.1, 0.8, 0.95], [0.1, 0.75, 0.9]
    figure = plot_accuracy(train, dev, tmp_path / "accuracy.png")
    assert_png(tmp_path / "accuracy.png")
    lines = figure.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [train, dev]
    assert [text.get_text() for text in figure.axes[0].get_legend().get_texts()] == ["train", "dev"]
    assert figure.axes[0].get_xlabel() == "iteration"  # the notebook's full-batch runs


def test_accuracy_per_epoch_says_so_on_its_axis(tmp_path: Path) -> None:
    figure = plot_accuracy([0.5, 0.9], [0.4, 0.8], tmp_path / "accuracy.png", steps=[1, 2], xlabel="epoch")
    assert figure.axes[0].get_xlabel() == "epoch"
    assert list(figure.axes[0].get_lines()[0].get_xdata()) == [1, 2]


def test_lengths_must_agree(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="3 values but 2 dev accuracies"):
        plot_accuracy([1, 2, 3], [1, 2], tmp_path / "a.png")
    with pytest.raises(ValueError, match="2 values but 3 steps"):
        plot_cost([1, 2], tmp_path / "c.png", steps=[0, 1, 2])
    with pytest.raises(ValueError, match="3 values but 2 predictions"):
        plot_digits(digits(3), tmp_path / "d.png", predictions=[1, 2])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("shape", [(12, 784), (12, 28, 28), (12, 1, 28, 28)])
def test_digit_grid_shows_each_digit_with_label_and_prediction(tmp_path: Path, shape: tuple[int, ...]) -> None:
    images = digits(12).reshape(shape)
    labels, predictions = np.arange(12) % 10, np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 1])
    figure = plot_digits(images, tmp_path / "digits.png", labels=labels, predictions=predictions, columns=5)
    assert_png(tmp_path / "digits.png")
    panels = image_axes(figure)
    assert len(panels) == 12
    for i, axes in enumerate(panels):
        np.testing.assert_array_equal(axes.images[0].get_array(), images[i].reshape(28, 28))
        assert axes.get_title() == f"label {labels[i]}\npredicted {predictions[i]}"
        assert (axes.title.get_color() == WRONG) == (labels[i] != predictions[i])


def test_digit_grid_with_labels_only_is_the_notebooks_plot_digit(tmp_path: Path) -> None:
    figure = plot_digits(digits(1), tmp_path / "digit.png", labels=[7])
    assert [axes.get_title() for axes in image_axes(figure)] == ["label 7"]


def test_confusion_matrix_shows_every_count_where_it_belongs(tmp_path: Path) -> None:
    matrix = np.arange(100).reshape(10, 10)
    figure = plot_confusion_matrix(matrix, tmp_path / "confusion.png")
    assert_png(tmp_path / "confusion.png")
    axes = figure.axes[0]
    for text in axes.texts:
        predicted, true = text.get_position()
        assert text.get_text() == str(matrix[round(true), round(predicted)])
    assert len(axes.texts) == 100 and (axes.get_xlabel(), axes.get_ylabel()) == ("predicted", "true")


def test_normalised_confusion_matrix_shows_rates(tmp_path: Path) -> None:
    figure = plot_confusion_matrix(np.array([[0.75, 0.25], [0.0, 1.0]]), tmp_path / "rates.png")
    assert [text.get_text() for text in figure.axes[0].texts] == ["0.75", "0.25", "0.00", "1.00"]


def test_confusion_matrix_must_be_square(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"square, got shape \(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)), tmp_path / "c.png")


PROBABILITIES = st.integers(1, 40).flatmap(
    lambda m: st.tuples(
        hnp.arrays(np.int64, m, elements=st.integers(0, 3)),
        hnp.arrays(np.float64, (m, 4), elements=st.floats(0, 1)),
    )
)


@given(PROBABILITIES, st.integers(0, 10))
def test_most_confident_errors_are_wrong_and_come_in_falling_confidence(
    case: tuple[np.ndarray, np.ndarray], count: int
) -> None:
    labels, probabilities = case
    rows = most_confident_errors(labels, probabilities, count)
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[np.arange(len(labels)), predictions]
    assert len(rows) == min(count, len(wrong)) and len(set(rows)) == len(rows)
    assert set(rows) <= set(wrong)
    assert np.all(np.diff(confidence[rows]) <= 0)
    left_out = np.setdiff1d(wrong, rows)
    if len(rows) and len(left_out):
        assert confidence[left_out].max() <= confidence[rows].min()


def test_confident_errors_plot_shows_the_mistakes(tmp_path: Path) -> None:
    labels = np.array([0, 1, 2, 3])
    probabilities = np.array([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0, 0, 0.1, 0.9], [0.6, 0, 0, 0.4]])
    figure = plot_confident_errors(digits(4), labels, probabilities, tmp_path / "errors.png")
    assert_png(tmp_path / "errors.png")
    titles = [axes.get_title() for axes in image_axes(figure)]
    assert titles == ["label 2\npredicted 3 (0.90)", "label 1\npredicted 0 (0.80)", "label 3\npredicted 0 (0.60)"]


def test_confident_errors_plot_without_mistakes(tmp_path: Path) -> None:
    figure = plot_confident_errors(digits(2), [0, 1], np.eye(2), tmp_path / "errors.png")
    assert_png(tmp_path / "errors.png")
    assert image_axes(figure) == [] and figure.get_suptitle() == "No mistakes"


def test_a_failed_save_keeps_the_previous_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cost.png"
    plot_cost([1.0, 0.5], path)
    before = path.read_bytes()

    def half_written(figure: Figure, target: Path, **options: object) -> None:
        Path(target).write_bytes(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(OSError, match="disk full"):
        plot_cost([3.0, 2.0], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cost.png"]


def test_plotting_never_imports_pyplot(tmp_path: Path) -> None:
    script = (
        "import sys; from tinygrad_mnist.plots import plot_cost, plot_digits; import numpy as np; "
        f"plot_cost([1, 0.5], {str(tmp_path / 'c.png')!r}); "
        f"plot_digits(np.zeros((2, 784), np.uint8), {str(tmp_path / 'd.png')!r}, labels=[1, 2]); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'"
    )
    environment = {name: value for name, value in os.environ.items() if name != "MPLBACKEND"}
    subprocess.run([sys.executable, "-c", script], check=True, env=environment, timeout=120)
    assert_png(tmp_path / "c.png")


def test_a_long_noisy_cost_gets_a_log_axis_and_a_smoothed_curve(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    costs = 2.3 * np.exp(-np.arange(500) / 80) + 0.05 + 0.1 * rng.random(500)
    figure = plot_cost(costs, tmp_path / "cost.png")
    axes = figure.axes[0]
    raw, smoothed = axes.get_lines()
    assert axes.get_yscale() == "log" and smoothed.get_label() == "train, mean of 20"
    np.testing.assert_allclose(smoothed.get_ydata()[0], costs[:20].mean())
    tail = slice(-200, None)  # where the cost is flat and only noise is left
    assert np.std(np.diff(smoothed.get_ydata()[tail])) < np.std(np.diff(raw.get_ydata()[tail])) / 5
    assert plot_cost([1.0, 0.0], tmp_path / "zero.png").axes[0].get_yscale() == "linear"  # no log of 0


def test_accuracy_is_in_percent_on_whole_epochs(tmp_path: Path) -> None:
    figure = plot_accuracy([0.8, 0.9, 0.95], [0.7, 0.85, 0.9], tmp_path / "a.png", steps=[1, 2, 3], xlabel="epoch")
    axes = figure.axes[0]
    figure.canvas.draw()
    assert all(float(tick).is_integer() for tick in axes.get_xticks())
    percent = axes.yaxis.get_major_formatter()
    assert percent.xmax == 1.0 and percent(0.9, 0) in ("90%", "90.0%")  # fractions, shown as percent


def test_the_confusion_shading_leaves_out_the_diagonal_which_gets_its_own_strip(tmp_path: Path) -> None:
    matrix = np.array([[90, 10, 0], [0, 50, 0], [1, 0, 9]])
    figure = plot_confusion_matrix(matrix, tmp_path / "c.png")
    shading = figure.axes[0].images[0].get_array()
    assert shading.mask.diagonal().all() and not shading.mask[0, 1]
    np.testing.assert_allclose(shading[0, 1], 0.1)  # row-normalised: 10 of the 100 true 0s
    np.testing.assert_allclose(shading[2, 0], 0.1)
    strip = next(axes for axes in figure.axes if axes.get_title() == "correct")
    np.testing.assert_allclose(strip.images[0].get_array()[:, 0], [0.9, 1.0, 0.9])
    assert [text.get_text() for text in strip.texts] == ["90%", "100%", "90%"]
