"""What a checkpoint records about the data it learned from, and how other data differs from it.

A model trained on Fashion-MNIST scores 7% on MNIST without any error: the arrays have
the same shape. A summary (rows, image size, classes, pixel statistics and a SHA-256 of
the arrays) kept with the model lets a tool say so, and lets a resumed run insist on
exactly the data it started with.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

#: How far (in the training pixels' standard deviations) another set's pixel mean may be
#: before it is called different: the sample's MNIST train and test sets are 0.004 apart,
#: Fashion-MNIST's training set and MNIST 0.49.
PIXEL_MEAN_TOLERANCE = 0.25


def summarise(images: np.ndarray, labels: np.ndarray | None = None) -> dict[str, Any]:
    """``rows``, ``image_size`` (values per image), ``classes`` (one more than the largest label, None
    without labels), ``pixel_mean``, ``pixel_std`` and ``sha256`` (of the images and labels as stored)."""
    images = np.ascontiguousarray(images)
    digest = hashlib.sha256(memoryview(images).cast("B"))
    if labels is not None:
        digest.update(memoryview(np.ascontiguousarray(labels)).cast("B"))
    return {
        "rows": len(images),
        "image_size": int(images[0].size) if len(images) else 0,
        "classes": None if labels is None or len(labels) == 0 else int(np.max(labels)) + 1,
        "pixel_mean": float(images.mean(dtype=np.float64)),
        "pixel_std": float(images.std(dtype=np.float64)),
        "sha256": digest.hexdigest(),
    }


def compare_summaries(recorded: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """How data summarised as ``summary`` differs in kind from the ``recorded`` training data, in words
    (empty when it looks alike): the image size, labels beyond the classes learned, the pixel mean."""
    found = []
    if recorded.get("image_size") != summary["image_size"]:
        sizes = summary["image_size"], recorded.get("image_size")
        found.append(f"its images have {sizes[0]} values each, the training images {sizes[1]}")
    classes = recorded.get("classes")
    if summary["classes"] is not None and classes is not None and summary["classes"] > classes:
        found.append(f"its labels go up to {summary['classes'] - 1}, but the model learned {classes} classes")
    mean, std = recorded.get("pixel_mean"), recorded.get("pixel_std")
    comparable = isinstance(mean, float) and isinstance(std, float) and std > 0
    if comparable and abs(summary["pixel_mean"] - mean) > PIXEL_MEAN_TOLERANCE * std:
        found.append(
            f"its mean pixel is {summary['pixel_mean']:.1f}, the training data's {mean:.1f} "
            "(is it another kind of image, e.g. Fashion-MNIST instead of MNIST?)"
        )
    return found
