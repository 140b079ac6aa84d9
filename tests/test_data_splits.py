"""Train/dev splits: the notebook's first N / next N, and a seeded random dev set that partitions the rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist.data import Split, random_dev_split, sequential_split


def rows(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose pixels are their row number, and labels that are too: every row can be traced."""
    images = np.repeat(np.arange(count)[:, None], 3, axis=1)
    return images, np.arange(count)


@given(st.integers(0, 40), st.data())
def test_sequential_split_takes_the_first_rows_then_the_next(count: int, data: st.DataObject) -> None:
    train_size = data.draw(st.integers(0, count))
    dev_size = data.draw(st.integers(0, count - train_size))
    split = sequential_split(*rows(count), train_size, dev_size)
    assert isinstance(split, Split)
    np.testing.assert_array_equal(split.train_labels, np.arange(train_size))
    np.testing.assert_array_equal(split.dev_labels, np.arange(train_size, train_size + dev_size))
    np.testing.assert_array_equal(split.train_images[:, 0], split.train_labels)
    np.testing.assert_array_equal(split.dev_images[:, 0], split.dev_labels)


@given(st.integers(0, 60), st.data(), st.integers(0, 2**32 - 1))
def test_random_dev_split_partitions_the_rows_and_keeps_pairs_together(
    count: int, data: st.DataObject, seed: int
) -> None:
    dev_size = data.draw(st.integers(0, count))
    split = random_dev_split(*rows(count), dev_size, seed)
    assert len(split.dev_labels) == dev_size and len(split.train_labels) == count - dev_size
    np.testing.assert_array_equal(np.sort(np.concatenate([split.train_labels, split.dev_labels])), np.arange(count))
    np.testing.assert_array_equal(split.train_images[:, 0], split.train_labels)
    np.testing.assert_array_equal(split.dev_images[:, 0], split.dev_labels)
    assert np.all(np.diff(split.train_labels) > 0) and np.all(np.diff(split.dev_labels) > 0)  # file order kept


def test_random_dev_split_is_reproducible_by_seed() -> None:
    first, again, other = (random_dev_split(*rows(1000), 100, seed)[3] for seed in (7, 7, 8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_random_dev_split_is_not_just_the_last_rows() -> None:
    dev = random_dev_split(*rows(1000), 100, seed=0).dev_labels
    assert dev.min() < 500 < dev.max()


@pytest.mark.parametrize(("train_size", "dev_size"), [(6, 5), (-1, 2), (2, -1)])
def test_sequential_split_asking_for_too_much(train_size: int, dev_size: int) -> None:
    with pytest.raises(ValueError, match=rf"cannot take {train_size} \+ {dev_size} rows from 10 rows; ask for fewer"):
        sequential_split(*rows(10), train_size, dev_size)


def test_random_dev_split_asking_for_too_much() -> None:
    with pytest.raises(ValueError, match="cannot draw 11 dev rows from 10 rows"):
        random_dev_split(*rows(10), 11, seed=0)


def test_images_and_labels_must_pair_up() -> None:
    images, labels = rows(10)
    with pytest.raises(ValueError, match="10 images, 9 labels"):
        sequential_split(images, labels[:9], 5, 4)
