"""Kaggle's digit-recognizer files: ``train.csv`` and ``test.csv`` (plain or gzip) in, ``submission.csv`` out.

The layout, as the notebook reads it: a header ``label,pixel0,...,pixel783`` (train)
or ``pixel0,...,pixel783`` (test), then one digit per row in whole numbers, labels
0..9 and pixels 0..255. Images come back batch first as ``(m, 784)`` uint8 and labels
as ``(m,)`` int64; nothing is scaled here (that is ``scale_pixels``'s job).

Reading is one pass of pandas' C parser straight into uint8 plus a few vectorised
checks, so it takes about as long as ``pandas.read_csv`` itself. Only when that pass
fails does a scan of the bytes find the first bad row to name it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..files import atomic_write
from .csv_scan import find_first_problem
from .errors import DataError
from .files import MAX_DATA_BYTES, read_bytes
from .idx import NUM_CLASSES

PIXELS = 784
PIXEL_COLUMNS = tuple(f"pixel{i}" for i in range(PIXELS))
TRAIN_COLUMNS = ("label", *PIXEL_COLUMNS)
TRAIN_HEADER, TEST_HEADER = "label,pixel0,...,pixel783", "pixel0,...,pixel783"

GET_FILES = "Kaggle's train.csv and test.csv come from https://www.kaggle.com/c/digit-recognizer/data"
ROW_RULES = (
    "Each row is a label 0..9 (train.csv only) and then 784 pixels 0..255, all whole numbers; "
    "correct or delete that row, or download the file again"
)


def load_kaggle_csv(
    path: str | Path, *, labelled: bool | None = None, max_bytes: int = MAX_DATA_BYTES
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images ``(m, 784)`` uint8 and labels ``(m,)`` int64 from a Kaggle CSV; labels are None for test.csv.

    ``labelled=True`` insists on train.csv's layout, ``False`` on test.csv's, ``None``
    takes either. Any problem raises one ``DataError`` naming the file, row and column;
    a file longer than ``max_bytes`` (after decompression) is refused before it is parsed.
    """
    table = _read_table(Path(path), labelled, max_bytes)
    if table.shape[1] == len(TRAIN_COLUMNS):
        return _split_labels(table)
    return table, None


def load_kaggle_train(path: str | Path, *, max_bytes: int = MAX_DATA_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(m, 784)`` uint8 and labels ``(m,)`` int64 from Kaggle's train.csv (or .csv.gz)."""
    return _split_labels(_read_table(Path(path), True, max_bytes))


def load_kaggle_test(path: str | Path, *, max_bytes: int = MAX_DATA_BYTES) -> np.ndarray:
    """Images ``(m, 784)`` uint8 from Kaggle's test.csv (or .csv.gz), in file order."""
    return _read_table(Path(path), False, max_bytes)


def write_kaggle_submission(predictions: ArrayLike, path: str | Path) -> Path:
    """Write Kaggle's ``submission.csv``: ``ImageId,Label``, ids from 1 in test.csv's row order.

    ``predictions`` are class ids, one per test row. The file is replaced atomically:
    an interrupted write leaves the previous submission untouched.
    """
    labels = np.asarray(predictions)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"predictions must be a non-empty 1-D array of class ids, got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError(f"predictions must be digits 0..9, got values from {labels.min()} to {labels.max()}")
    table = np.column_stack((np.arange(1, labels.size + 1), labels))
    with atomic_write(path) as temporary:
        np.savetxt(temporary, table, fmt="%d", delimiter=",", header="ImageId,Label", comments="")
    return Path(path)


def _read_table(path: Path, labelled: bool | None, max_bytes: int) -> np.ndarray:
    """The file's rows as one uint8 table, label column first in train.csv's layout."""
    raw = read_bytes(path, fix=GET_FILES, max_bytes=max_bytes)
    columns = _check_header(raw, path, labelled)
    _check_first_row(raw, columns, path)
    return _parse(raw, columns, path)


def _split_labels(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(table[:, 1:]), table[:, 0].astype(np.int64)


def _check_header(raw: bytes, path: Path, labelled: bool | None) -> tuple[str, ...]:
    """The expected columns, after checking line 1 is Kaggle's header for the layout asked for."""
    end = raw.find(b"\n")
    first_line = (raw if end < 0 else raw[:end]).decode("utf-8-sig", errors="backslashreplace")
    names = [name.strip().strip('"') for name in first_line.strip().split(",")]
    if names[0].isdigit():
        fix = f"Put Kaggle's header first: {TRAIN_HEADER} for train.csv, {TEST_HEADER} for test.csv"
        raise DataError("line 1 is a row of numbers, not the header", path=path, line=1, fix=fix)
    expected = {len(TRAIN_COLUMNS): TRAIN_COLUMNS, len(PIXEL_COLUMNS): PIXEL_COLUMNS}.get(len(names))
    if expected is None:
        problem = (
            f"the header has {len(names)} column{'' if len(names) == 1 else 's'}, "
            f"expected {len(TRAIN_COLUMNS)} ({TRAIN_HEADER}) for train.csv "
            f"or {len(PIXEL_COLUMNS)} ({TEST_HEADER}) for test.csv"
        )
        raise DataError(problem, path=path, line=1, fix=GET_FILES)
    for position, (name, wanted) in enumerate(zip(names, expected, strict=True), start=1):
        if name != wanted:
            problem = f"header column {position} is {name!r}, expected {wanted!r}"
            raise DataError(problem, path=path, line=1, fix=GET_FILES)
    if labelled is True and expected is PIXEL_COLUMNS:
        fix = "Training and evaluation need labels: pass train.csv, whose first column is 'label'"
        raise DataError("has no 'label' column: it looks like Kaggle's test.csv", path=path, fix=fix)
    if labelled is False and expected is TRAIN_COLUMNS:
        fix = "A submission is made for test.csv, whose columns are only pixel0..pixel783"
        raise DataError("has a 'label' column: it looks like Kaggle's train.csv", path=path, fix=fix)
    return expected


def _check_first_row(raw: bytes, columns: tuple[str, ...], path: Path) -> None:
    """Refuse a first data row of the wrong width before pandas sees it, counting its commas alone:
    given one row of a million values, pandas makes a million columns (2 MB took 8 s and 370 MB)."""
    start = end = raw.find(b"\n")
    while end >= 0:  # to the first line that is not blank: blank lines do not count as rows
        start, end = end + 1, raw.find(b"\n", end + 1)
        row = raw[start:] if end < 0 else raw[start:end]
        if row.strip():
            values = row.count(b",") + 1
            if values != len(columns):
                line = raw.count(b"\n", 0, start) + 1
                problem = f"has {values} values, expected {len(columns)}"
                raise DataError(problem, path=path, row=1, line=line, fix=ROW_RULES)
            return


def _parse(raw: bytes, columns: tuple[str, ...], path: Path) -> np.ndarray:
    """The rows as one ``(m, len(columns))`` uint8 table, or a ``DataError`` naming the first bad row."""
    import pandas as pd  # 0.4 s to import: only when a CSV is read, so that e.g. ``--help`` stays quick

    try:
        with np.errstate(invalid="ignore"):  # pandas' failed cast of e.g. "1e19" warns before it raises
            table = pd.read_csv(io.BytesIO(raw), dtype=np.uint8, engine="c", quoting=csv.QUOTE_NONE).to_numpy()
    except (ValueError, OverflowError) as error:  # pandas' parse errors and UnicodeDecodeError are ValueErrors
        raise _explain(raw, columns, path, reason=str(error)) from None
    if len(table) == 0:
        raise DataError("has a header but no rows", path=path, fix=GET_FILES)
    # The parser pads short rows (which then fail above) but can drop the values of long ones: count the commas.
    if raw.count(b",") != (len(columns) - 1) * (len(table) + 1):
        raise _explain(raw, columns, path, reason="some rows have too many values")
    if columns[0] == "label" and table[:, 0].max() >= NUM_CLASSES:
        raise _explain(raw, columns, path, reason="a label is above 9")
    return table


def _explain(raw: bytes, columns: tuple[str, ...], path: Path, reason: str) -> DataError:
    """The ``DataError`` for a file the fast parse refused, naming the first bad row and column."""
    body = raw[raw.find(b"\n") + 1 :] if b"\n" in raw else b""
    limits = [NUM_CLASSES - 1 if name == "label" else 255 for name in columns]
    problem = find_first_problem(body, columns, limits)
    if problem is None:
        return DataError(f"cannot be read as a CSV of whole numbers ({reason})", path=path, fix=ROW_RULES)
    row, line, column, message = problem
    return DataError(message, path=path, row=row, line=line, column=column, fix=ROW_RULES)
