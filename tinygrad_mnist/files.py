"""Writing files safely: atomically (readers see the old file or the whole new one, never
half), with errors that name the file meant, and checks that can run before any work."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

PART_SUFFIX = ".part"


def _reserve(path: Path) -> None:
    """Create ``path`` empty, failing if it exists; permissions follow the umask, as for any new file."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))


def _naming(error: OSError, path: Path, temporary: Path) -> OSError:
    """The error as about ``path`` when it was about the temporary file or about no file at all."""
    if error.errno is None or error.filename not in (None, str(temporary)):
        return error
    return OSError(error.errno, error.strerror or os.strerror(error.errno), str(path))  # same subclass by errno


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    Readers see either the old file or the complete new one, never half of it. If the
    block raises, the temporary file is removed and ``path`` is left as it was. An
    ``OSError`` about the temporary file (a full disk, a read-only folder) names ``path``.
    The new file keeps the old one's permissions, or a new file's (the umask's), even if
    the block's writer made its own (safetensors makes 0600 files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
    try:
        _reserve(temporary)
        mode = (path if path.exists() else temporary).stat().st_mode
    except OSError as error:
        raise _naming(error, path, temporary) from error
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, stat.S_IMODE(mode))
        os.replace(temporary, path)
    except OSError as error:
        raise _naming(error, path, temporary) from error
    finally:
        temporary.unlink(missing_ok=True)


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete the temporary files that writes killed midway left in ``folder``; returns them.

    Only names ``atomic_write`` makes (``.<name>.<8 hex digits>.part``) are touched.
    """
    removed = []
    for candidate in Path(folder).glob(f".*{PART_SUFFIX}"):
        stem = candidate.name[1 : -len(PART_SUFFIX)]
        token = stem.rpartition(".")[2]
        if len(token) == 8 and all(c in "0123456789abcdef" for c in token) and candidate.is_file():
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: equal once resolved (symlinks followed), or hard links to it."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def check_writable(folder: str | Path) -> None:
    """Raise the ``OSError`` that writing into ``folder`` would meet, without creating it.

    The nearest folder that exists must be a folder and must take a new file: a probe
    file is created there and removed. Permissions alone would not tell (root ignores
    them; a read-only mount does not).
    """
    folder = Path(folder).absolute()
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    probe = existing / f".write-test.{secrets.token_hex(4)}{PART_SUFFIX}"
    try:
        _reserve(probe)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(existing)) from error
    probe.unlink()
