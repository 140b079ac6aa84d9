"""IDX files: the real Fashion-MNIST files read right, any array round-trips, and bad files raise one DataError."""

from __future__ import annotations

import contextlib
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_data_kaggle import write

from tinygrad_mnist.data import (
    DataError,
    idx_split_files,
    load_idx,
    load_idx_folder,
    load_idx_images,
    load_idx_labels,
    read_idx,
)

pytestmark = pytest.mark.filterwarnings("error")  # bad input gets a DataError, not warnings as well

TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's bytes, written from the format's description: magic, big-endian sizes, big-endian values."""
    code = TYPE_CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def images_and_labels(folder: Path, count: int = 5, prefix: str = "train", compress: bool = True) -> np.ndarray:
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write(folder / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
    write(folder / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)
    return images


# ---------------------------------------------------------------- the real Fashion-MNIST files


@pytest.mark.parametrize(("split", "count"), [("train", 60_000), ("test", 10_000)])
def test_real_fashion_mnist(fashion_dir: Path, split: str, count: int) -> None:
    images, labels = load_idx_folder(fashion_dir, split)
    assert images.shape == (count, 784) and images.dtype == np.uint8 and images.flags.writeable
    assert labels.shape == (count,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), [count // 10] * 10)  # Fashion-MNIST is balanced
    assert images.min() == 0 and images.max() == 255


def test_real_images_keep_their_square_shape_in_read_idx(fashion_dir: Path) -> None:
    array = read_idx(fashion_dir / "t10k-images-idx3-ubyte.gz")
    assert array.shape == (10_000, 28, 28)
    flat = load_idx_images(fashion_dir / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(array.reshape(10_000, 784), flat)


# ---------------------------------------------------------------- round trips


@given(
    hnp.arrays(
        st.sampled_from([np.dtype(t) for t in TYPE_CODES]),
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    st.booleans(),
)
def test_any_array_round_trips(tmp_path_factory: pytest.TempPathFactory, array: np.ndarray, compress: bool) -> None:
    path = write(tmp_path_factory.mktemp("idx") / "array-idx", idx_bytes(array), compress)
    read = read_idx(path)
    assert read.shape == array.shape and read.dtype == array.dtype and read.dtype.isnative
    np.testing.assert_array_equal(read, array)


def test_plain_and_gzip_folders_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "packed").mkdir()
    images = images_and_labels(tmp_path / "plain", compress=False)
    images_and_labels(tmp_path / "packed", compress=True)
    plain, packed = load_idx_folder(tmp_path / "plain"), load_idx_folder(tmp_path / "packed")
    np.testing.assert_array_equal(plain[0], images.reshape(5, 784))
    np.testing.assert_array_equal(plain[0], packed[0])
    np.testing.assert_array_equal(plain[1], packed[1])


def test_split_files_are_found_by_their_mnist_names(tmp_path: Path) -> None:
    images_and_labels(tmp_path, prefix="t10k", compress=False)
    expected = (tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte")
    assert idx_split_files(tmp_path, "test") == expected
    with pytest.raises(DataError, match=r"has no train-images-idx3-ubyte \(or \.gz\) for the train split"):
        idx_split_files(tmp_path, "train")


# ---------------------------------------------------------------- bad files


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent-idx3-ubyte")
    with pytest.raises(DataError, match="is empty"):
        read_idx(write(tmp_path / "empty-idx3-ubyte", b""))


@pytest.mark.parametrize(
    "start", [b"PK\x03\x04", b"\x00\x01\x08\x03", b"\x00\x00\x07\x03", b"\x00\x00\x08\x00", b"\x00"]
)
def test_wrong_magic_number(tmp_path: Path, start: bytes) -> None:
    with pytest.raises(DataError, match="not an IDX magic number"):
        read_idx(write(tmp_path / "bad-idx3-ubyte", start + bytes(100)))


def test_truncated_header_and_data(tmp_path: Path) -> None:
    whole = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match="is truncated inside its 16-byte header"):
        read_idx(write(tmp_path / "a-idx3-ubyte", whole[:10]))
    with pytest.raises(DataError, match=r"is truncated: its header promises a \(3, 28, 28\) array \(2352 bytes\)"):
        read_idx(write(tmp_path / "b-idx3-ubyte", whole[:-1]))
    with pytest.raises(DataError, match="has 2 bytes after the"):
        read_idx(write(tmp_path / "c-idx3-ubyte", whole + b"\0\0"))


def test_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8).reshape(10, 10, 10)))
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(write(tmp_path / "a-idx3-ubyte.gz", packed[:-5]))


def test_images_and_labels_files_swapped(tmp_path: Path) -> None:
    images_and_labels(tmp_path)
    with pytest.raises(DataError, match=r"not images \(uint8, shape \(m, rows, cols\)\)"):
        load_idx_images(tmp_path / "train-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match=r"not labels \(uint8, shape \(m,\)\)"):
        load_idx_labels(tmp_path / "train-images-idx3-ubyte.gz")


def test_label_outside_0_to_9_is_named_by_row(tmp_path: Path) -> None:
    path = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.array([1, 2, 3, 12, 4], np.uint8)))
    with pytest.raises(DataError, match=r"row 4: label 12 is outside 0\.\.9") as caught:
        load_idx_labels(path)
    assert caught.value.row == 4


def test_image_and_label_counts_differ(tmp_path: Path) -> None:
    images = write(tmp_path / "images-idx3-ubyte", idx_bytes(np.zeros((4, 28, 28), np.uint8)))
    labels = write(tmp_path / "labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match=rf"holds 4 images but {labels} holds 3 labels"):
        load_idx(images, labels)


@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_raise_only_data_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, compress: bool
) -> None:
    path = write(tmp_path_factory.mktemp("random") / "random-idx", data, compress)
    with contextlib.suppress(DataError):
        read_idx(path)


@given(st.data())
def test_every_truncation_raises_data_error(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    compress = data.draw(st.booleans(), label="gzip")
    whole = idx_bytes(np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28))
    whole = gzip.compress(whole) if compress else whole
    cut = data.draw(st.integers(0, len(whole) - 1), label="cut")
    with pytest.raises(DataError):
        load_idx_images(write(tmp_path_factory.mktemp("cut") / "cut-idx3-ubyte", whole[:cut]))


@pytest.mark.parametrize(("shape", "expected"), [((0, 28, 28), "0 images of 28x28"), ((5, 28, 0), "5 images of 28x0")])
def test_images_files_with_nothing_in_them_name_the_file(tmp_path: Path, shape: tuple[int, ...], expected: str) -> None:
    path = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros(shape, np.uint8)))
    with pytest.raises(DataError, match=rf"train-images-idx3-ubyte: holds {expected} pixels: nothing to use"):
        load_idx_images(path)


def test_a_labels_file_with_no_labels_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(0, np.uint8)))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: holds 0 labels: nothing to use"):
        load_idx_labels(path)
