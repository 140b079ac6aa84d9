"""Downloads from an HTTP server on 127.0.0.1: checked, atomic, cached; never a file that looks valid but is not."""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from test_data_idx import idx_bytes

from tinygrad_mnist.data import DATASETS, DataError, default_cache_dir, download, fetch, load_idx_folder
from tinygrad_mnist.data.download import CACHE_ENV, MIRROR_ENV, RemoteDataset


@dataclass
class Mirror:
    """What the test server serves: files by name, those to cut off half way, and the requests it got."""

    url: str
    files: dict[str, bytes] = field(default_factory=dict)
    cut_off: set[str] = field(default_factory=set)
    requests: Counter[str] = field(default_factory=Counter)


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A threaded HTTP server on 127.0.0.1 (port 0), serving under /mnist/ what the test puts in ``files``."""
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.delenv(MIRROR_ENV, raising=False)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.removeprefix("/mnist/")
            served.requests[name] += 1
            if name not in served.files:
                self.send_error(404)
                return
            body = served.files[name]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if name in served.cut_off else body)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served = Mirror(url=f"http://127.0.0.1:{server.server_address[1]}/mnist/")
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
    thread.join()


def publish(mirror: Mirror, count: int = 3) -> dict[str, str]:
    """Put ``count`` files on the mirror; their SHA-256 by name, as a registry would list them."""
    rng = np.random.default_rng(count)
    mirror.files.update({f"part{i}.gz": rng.bytes(50_000 + i) for i in range(count)})
    return {name: hashlib.sha256(body).hexdigest() for name, body in mirror.files.items()}


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


def test_download_writes_every_file_whole(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror)
    folder = fetch(checksums, tmp_path / "cache", [mirror.url], progress=False)
    for name, body in mirror.files.items():
        assert (folder / name).read_bytes() == body
    assert leftovers(folder) == []


def test_sha_mismatch_leaves_no_file_that_looks_valid(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror)
    mirror.files["part1.gz"] = mirror.files["part1.gz"][:-1] + b"!"
    with pytest.raises(DataError, match=r"part1\.gz: could not be downloaded \(.*SHA-256 .* is not the published") as e:
        fetch(checksums, tmp_path, [mirror.url], progress=False)
    assert not (tmp_path / "part1.gz").exists()
    assert leftovers(tmp_path) == []
    assert MIRROR_ENV in str(e.value)


def test_interrupted_download_leaves_no_file(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror)
    mirror.cut_off.add("part2.gz")
    with pytest.raises(DataError, match=r"part2\.gz: .*the connection ended after 25001 of 50002 bytes"):
        fetch(checksums, tmp_path, [mirror.url], progress=False)
    assert not (tmp_path / "part2.gz").exists()
    assert leftovers(tmp_path) == []


def test_a_cached_valid_file_is_not_downloaded_again(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror)
    fetch(checksums, tmp_path, [mirror.url], progress=False)
    assert set(mirror.requests.values()) == {1}
    fetch(checksums, tmp_path, [mirror.url], progress=False)
    assert set(mirror.requests.values()) == {1}


def test_a_corrupt_cached_file_is_replaced(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror)
    (tmp_path / "part0.gz").write_bytes(b"half a file")
    fetch(checksums, tmp_path, [mirror.url], progress=False)
    assert (tmp_path / "part0.gz").read_bytes() == mirror.files["part0.gz"]
    assert mirror.requests["part0.gz"] == 1


def test_the_next_mirror_is_tried_when_one_fails(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror)
    broken = mirror.url.replace("/mnist/", "/nowhere/")
    fetch(checksums, tmp_path, [broken, mirror.url], progress=False)
    assert all((tmp_path / name).read_bytes() == body for name, body in mirror.files.items())


def test_every_mirror_failing_names_each_failure(mirror: Mirror, tmp_path: Path) -> None:
    checksums = publish(mirror, count=1)
    broken = mirror.url.replace("/mnist/", "/nowhere/")
    unreachable = "http://127.0.0.1:9/mnist/"
    with pytest.raises(DataError) as caught:
        fetch(checksums, tmp_path, [broken, unreachable], progress=False, timeout=5)
    message = str(caught.value)
    assert f"{broken}part0.gz: HTTPError: HTTP Error 404" in message
    assert f"{unreachable}part0.gz: URLError" in message


@pytest.mark.parametrize("by", ["argument", "environment"])
def test_download_by_name_from_an_overridden_mirror_gives_a_readable_folder(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    images, labels = np.zeros((3, 28, 28), np.uint8), np.array([4, 0, 9], np.uint8)
    for prefix in ("train", "t10k"):
        mirror.files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(images))
        mirror.files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(labels))
    checksums = {name: hashlib.sha256(body).hexdigest() for name, body in mirror.files.items()}
    monkeypatch.setitem(DATASETS, "fashion-mnist", RemoteDataset(("http://unused.invalid/",), checksums))
    if by == "environment":
        monkeypatch.setenv(MIRROR_ENV, mirror.url)
    folder = download("fashion-mnist", tmp_path, mirror=mirror.url if by == "argument" else None, progress=False)
    assert folder == tmp_path / "fashion-mnist"
    read_images, read_labels = load_idx_folder(folder, "test")
    assert read_images.shape == (3, 784) and list(read_labels) == [4, 0, 9]
    assert sum(mirror.requests.values()) == 4


def test_the_registry_lists_the_four_official_files_with_sha256_checksums() -> None:
    names = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"}
    names.add("t10k-labels-idx1-ubyte.gz")
    for dataset in DATASETS.values():
        assert set(dataset.sha256) == names
        assert all(re.fullmatch(r"[0-9a-f]{64}", sha) for sha in dataset.sha256.values())
        assert dataset.mirrors and all(re.fullmatch(r"https?://[\w.-]+/([\w.-]+/)*", url) for url in dataset.mirrors)
    assert len({sha for dataset in DATASETS.values() for sha in dataset.sha256.values()}) == 8


def test_unknown_dataset_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'emnist'; choose one of mnist, fashion-mnist"):
        download("emnist", tmp_path)


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "tinygrad_mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "tinygrad_mnist"
