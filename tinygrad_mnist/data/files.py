"""Files in and out: read a file whole (gunzipping it when it is gzip), and replace one atomically."""

from __future__ import annotations

import contextlib
import gzip
import os
import secrets
import zlib
from collections.abc import Iterator
from pathlib import Path

from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"


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


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    Readers see either the old file or the complete new one, never half of it. If the
    block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    temporary.open("xb").close()  # reserves the name; permissions follow the umask, as for any new file
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
