"""DataError: the one exception the data layer raises for bad or missing input."""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Input data the library cannot use, explained in one message a user can act on.

    The message names the file and, where it applies, the row and column, says what
    is wrong and what to do. The same facts are kept as attributes so that callers
    (the command line, tests) can point at the spot: ``path``; ``row``, the 1-based
    data row (the header does not count); ``line``, the 1-based line of the file;
    ``column``, the column's header name.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.row, self.line, self.column = row, line, column
        self.problem, self.fix = problem, fix
        super().__init__(self._message())

    def _message(self) -> str:
        where = [] if self.path is None else [str(self.path)]
        if self.row is not None:
            where.append(f"row {self.row}" + ("" if self.line is None else f" (line {self.line})"))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        message = f"{', '.join(where)}: {self.problem}" if where else self.problem
        return message if self.fix is None else f"{message}. {self.fix}"
