"""Train/dev splits as the notebook makes them: the first N rows and the next N, or a random dev set."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """Training and dev arrays, batch first."""

    train_images: np.ndarray
    train_labels: np.ndarray
    dev_images: np.ndarray
    dev_labels: np.ndarray


def sequential_split(images: np.ndarray, labels: np.ndarray, train_size: int, dev_size: int) -> Split:
    """The first ``train_size`` rows for training and the next ``dev_size`` for dev (the notebook's 5,000 + 5,000)."""
    _check_lengths(images, labels)
    if train_size < 0 or dev_size < 0 or train_size + dev_size > len(images):
        raise ValueError(f"cannot take {train_size} + {dev_size} rows from {len(images)} rows; ask for fewer")
    end = train_size + dev_size
    return Split(images[:train_size], labels[:train_size], images[train_size:end], labels[train_size:end])


def random_dev_split(images: np.ndarray, labels: np.ndarray, dev_size: int, seed: int) -> Split:
    """``dev_size`` rows drawn at random (without replacement) for dev, every other row for training.

    As the notebook's second run does it, but with its own ``np.random.Generator`` from
    ``seed``, so the same seed gives the same split. Both parts keep file order.
    """
    _check_lengths(images, labels)
    if not 0 <= dev_size <= len(images):
        raise ValueError(f"cannot draw {dev_size} dev rows from {len(images)} rows; ask for fewer")
    dev_rows = np.sort(np.random.default_rng(seed).choice(len(images), size=dev_size, replace=False))
    train_rows = np.setdiff1d(np.arange(len(images)), dev_rows, assume_unique=True)
    return Split(images[train_rows], labels[train_rows], images[dev_rows], labels[dev_rows])


def _check_lengths(images: np.ndarray, labels: np.ndarray) -> None:
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} images, {len(labels)} labels")
