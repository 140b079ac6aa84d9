"""Kaggle's CSV files: the real sample reads as pandas reads it, and every kind of bad input gets one DataError."""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist.data import (
    DataError,
    csv_scan,
    load_kaggle_csv,
    load_kaggle_test,
    load_kaggle_train,
    write_kaggle_submission,
)
from tinygrad_mnist.data.kaggle import PIXEL_COLUMNS, TRAIN_COLUMNS

pytestmark = pytest.mark.filterwarnings("error")  # bad input gets a DataError, not warnings as well

TRAIN_HEADER = ",".join(TRAIN_COLUMNS)
TEST_HEADER = ",".join(PIXEL_COLUMNS)


def table(rows: int, seed: int = 0, labelled: bool = True) -> np.ndarray:
    """A small valid table: a label column (if labelled) and 784 pixels."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(rows, 784))
    return np.column_stack((rng.integers(0, 10, size=rows), pixels)) if labelled else pixels


def csv_text(values: np.ndarray | list[list[str]], header: str = TRAIN_HEADER) -> str:
    return "".join(f"{line}\n" for line in [header, *(",".join(str(v) for v in row) for row in values)])


def write(path: Path, text: str | bytes, compress: bool = False) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# ---------------------------------------------------------------- the real sample


def test_train_sample_reads_exactly_as_pandas_reads_it(mnist_dir: Path) -> None:
    images, labels = load_kaggle_train(mnist_dir / "train.csv.gz")
    reference = pd.read_csv(mnist_dir / "train.csv.gz").to_numpy()
    assert images.shape == (8000, 784) and images.dtype == np.uint8 and images.flags.c_contiguous
    assert labels.shape == (8000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, reference[:, 1:])
    np.testing.assert_array_equal(labels, reference[:, 0])


def test_test_sample_reads_exactly_as_pandas_reads_it(mnist_dir: Path) -> None:
    images = load_kaggle_test(mnist_dir / "test.csv.gz")
    assert images.shape == (2000, 784) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, pd.read_csv(mnist_dir / "test.csv.gz").to_numpy())


def test_a_bad_value_deep_in_the_real_file_is_named_by_row_and_column(mnist_dir: Path, tmp_path: Path) -> None:
    lines = gzip.decompress((mnist_dir / "train.csv.gz").read_bytes()).decode().splitlines()
    fields = lines[7999].split(",")
    fields[301] = "x"
    lines[7999] = ",".join(fields)
    path = write(tmp_path / "train.csv", "\n".join(lines) + "\n")  # ~15 MB: several scan blocks
    with pytest.raises(DataError) as caught:
        load_kaggle_train(path)
    assert (caught.value.row, caught.value.line, caught.value.column) == (7999, 8000, "pixel300")


# ---------------------------------------------------------------- layouts


@pytest.mark.parametrize("compress", [False, True])
def test_plain_and_gzip_files_read_the_same_whatever_their_name(tmp_path: Path, compress: bool) -> None:
    values = table(5)
    path = write(tmp_path / "train.csv", csv_text(values), compress=compress)  # gzip detected by content
    images, labels = load_kaggle_train(path)
    np.testing.assert_array_equal(images, values[:, 1:])
    np.testing.assert_array_equal(labels, values[:, 0])


def test_either_layout_reads_with_labels_only_for_train(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", csv_text(table(3)))
    test = write(tmp_path / "test.csv", csv_text(table(4, labelled=False), header=TEST_HEADER))
    assert load_kaggle_csv(train)[1] is not None
    images, labels = load_kaggle_csv(test)
    assert images.shape == (4, 784) and labels is None


def test_windows_line_endings_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    values = table(3)
    text = csv_text(values).replace("\n", "\r\n") + "\r\n\r\n"
    images, labels = load_kaggle_train(write(tmp_path / "train.csv", text))
    np.testing.assert_array_equal(images, values[:, 1:])
    np.testing.assert_array_equal(labels, values[:, 0])


# ---------------------------------------------------------------- bad input: one clear DataError each


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train\.csv: no such file\. .*kaggle\.com/c/digit-recognizer"):
        load_kaggle_train(tmp_path / "train.csv")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder, not a file"):
        load_kaggle_train(tmp_path)


@pytest.mark.parametrize("compress", [False, True])
def test_empty_file(tmp_path: Path, compress: bool) -> None:
    with pytest.raises(DataError, match="is empty"):
        load_kaggle_train(write(tmp_path / "train.csv", b"", compress=compress))


def test_header_without_rows(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has a header but no rows"):
        load_kaggle_train(write(tmp_path / "train.csv", TRAIN_HEADER + "\n\n"))


def test_missing_header(tmp_path: Path) -> None:
    text = "".join(",".join(map(str, row)) + "\n" for row in table(2))
    with pytest.raises(DataError, match="line 1: line 1 is a row of numbers, not the header") as caught:
        load_kaggle_train(write(tmp_path / "train.csv", text))
    assert caught.value.line == 1


def test_header_with_the_wrong_number_of_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the header has 786 columns, expected 785"):
        load_kaggle_train(write(tmp_path / "train.csv", csv_text(table(1), header=TRAIN_HEADER + ",extra")))


def test_header_with_a_wrong_name(tmp_path: Path) -> None:
    header = TRAIN_HEADER.replace("pixel1,", "pixel_1,")
    with pytest.raises(DataError, match="header column 3 is 'pixel_1', expected 'pixel1'"):
        load_kaggle_train(write(tmp_path / "train.csv", csv_text(table(1), header=header)))


def test_train_loader_refuses_test_csv_and_test_loader_refuses_train_csv(tmp_path: Path) -> None:
    test = write(tmp_path / "test.csv", csv_text(table(2, labelled=False), header=TEST_HEADER))
    train = write(tmp_path / "train.csv", csv_text(table(2)))
    with pytest.raises(DataError, match=r"has no 'label' column: it looks like Kaggle's test\.csv"):
        load_kaggle_train(test)
    with pytest.raises(DataError, match=r"has a 'label' column: it looks like Kaggle's train\.csv"):
        load_kaggle_test(train)


def with_cell(row: int, column: int, value: str, rows: int = 3) -> list[list[str]]:
    values = [[str(v) for v in line] for line in table(rows)]
    values[row][column] = value
    return values


@pytest.mark.parametrize(
    ("value", "column", "message"),
    [
        ("abc", 6, "'abc' is not a whole number from 0 to 255"),
        ("", 6, "the value is missing"),
        ("256", 6, "'256' is outside 0..255"),
        ("-1", 6, "'-1' is not a whole number from 0 to 255"),
        ("0.5", 6, "'0.5' is not a whole number from 0 to 255"),
        ("99999999999999999999999", 6, "is outside 0..255"),
        ("1e19", 6, "'1e19' is not a whole number from 0 to 255"),
        ("inf", 6, "'inf' is not a whole number from 0 to 255"),
        ("10", 0, "'10' is outside 0..9"),
        ("-1", 0, "'-1' is not a whole number from 0 to 9"),
        ("nan", 0, "'nan' is not a whole number from 0 to 9"),
    ],
)
def test_bad_value_is_named_by_file_row_and_column(tmp_path: Path, value: str, column: int, message: str) -> None:
    path = write(tmp_path / "train.csv", csv_text(with_cell(1, column, value)))
    with pytest.raises(DataError) as caught:
        load_kaggle_train(path)
    error = caught.value
    assert (error.path, error.row, error.line, error.column) == (path, 2, 3, TRAIN_COLUMNS[column])
    assert message in str(error)
    assert str(error).startswith(f"{path}, row 2 (line 3), column {TRAIN_COLUMNS[column]!r}: ")


@pytest.mark.parametrize("count", [1, 784, 786, 900])
def test_row_with_the_wrong_number_of_values(tmp_path: Path, count: int) -> None:
    values = [[str(v) for v in line] for line in table(3)]
    values[2] = (values[2] + ["7"] * count)[:count]
    with pytest.raises(DataError, match=rf"row 3 \(line 4\): has {count} values, expected 785") as caught:
        load_kaggle_train(write(tmp_path / "train.csv", csv_text(values)))
    assert caught.value.column is None


def test_rows_all_one_value_too_long_are_not_silently_shifted(tmp_path: Path) -> None:
    values = [[*map(str, line), "0"] for line in table(2)]
    with pytest.raises(DataError, match=r"row 1 \(line 2\): has 786 values"):
        load_kaggle_train(write(tmp_path / "train.csv", csv_text(values)))


def test_row_numbers_skip_blank_lines_but_line_numbers_count_them(tmp_path: Path) -> None:
    text = csv_text(with_cell(1, 9, "x")).replace(TRAIN_HEADER + "\n", TRAIN_HEADER + "\n\n   \n")
    with pytest.raises(DataError) as caught:
        load_kaggle_train(write(tmp_path / "train.csv", text))
    assert (caught.value.row, caught.value.line) == (2, 5)


@pytest.mark.parametrize("keep", [0.2, 0.6, 0.99])
def test_truncated_gzip(tmp_path: Path, keep: float) -> None:
    packed = gzip.compress(csv_text(table(20)).encode())
    path = write(tmp_path / "train.csv.gz", packed[: int(len(packed) * keep)])
    with pytest.raises(DataError, match="is a truncated or corrupt gzip file"):
        load_kaggle_train(path)


# ---------------------------------------------------------------- properties: only DataError, at the right place


def assert_valid_result(result: tuple[np.ndarray, np.ndarray | None]) -> None:
    images, labels = result
    assert images.dtype == np.uint8 and images.ndim == 2 and images.shape[1] == 784
    assert labels is None or (labels.shape == (len(images),) and labels.min() >= 0 and labels.max() <= 9)


@given(st.binary(max_size=4000))
def test_random_bytes_raise_only_data_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = write(tmp_path_factory.mktemp("random") / "train.csv", data)
    with contextlib.suppress(DataError):
        assert_valid_result(load_kaggle_csv(path))


BODY_BYTES = st.sampled_from([b"0", b"7", b"255", b"256", b"9", b",", b",", b"\n", b"\r", b" ", b"-", b"x", b"\xff"])


@given(st.lists(BODY_BYTES, max_size=3000), st.booleans())
def test_random_rows_under_a_valid_header_raise_only_data_error(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[bytes], labelled: bool
) -> None:
    header = (TRAIN_HEADER if labelled else TEST_HEADER).encode() + b"\n"
    path = write(tmp_path_factory.mktemp("rows") / "train.csv", header + b"".join(pieces))
    with contextlib.suppress(DataError):
        assert_valid_result(load_kaggle_csv(path))


BAD_PIXELS = st.sampled_from(
    ["", "x", "-3", "256", "1000", "2.5", "1e9", "1e19", "inf", '"7"', " 3 4", "\t", "0x1", "\x00"]
)
BAD_LABELS = st.sampled_from(["", "a", "10", "-1", "99", "3.5", "٣"])


@pytest.mark.parametrize("block_bytes", [64, csv_scan.BLOCK_BYTES])
@given(data=st.data())
def test_one_bad_value_anywhere_is_named_exactly(
    tmp_path_factory: pytest.TempPathFactory, block_bytes: int, data: st.DataObject
) -> None:
    rows = data.draw(st.integers(1, 4), label="rows")
    row = data.draw(st.integers(0, rows - 1), label="row")
    column = data.draw(st.integers(0, 784), label="column")
    value = data.draw(BAD_LABELS if column == 0 else BAD_PIXELS, label="value")
    path = write(tmp_path_factory.mktemp("bad") / "train.csv", csv_text(with_cell(row, column, value, rows)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_scan, "BLOCK_BYTES", block_bytes)
        with pytest.raises(DataError) as caught:
            load_kaggle_train(path)
    assert (caught.value.row, caught.value.line, caught.value.column) == (row + 1, row + 2, TRAIN_COLUMNS[column])


MUTATIONS = st.sampled_from(["none", "none", "value", "short", "long", "blank line before"])


@given(data=st.data())
def test_the_first_bad_row_is_named_whatever_else_is_wrong(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    rows = data.draw(st.integers(1, 5), label="rows")
    values = table(rows, seed=data.draw(st.integers(0, 2**16), label="seed"))
    lines, first_bad = [TRAIN_HEADER], None
    for number, row in enumerate(([str(v) for v in line] for line in values), start=1):
        mutation = data.draw(MUTATIONS, label=f"row {number}")
        if mutation == "blank line before":
            lines.append(data.draw(st.sampled_from(["", "  ", "\t"]), label="blank"))
        elif mutation == "value":
            column = data.draw(st.integers(0, 784), label="column")
            row[column] = data.draw(BAD_LABELS if column == 0 else BAD_PIXELS, label="value")
        elif mutation == "short":
            row = row[: data.draw(st.integers(1, 784), label="length")]
        elif mutation == "long":
            row += ["1"] * data.draw(st.integers(1, 3), label="extra")
        if mutation in ("value", "short", "long") and first_bad is None:
            first_bad = (number, len(lines) + 1)
        lines.append(",".join(row))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]), label="newline")
    path = write(tmp_path_factory.mktemp("mixed") / "train.csv", newline.join(lines) + newline)
    if first_bad is None:
        images, labels = load_kaggle_train(path)
        np.testing.assert_array_equal(images, values[:, 1:])
        np.testing.assert_array_equal(labels, values[:, 0])
    else:
        with pytest.raises(DataError) as caught:
            load_kaggle_train(path)
        assert (caught.value.row, caught.value.line) == first_bad


@given(data=st.data())
def test_truncated_files_fail_or_keep_every_complete_row(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    values = table(3)
    text = csv_text(values).encode()
    compress = data.draw(st.booleans(), label="gzip")
    whole = gzip.compress(text) if compress else text
    cut = data.draw(st.integers(0, len(whole) - 1), label="cut")
    path = write(tmp_path_factory.mktemp("cut") / "train.csv", whole[:cut])
    try:
        images, labels = load_kaggle_train(path)
    except DataError:
        return
    assert not compress, "a truncated gzip file must never load"
    complete_rows = text[:cut].count(b"\n") - 1
    assert len(images) in (complete_rows, complete_rows + 1)  # the cut may leave a last row that happens to parse
    np.testing.assert_array_equal(images[:complete_rows], values[:complete_rows, 1:])
    np.testing.assert_array_equal(labels[:complete_rows], values[:complete_rows, 0])


# ---------------------------------------------------------------- submission.csv


def test_submission_is_kaggles_format(tmp_path: Path) -> None:
    predictions = np.array([3, 0, 9, 9, 1])
    path = write_kaggle_submission(predictions, tmp_path / "out" / "submission.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "ImageId,Label"
    frame = pd.read_csv(path)
    np.testing.assert_array_equal(frame["ImageId"], np.arange(1, 6))
    np.testing.assert_array_equal(frame["Label"], predictions)
    assert sorted(p.name for p in path.parent.iterdir()) == ["submission.csv"]


@pytest.mark.parametrize(
    "predictions", [np.array([0.0, 1.0]), np.array([[1, 2]]), np.array([1, 10]), np.array([-1]), np.array([], int)]
)
def test_bad_predictions_leave_the_previous_submission_untouched(tmp_path: Path, predictions: np.ndarray) -> None:
    path = write_kaggle_submission(np.array([4, 2]), tmp_path / "submission.csv")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="predictions must be"):
        write_kaggle_submission(predictions, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]


def test_a_first_row_of_a_million_values_is_refused_before_parsing(tmp_path: Path) -> None:
    import tracemalloc

    path = write(tmp_path / "train.csv", csv_text([["1"] * 1_000_000, *table(3).tolist()]))  # 2 MB in one row
    tracemalloc.start()
    with pytest.raises(DataError, match=r"train\.csv, row 1 \(line 2\): has 1000000 values, expected 785"):
        load_kaggle_train(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20  # pandas made a million columns of it: 370 MB


def test_blank_lines_before_the_first_row_are_skipped_by_the_width_check(tmp_path: Path) -> None:
    rows = table(2)
    path = write(tmp_path / "train.csv", TRAIN_HEADER + "\n\n  \n" + csv_text(rows, header="").lstrip("\n"))
    images, labels = load_kaggle_train(path)
    np.testing.assert_array_equal(labels, rows[:, 0])
    np.testing.assert_array_equal(images, rows[:, 1:])
