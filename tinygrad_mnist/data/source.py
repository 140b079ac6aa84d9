"""Where the data comes from: ``--data``, else ``$TINYGRAD_MNIST_DATA``, else ``data/train.csv``,
else the sample beside the checkout (``../shared/data/mnist``, as ``make demo`` finds it), else MNIST downloaded.

``find_data`` makes the choice and says why in ``DataSource.reason``, so the command
line can tell the user what it is training on. A path given may be a Kaggle CSV file,
a folder holding Kaggle's ``train.csv``, or a folder of MNIST-style IDX files.
``data_files`` lists every file that choice might read, so outputs can be kept off them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .download import default_cache_dir, download
from .errors import DataError
from .files import MAX_DATA_BYTES, first_file
from .idx import SPLIT_PREFIXES, idx_split_files, load_idx_folder
from .kaggle import load_kaggle_csv, load_kaggle_train

DATA_ENV = "TINYGRAD_MNIST_DATA"
KAGGLE_NAMES = ("train.csv", "train.csv.gz")
KAGGLE_TEST_NAMES = ("test.csv", "test.csv.gz")
IDX_NAMES = tuple(
    f"{prefix}-{kind}{suffix}"
    for prefix in SPLIT_PREFIXES.values()
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    for suffix in ("", ".gz")
)
#: The sample of real MNIST that ``make demo`` trains on, relative to the current folder (a checkout).
SAMPLE = Path("..", "shared", "data", "mnist")


@dataclass(frozen=True)
class DataSource:
    """The data chosen: its layout, its training and test locations, and why it was chosen.

    For Kaggle's layout ``train`` and ``test`` are CSV files (``test`` is None when
    there is no test.csv beside train.csv); for IDX both are the folder.
    """

    layout: Literal["kaggle", "idx"]
    train: Path
    test: Path | None
    reason: str

    def __str__(self) -> str:
        test = "" if self.test is None or self.test == self.train else f" and {self.test}"
        return f"{self.layout} data: {self.train}{test} ({self.reason})"

    def load_train(self, *, max_bytes: int = MAX_DATA_BYTES) -> tuple[np.ndarray, np.ndarray]:
        """Training images ``(m, 784)`` uint8 and labels ``(m,)`` int64 (files up to ``max_bytes``)."""
        if self.layout == "idx":
            return load_idx_folder(self.train, "train", max_bytes=max_bytes)
        return load_kaggle_train(self.train, max_bytes=max_bytes)

    def load_test(self, *, max_bytes: int = MAX_DATA_BYTES) -> tuple[np.ndarray, np.ndarray | None]:
        """Test images, and their labels where the test set has them (IDX does, Kaggle's test.csv does not)."""
        if self.test is None:
            fix = f"Put Kaggle's test.csv beside {self.train.name}, or pass the test file explicitly"
            raise DataError("has no test.csv beside it", path=self.train, fix=fix)
        if self.layout == "idx":
            return load_idx_folder(self.test, "test", max_bytes=max_bytes)
        return load_kaggle_csv(self.test, max_bytes=max_bytes)


def find_data(
    data: str | Path | None = None,
    *,
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cache_dir: str | Path | None = None,
    mirror: str | None = None,
    progress: bool = True,
) -> DataSource:
    """Choose the data, and say why in the result's ``reason``.

    First match wins: ``data`` if given; else ``$TINYGRAD_MNIST_DATA``; else
    ``data/train.csv`` (or .gz) under ``cwd``; else the sample ``../shared/data/mnist``
    beside ``cwd``, as ``make demo`` finds it; else MNIST, downloaded into the cache
    unless already there (``download("mnist", cache_dir, mirror=mirror)``). ``cwd`` and
    ``environ`` default to the process's own; they are parameters so the choice can be tested.
    """
    environ = os.environ if environ is None else environ
    if data is not None:
        return _source_at(Path(data), "the path given")
    if environ.get(DATA_ENV):
        return _source_at(Path(environ[DATA_ENV]), f"from ${DATA_ENV}")
    local = Path.cwd() if cwd is None else Path(cwd)
    if train := first_file(local / "data", KAGGLE_NAMES):
        return _kaggle_source(train, f"found data/{train.name} in {local}")
    if train := first_file(local / SAMPLE, KAGGLE_NAMES):
        return _kaggle_source(train, f"the sample beside this checkout, as make demo finds it ({local / SAMPLE})")
    try:
        folder = download("mnist", cache_dir, mirror=mirror, progress=progress)
    except DataError as error:
        fix = f"{error.fix}; or pass the data yourself: data=PATH (--data PATH) or ${DATA_ENV}, a Kaggle train.csv"
        raise DataError(error.problem, path=error.path, fix=fix) from None
    reason = f"no --data, no ${DATA_ENV}, no data/train.csv and no {SAMPLE} here, so MNIST was downloaded into {folder}"
    return DataSource("idx", folder, folder, reason)


def data_files(
    data: str | Path | None = None,
    *,
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cache_dir: str | Path | None = None,
) -> list[Path]:
    """Every file ``find_data`` with the same arguments might read, whether it exists or not.

    Nothing is downloaded or read: this is for keeping a command's outputs off its inputs
    before any work starts. A file stands for itself and the test files beside it; a
    folder for every Kaggle and IDX name inside it.
    """
    environ = os.environ if environ is None else environ
    if data is not None:
        places = [Path(data)]
    else:
        local = Path.cwd() if cwd is None else Path(cwd)
        places = [local / "data", local / SAMPLE, Path(cache_dir or default_cache_dir()) / "mnist"]
        places += [Path(environ[DATA_ENV])] if environ.get(DATA_ENV) else []
    files = []
    for place in places:
        if place.is_file() and "-ubyte" not in place.name:
            files += [place, *(place.parent / name for name in KAGGLE_TEST_NAMES)]
        else:
            folder = place.parent if place.is_file() else place
            files += [folder / name for name in (*KAGGLE_NAMES, *KAGGLE_TEST_NAMES, *IDX_NAMES)]
    return files


def _source_at(path: Path, reason: str) -> DataSource:
    """The data at a path someone gave: a Kaggle CSV, a folder with train.csv, or a folder of IDX files."""
    if not path.exists():
        raise DataError(f"no such file or folder ({reason})", path=path, fix="Pass a Kaggle train.csv or its folder")
    if path.is_file() and "-ubyte" in path.name:  # one of MNIST's IDX files: take its folder
        return _source_at(path.parent, reason)
    if path.is_file():
        return _kaggle_source(path, reason)
    if train := first_file(path, KAGGLE_NAMES):
        return _kaggle_source(train, reason)
    try:
        idx_split_files(path, "train")
    except DataError:
        fix = "Pass a folder with Kaggle's train.csv, or MNIST's train-images-idx3-ubyte.gz and its labels"
        raise DataError(f"holds no training data ({reason})", path=path, fix=fix) from None
    return DataSource("idx", path, path, reason)


def _kaggle_source(train: Path, reason: str) -> DataSource:
    return DataSource("kaggle", train, first_file(train.parent, KAGGLE_TEST_NAMES), reason)
