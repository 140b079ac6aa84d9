"""Input transforms: pixel scaling keeps the dtype asked for, one_hot agrees with PyTorch, image batches are views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_mnist.data import PIXEL_SCALINGS, as_image_batch, load_kaggle_train, one_hot, scale_pixels

PIXELS = hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2, max_side=20))
LABELS = hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(0, 9))


@given(PIXELS, st.sampled_from(PIXEL_SCALINGS), st.sampled_from([np.float32, np.float64]))
def test_scaling_returns_the_dtype_asked_for_and_keeps_the_shape(images: np.ndarray, method: str, dtype: type) -> None:
    scaled = scale_pixels(images, method, dtype=dtype)
    assert scaled.dtype == dtype and scaled.shape == images.shape
    assert not np.shares_memory(scaled, images)


@given(PIXELS)
def test_unit_scaling_maps_0_255_onto_0_1_in_float32(images: np.ndarray) -> None:
    scaled = scale_pixels(images, "unit")
    np.testing.assert_array_equal(scaled, images.astype(np.float32) / np.float32(255))
    assert scaled.min(initial=0) >= 0 and scaled.max(initial=1) <= 1
    np.testing.assert_array_equal(scaled == 1, images == 255)


@given(PIXELS)
def test_no_scaling_keeps_the_notebooks_raw_values(images: np.ndarray) -> None:
    np.testing.assert_array_equal(scale_pixels(images, "none"), images)


def test_standard_scaling_gives_real_mnist_zero_mean_and_unit_spread(mnist_dir: Path) -> None:
    images, _ = load_kaggle_train(mnist_dir / "train.csv.gz")
    scaled = scale_pixels(images, "standard")
    assert abs(float(scaled.mean())) < 0.05 and abs(float(scaled.std()) - 1) < 0.05


def test_standard_scaling_with_given_statistics() -> None:
    images = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_allclose(scale_pixels(images, "standard", mean=0.2, std=0.4), [[-0.5, 0.0, 2.0]], atol=1e-6)


def test_scaling_refuses_integer_dtypes_and_unknown_methods() -> None:
    with pytest.raises(ValueError, match="dtype int32 is not a floating type"):
        scale_pixels(np.zeros((1, 784), np.uint8), dtype=np.int32)
    with pytest.raises(ValueError, match="unknown pixel scaling 'z'; choose one of none, unit, standard"):
        scale_pixels(np.zeros((1, 784), np.uint8), "z")  # type: ignore[arg-type]


@given(LABELS, st.sampled_from([np.float32, np.float64, np.int64]))
def test_one_hot_puts_a_single_one_at_each_label(labels: np.ndarray, dtype: type) -> None:
    encoded = one_hot(labels, 10, dtype=dtype)
    assert encoded.shape == (len(labels), 10) and encoded.dtype == dtype
    np.testing.assert_array_equal(encoded.sum(axis=1), np.ones(len(labels)))
    np.testing.assert_array_equal(encoded.argmax(axis=1), labels)


@given(LABELS)
def test_one_hot_agrees_with_pytorch(labels: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.one_hot(torch.from_numpy(labels), 10).numpy()
    np.testing.assert_array_equal(one_hot(labels, 10), expected)
    if labels.size:  # PyTorch infers the class count from the largest label, as the notebook does
        inferred = torch.nn.functional.one_hot(torch.from_numpy(labels), -1).numpy()
        np.testing.assert_array_equal(one_hot(labels, dtype=np.int64), inferred)


def test_one_hot_cannot_infer_the_class_count_from_no_labels() -> None:
    with pytest.raises(ValueError, match="cannot infer num_classes from no labels"):
        one_hot(np.array([], np.int64))


@pytest.mark.parametrize(("labels", "num_classes"), [([0, 10], 10), ([-1, 2], 10), ([3], 3)])
def test_one_hot_refuses_labels_outside_its_classes(labels: list[int], num_classes: int) -> None:
    with pytest.raises(ValueError, match=f"class ids must be in 0..{num_classes - 1}"):
        one_hot(np.array(labels), num_classes)


def test_one_hot_refuses_non_integer_labels() -> None:
    with pytest.raises(ValueError, match="integer class ids"):
        one_hot(np.array([1.0, 2.0]), 10)


def test_image_batch_is_a_view_in_nchw_order() -> None:
    flat = np.arange(3 * 784).reshape(3, 784)
    batch = as_image_batch(flat)
    assert batch.shape == (3, 1, 28, 28) and np.shares_memory(batch, flat)
    assert batch[1, 0, 2, 5] == flat[1, 2 * 28 + 5]


def test_image_batch_refuses_the_wrong_size() -> None:
    with pytest.raises(ValueError, match=r"expected flat images of shape \(m, 784\), got \(2, 783\)"):
        as_image_batch(np.zeros((2, 783)))
