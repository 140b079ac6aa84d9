"""Reading files whole (gzip by content) and replacing them atomically."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from tinygrad_mnist.data import DataError, read_bytes
from tinygrad_mnist.files import atomic_write


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    (tmp_path / "plain.gz").write_bytes(b"not compressed")
    (tmp_path / "packed.csv").write_bytes(gzip.compress(b"compressed"))
    assert read_bytes(tmp_path / "plain.gz", fix="") == b"not compressed"
    assert read_bytes(tmp_path / "packed.csv", fix="") == b"compressed"


def test_problems_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"^{tmp_path / 'absent'}: no such file\. Get it from there\.$"):
        read_bytes(tmp_path / "absent", fix="Get it from there.")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked"
    path.write_bytes(b"x")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(DataError, match=r"locked: cannot be read \(Permission denied\)"):
        read_bytes(path, fix="")


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path) as temporary:
        temporary.write_text("half")
        raise RuntimeError
    assert path.read_text() == "old"
    with atomic_write(path) as temporary:
        temporary.write_text("new")
        assert path.read_text() == "old"  # nobody sees the new content before it is complete
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_atomic_write_makes_folders_and_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "file.txt"
    with atomic_write(path) as temporary:
        temporary.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
