"""Reading data files whole, gunzipping them when they are gzip, never past a size limit.

The limit keeps a small file from taking all the memory: a 300 KB gzip file can expand
to 300 MB, and ``/dev/zero`` never ends. Kaggle's train.csv is 73 MiB, all 70,000 MNIST
digits as CSV 127 MiB; the default, 256 MiB, takes either, and ``max_bytes`` raises it.
"""

from __future__ import annotations

import gzip
import io
import stat
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
MAX_DATA_BYTES = 256 << 20
CHUNK_BYTES = 1 << 24


def first_file(folder: Path, names: Iterable[str]) -> Path | None:
    """The first of ``names`` that is a file in ``folder``, or None."""
    return next((folder / name for name in names if (folder / name).is_file()), None)


def read_bytes(path: str | Path, fix: str, *, max_bytes: int = MAX_DATA_BYTES) -> bytes:
    """The file's contents, decompressed when they are gzip (whatever its name says).

    Raises ``DataError`` for a missing, unreadable, empty or corrupt file, a device, or
    contents (after decompression) longer than ``max_bytes``; ``fix`` tells the user
    where a good copy comes from.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path, fix=fix)
    if path.is_dir():
        raise DataError("is a folder, not a file", path=path, fix=fix)
    try:
        status = path.stat()
        if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode) or stat.S_ISSOCK(status.st_mode):
            raise DataError("is a device or socket, not a data file", path=path, fix=fix)
        if stat.S_ISREG(status.st_mode) and status.st_size > max_bytes:
            raise DataError(_too_big(max_bytes, "is larger than"), path=path, fix=fix)
        with path.open("rb") as stream:  # a pipe has no size to check first: read it in pieces, to the limit
            raw = stream.read() if stat.S_ISREG(status.st_mode) else _read_at_most(stream, max_bytes + 1)
        if raw.startswith(GZIP_MAGIC):
            raw = _gunzip(raw, path, fix, max_bytes)
    except OSError as error:
        raise DataError(f"cannot be read ({error.strerror or error})", path=path, fix=fix) from error
    if len(raw) > max_bytes:
        raise DataError(_too_big(max_bytes, "is larger than"), path=path, fix=fix)
    if not raw:
        raise DataError("is empty", path=path, fix=fix)
    return raw


def _too_big(max_bytes: int, verb: str) -> str:
    return (
        f"{verb} {max_bytes / 2**20:g} MiB, the limit for one data file; if it really is that big, "
        "raise the limit (--max-data-mb on the command line, max_bytes= in Python)"
    )


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes, read in pieces: ``read(limit)`` would reserve all of ``limit`` at once."""
    chunks, size = [], 0
    while size < limit and (chunk := stream.read(min(CHUNK_BYTES, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _gunzip(compressed: bytes, path: Path, fix: str, max_bytes: int) -> bytes:
    """Decompress, stopping (with a ``DataError``) as soon as the output passes ``max_bytes``.

    A gzip file ends with its (last member's) size. When that passes the limit, the
    output is first only counted, a piece at a time, so that a bomb never sits in memory
    (a truncated file's last bytes are no size, hence counting rather than trusting them).
    """
    claimed = int.from_bytes(compressed[-4:], "little") if len(compressed) >= 18 else 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            if claimed > max_bytes:
                size = 0
                while size <= max_bytes and (chunk := stream.read(1 << 20)):
                    size += len(chunk)
                if size > max_bytes:
                    raise DataError(_too_big(max_bytes, "expands to more than"), path=path, fix=fix)
                stream.seek(0)
            raw = _read_at_most(stream, max_bytes + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"is a truncated or corrupt gzip file ({error})", path=path, fix=fix) from error
    if len(raw) > max_bytes:
        raise DataError(_too_big(max_bytes, "expands to more than"), path=path, fix=fix)
    return raw
