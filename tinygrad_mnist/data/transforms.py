"""Turn read arrays into model inputs, explicitly: pixel scaling, one-hot labels, image batches for convolutions."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import DTypeLike

PixelScaling = Literal["none", "unit", "standard"]
PIXEL_SCALINGS: tuple[PixelScaling, ...] = ("none", "unit", "standard")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # MNIST's training pixels on the 0..1 scale, as commonly published


def scale_pixels(
    images: np.ndarray,
    method: PixelScaling = "unit",
    dtype: DTypeLike = np.float32,
    mean: float = MNIST_MEAN,
    std: float = MNIST_STD,
) -> np.ndarray:
    """Pixels 0..255 as floats of ``dtype``.

    ``"none"`` keeps 0..255 (the notebook's unnormalised input), ``"unit"`` divides by
    255, and ``"standard"`` also subtracts ``mean`` and divides by ``std`` (both on the
    0..1 scale; MNIST's by default). All the arithmetic happens in ``dtype``.
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"scale_pixels makes floats; dtype {dtype} is not a floating type")
    if method not in PIXEL_SCALINGS:
        raise ValueError(f"unknown pixel scaling {method!r}; choose one of {', '.join(PIXEL_SCALINGS)}")
    scaled = np.asarray(images).astype(dtype)
    if method == "none":
        return scaled
    scaled /= dtype.type(255)
    if method == "standard":
        scaled -= dtype.type(mean)
        scaled /= dtype.type(std)
    return scaled


def one_hot(labels: np.ndarray, num_classes: int = -1, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Labels ``(m,)`` as one-hot rows ``(m, num_classes)``; ``-1`` means one more than the largest label.

    As ``torch.nn.functional.one_hot``, but batch first in ``dtype`` (float32 by default,
    ready for a loss) instead of int64.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"one_hot takes a 1-D array of integer class ids, got {labels.dtype} {labels.shape}")
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError("one_hot cannot infer num_classes from no labels; pass num_classes")
        num_classes = int(labels.max()) + 1
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"class ids must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    encoded = np.zeros((labels.size, num_classes), dtype=dtype)
    encoded[np.arange(labels.size), labels] = 1
    return encoded


def as_image_batch(images: np.ndarray, height: int = 28, width: int = 28) -> np.ndarray:
    """Flat images ``(m, height * width)`` as a view ``(m, 1, height, width)``, (N, C, H, W) for convolutions."""
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(f"expected flat images of shape (m, {height * width}), got {images.shape}")
    return images.reshape(len(images), 1, height, width)
