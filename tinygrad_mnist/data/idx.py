"""The original MNIST format, IDX (``*-idx3-ubyte`` images, ``*-idx1-ubyte`` labels), plain or gzip.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values, big-endian, row
major. MNIST and Fashion-MNIST ship their splits as ``train-*`` and ``t10k-*`` files.
Images come back batch first as ``(m, rows * cols)`` uint8, labels as ``(m,)`` int64.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import DataError
from .files import MAX_DATA_BYTES, first_file, read_bytes

NUM_CLASSES = 10
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
GET_FILES = "MNIST's IDX files come from download('mnist') (or `tinygrad-mnist download`); download them again"


def read_idx(path: str | Path, *, max_bytes: int = MAX_DATA_BYTES) -> np.ndarray:
    """The array stored in an IDX file, in native byte order, shaped as its header says."""
    path = Path(path)
    raw = read_bytes(path, fix=GET_FILES, max_bytes=max_bytes)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES or raw[3] == 0:
        magic = raw[:4].hex(" ")
        problem = f"starts with {magic}, not an IDX magic number (00 00 08 03 for images, 00 00 08 01 for labels)"
        raise DataError(problem, path=path, fix=GET_FILES)
    dtype, ndim = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"is truncated inside its {header_size}-byte header", path=path, fix=GET_FILES)
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected, present = math.prod(shape) * dtype.itemsize, len(raw) - header_size
    if present < expected:
        problem = f"is truncated: its header promises a {shape} array ({expected} bytes), only {present} follow"
        raise DataError(problem, path=path, fix=GET_FILES)
    if present > expected:
        problem = f"has {present - expected} bytes after the {shape} array its header describes"
        raise DataError(problem, path=path, fix=GET_FILES)
    values = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header_size)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def load_idx_images(path: str | Path, *, max_bytes: int = MAX_DATA_BYTES) -> np.ndarray:
    """Images ``(m, rows * cols)`` uint8 from an ``idx3-ubyte`` file (``(m, 784)`` for MNIST)."""
    array = read_idx(path, max_bytes=max_bytes)
    if array.ndim != 3 or array.dtype != np.uint8:
        problem = f"holds a {array.dtype} array of shape {array.shape}, not images (uint8, shape (m, rows, cols))"
        raise DataError(problem, path=path, fix="Pass an *-images-idx3-ubyte file")
    if 0 in array.shape:
        count, rows, cols = array.shape
        raise DataError(f"holds {count} images of {rows}x{cols} pixels: nothing to use", path=path, fix=GET_FILES)
    return array.reshape(len(array), -1)


def load_idx_labels(path: str | Path, *, max_bytes: int = MAX_DATA_BYTES) -> np.ndarray:
    """Labels ``(m,)`` int64, digits 0..9, from an ``idx1-ubyte`` file."""
    array = read_idx(path, max_bytes=max_bytes)
    if array.ndim != 1 or array.dtype != np.uint8:
        problem = f"holds a {array.dtype} array of shape {array.shape}, not labels (uint8, shape (m,))"
        raise DataError(problem, path=path, fix="Pass an *-labels-idx1-ubyte file")
    if array.size == 0:
        raise DataError("holds 0 labels: nothing to use", path=path, fix=GET_FILES)
    if array.max() >= NUM_CLASSES:
        item = int(np.argmax(array >= NUM_CLASSES))
        problem = f"label {array[item]} is outside 0..9"
        raise DataError(problem, path=path, row=item + 1, fix=GET_FILES)
    return array.astype(np.int64)


def load_idx(
    images_path: str | Path, labels_path: str | Path, *, max_bytes: int = MAX_DATA_BYTES
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(m, rows * cols)`` uint8 and labels ``(m,)`` int64 from a pair of IDX files."""
    images = load_idx_images(images_path, max_bytes=max_bytes)
    labels = load_idx_labels(labels_path, max_bytes=max_bytes)
    if len(images) != len(labels):
        problem = f"holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        raise DataError(problem, path=images_path, fix="Pass the images and labels of the same split")
    return images, labels


def idx_split_files(folder: str | Path, split: Literal["train", "test"] = "train") -> tuple[Path, Path]:
    """The images and labels files of a split in an MNIST-style folder (``train-*`` or ``t10k-*``, plain or .gz)."""
    if split not in SPLIT_PREFIXES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder, prefix = Path(folder), SPLIT_PREFIXES[split]
    found = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        names = [f"{prefix}-{kind}{suffix}" for suffix in ("", ".gz")]
        path = first_file(folder, names)
        if path is None:
            raise DataError(f"has no {names[0]} (or .gz) for the {split} split", path=folder, fix=GET_FILES)
        found.append(path)
    return found[0], found[1]


def load_idx_folder(
    folder: str | Path, split: Literal["train", "test"] = "train", *, max_bytes: int = MAX_DATA_BYTES
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split from an MNIST-style folder of IDX files."""
    return load_idx(*idx_split_files(folder, split), max_bytes=max_bytes)
