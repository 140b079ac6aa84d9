"""Reading data files whole, gunzipping them when they are gzip."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from pathlib import Path

from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"


def first_file(folder: Path, names: Iterable[str]) -> Path | None:
    """The first of ``names`` that is a file in ``folder``, or None."""
    return next((folder / name for name in names if (folder / name).is_file()), None)


def read_bytes(path: str | Path, fix: str) -> bytes:
    """The file's contents, decompressed when they are gzip (whatever its name says).

    Raises ``DataError`` for a missing, unreadable, empty or corrupt file; ``fix`` tells
    the user where a good copy comes from.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path, fix=fix)
    if path.is_dir():
        raise DataError("is a folder, not a file", path=path, fix=fix)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot be read ({error.strerror or error})", path=path, fix=fix) from error
    if raw.startswith(GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"is a truncated or corrupt gzip file ({error})", path=path, fix=fix) from error
    if not raw:
        raise DataError("is empty", path=path, fix=fix)
    return raw
