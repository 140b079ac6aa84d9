"""Find the first bad row of a CSV of whole numbers, vectorised, to explain why a fast parse failed.

The Kaggle reader parses with pandas' C parser: fast, but on bad input its messages
name no row. This scan works on the raw bytes with NumPy, one block of lines at a
time (memory stays small), and names the first row that breaks the rules: the wrong
number of values, an empty value, a value that is not a whole number, or a number
above its column's limit. Blank lines are skipped, as pandas skips them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

BLOCK_BYTES = 1 << 22
NEWLINE, COMMA, SPACE, TAB, ZERO, NINE = (ord(c) for c in "\n, \t09")
POWERS_OF_TEN = 10.0 ** np.arange(301)


class Problem(NamedTuple):
    """Where the first bad value is and what is wrong with it."""

    row: int  # 1-based among the data rows (blank lines do not count)
    line: int  # 1-based line of the file
    column: str | None  # header name; None when the whole row is wrong
    message: str


def find_first_problem(
    body: bytes, columns: Sequence[str], limits: Sequence[int], first_line: int = 2
) -> Problem | None:
    """The first problem in ``body`` (a CSV's lines after its header), or None if every row is fine.

    Each row must hold ``len(columns)`` values; column ``j`` takes whole numbers from
    0 to ``limits[j]``. ``first_line`` is the file line ``body`` starts on.
    """
    body = body.replace(b"\r\n", b"\n")
    if not body.endswith(b"\n"):
        body += b"\n"
    ceilings = np.asarray(limits, dtype=np.float64)
    line, row = first_line, 1
    for block in _blocks(body):
        problem, lines, rows = _scan_block(block, columns, ceilings)
        if problem is not None:
            return problem._replace(row=row + problem.row, line=line + problem.line)
        line, row = line + lines, row + rows
    return None


def _blocks(body: bytes) -> Iterator[bytes]:
    """Consecutive pieces of about ``BLOCK_BYTES``, each ending at the end of a line."""
    start = 0
    while start < len(body):
        end = len(body) if start + BLOCK_BYTES >= len(body) else body.find(b"\n", start + BLOCK_BYTES) + 1
        yield body[start:end]
        start = end


def _scan_block(block: bytes, columns: Sequence[str], ceilings: np.ndarray) -> tuple[Problem | None, int, int]:
    """The block's first problem (row and line counted from 0 within it), its line count and its row count."""
    buf = np.frombuffer(block, dtype=np.uint8)
    newline = buf == NEWLINE
    separator = newline | (buf == COMMA)
    digit = (buf >= ZERO) & (buf <= NINE)
    visible = ~(newline | (buf == SPACE) | (buf == TAB))
    # At a byte that is not a separator, the number of separators before it is the index of its value.
    separators_so_far = np.cumsum(separator)

    line_ends = np.flatnonzero(newline)
    values_per_line = np.diff(separators_so_far[line_ends], prepend=0)
    blank = np.diff(np.cumsum(visible)[line_ends], prepend=0) == 0
    row_of_line = np.cumsum(~blank) - 1
    wrong_count = ~blank & (values_per_line != len(columns))

    # Every value ends at a comma or a newline; only lines of the right length are checked value by value.
    ends = np.flatnonzero(separator)
    starts = np.concatenate(([0], ends[:-1] + 1))
    value_line = np.repeat(np.arange(len(line_ends)), values_per_line)
    value_column = np.arange(len(ends)) - (np.cumsum(values_per_line) - values_per_line)[value_line]
    checked = ~(blank | wrong_count)[value_line]

    empty = ends == starts
    not_digits = np.zeros(len(ends), dtype=bool)
    not_digits[separators_so_far[~(digit | separator)]] = True
    digit_at = np.flatnonzero(digit)
    owner = separators_so_far[digit_at]
    place = np.minimum(ends[owner] - digit_at - 1, len(POWERS_OF_TEN) - 1)  # past 10**300 all are too big anyway
    number = np.bincount(owner, weights=(buf[digit_at] - ZERO) * POWERS_OF_TEN[place], minlength=len(ends))
    too_big = number > ceilings[np.minimum(value_column, len(ceilings) - 1)]
    bad_value = checked & (empty | not_digits | too_big)

    bad_line = wrong_count.copy()
    bad_line[value_line[bad_value]] = True
    rows = int(np.count_nonzero(~blank))
    if not bad_line.any():
        return None, len(line_ends), rows
    first = int(np.argmax(bad_line))
    if wrong_count[first]:
        message = f"has {values_per_line[first]} values, expected {len(columns)}"
        return Problem(int(row_of_line[first]), first, None, message), len(line_ends), rows
    value = int(np.flatnonzero(bad_value & (value_line == first))[0])
    column = int(value_column[value])
    limit = int(ceilings[column])
    text = block[starts[value] : ends[value]].decode("utf-8", errors="backslashreplace")
    shown = repr(text if len(text) <= 24 else text[:21] + "...")
    if empty[value]:
        message = "the value is missing"
    elif not_digits[value]:
        message = f"{shown} is not a whole number from 0 to {limit}"
    else:
        message = f"{shown} is outside 0..{limit}"
    return Problem(int(row_of_line[first]), first, columns[column], message), len(line_ends), rows
