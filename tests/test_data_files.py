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

    def refuse(self: Path, *args: object) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
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


def test_a_gzip_bomb_stops_at_the_limit_without_expanding_it_all(tmp_path: Path) -> None:
    import tracemalloc

    bomb = tmp_path / "train.csv.gz"
    bomb.write_bytes(gzip.compress(bytes(64 << 20), 9))  # 64 KB that expand to 64 MiB
    tracemalloc.start()
    with pytest.raises(DataError, match=r"train\.csv\.gz: expands to more than 1 MiB.*--max-data-mb"):
        read_bytes(bomb, fix="", max_bytes=1 << 20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20  # about the limit, not the 64 MiB the file expands to
    assert len(read_bytes(bomb, fix="", max_bytes=64 << 20)) == 64 << 20  # a higher limit takes it
    lying = tmp_path / "lying.gz"  # its trailer says 4 bytes: the limit holds while it expands
    lying.write_bytes(bomb.read_bytes()[:-4] + (4).to_bytes(4, "little"))
    with pytest.raises(DataError, match=r"lying\.gz: expands to more than 1 MiB"):
        read_bytes(lying, fix="", max_bytes=1 << 20)


def test_a_plain_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_bytes(b"x" * 1001)
    with pytest.raises(DataError, match=r"big\.csv: is larger than 0\.000953674 MiB"):
        read_bytes(tmp_path / "big.csv", fix="", max_bytes=1000)
    assert read_bytes(tmp_path / "big.csv", fix="", max_bytes=1001) == b"x" * 1001


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused_before_reading_from_it() -> None:
    with pytest.raises(DataError, match=r"^/dev/zero: is a device or socket, not a data file"):
        read_bytes("/dev/zero", fix="")


def test_a_full_disk_during_an_atomic_write_names_the_file_meant_and_leaves_no_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as error, atomic_write(tmp_path / "model.safetensors") as temporary:
        temporary.write_bytes(b"weights")
    assert (error.value.errno, error.value.filename) == (errno.ENOSPC, str(tmp_path / "model.safetensors"))
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_killed_writes_are_removed_and_nothing_else(tmp_path: Path) -> None:
    from tinygrad_mnist.files import remove_leftovers

    for name in (".model.safetensors.0a1b2c3d.part", ".history.json.deadbeef.part", "mine.part", ".x.notahex!.part"):
        (tmp_path / name).write_text("")
    removed = remove_leftovers(tmp_path)
    assert sorted(path.name for path in removed) == [".history.json.deadbeef.part", ".model.safetensors.0a1b2c3d.part"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [".x.notahex!.part", "mine.part"]


def test_check_writable_probes_the_nearest_existing_folder(tmp_path: Path) -> None:
    from tinygrad_mnist.files import check_writable

    check_writable(tmp_path / "not" / "yet")  # would be created: fine, and not created by the check
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError) as error:
        check_writable(tmp_path / "file" / "run")
    assert error.value.filename == str(tmp_path / "file")


def test_same_file_sees_through_symlinks_and_hard_links(tmp_path: Path) -> None:
    from tinygrad_mnist.files import same_file

    (tmp_path / "a").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    os.link(tmp_path / "a", tmp_path / "hard")
    assert same_file(tmp_path / "a", tmp_path / "link") and same_file(tmp_path / "hard", tmp_path / "a")
    assert same_file(tmp_path / "x" / ".." / "a", tmp_path / "a")
    assert not same_file(tmp_path / "a", tmp_path / "missing")


def test_atomic_write_gives_the_file_its_old_permissions_or_a_new_files(tmp_path: Path) -> None:
    def written(path: Path) -> int:
        with atomic_write(path) as temporary:
            temporary.write_bytes(b"new")
            os.chmod(temporary, 0o600)  # as safetensors' save_file makes its files
        return path.stat().st_mode & 0o777

    umask = os.umask(0o022)
    try:
        assert written(tmp_path / "new") == 0o644
        (tmp_path / "old").write_bytes(b"old")
        os.chmod(tmp_path / "old", 0o640)
        assert written(tmp_path / "old") == 0o640
    finally:
        os.umask(umask)
