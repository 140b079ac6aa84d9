"""Download MNIST or Fashion-MNIST's IDX files into a cache folder, checked against their published SHA-256.

Each file streams into a temporary file beside its final name while its SHA-256 is
computed, and is moved into place only when complete and correct: an interrupted or
corrupted download never leaves a file that looks valid. Files already cached with
the right checksum are not downloaded again. The mirrors are tried in order; a
mirror of your own (any URL folder holding the files) can replace them.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from tqdm import tqdm

from ..files import atomic_write
from .errors import DataError

MIRROR_ENV = "TINYGRAD_MNIST_MIRROR"
CACHE_ENV = "TINYGRAD_MNIST_CACHE"
CHUNK_BYTES = 1 << 16


class RemoteDataset(NamedTuple):
    """Where a dataset's files are published, and the SHA-256 of each file as published."""

    mirrors: tuple[str, ...]
    sha256: Mapping[str, str]


DATASETS: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    ),
    "fashion-mnist": RemoteDataset(
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        sha256={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    ),
}


class _MirrorError(Exception):
    """One mirror failed for one file; the next mirror may still work."""


def default_cache_dir() -> Path:
    """``$TINYGRAD_MNIST_CACHE``, else ``$XDG_CACHE_HOME/tinygrad_mnist``, else ``~/.cache/tinygrad_mnist``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinygrad_mnist"


def download(
    name: str = "mnist",
    root: str | Path | None = None,
    *,
    mirror: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``"mnist"`` or ``"fashion-mnist"`` into ``root/name`` and return that folder.

    ``root`` defaults to ``default_cache_dir()``. ``mirror`` (or ``$TINYGRAD_MNIST_MIRROR``)
    is a base URL to use instead of the official mirrors. ``progress`` shows a bar.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    folder = Path(root if root is not None else default_cache_dir()) / name
    base = mirror or os.environ.get(MIRROR_ENV)
    mirrors = (base,) if base else DATASETS[name].mirrors
    return fetch(DATASETS[name].sha256, folder, mirrors, progress=progress, timeout=timeout)


def fetch(
    files: Mapping[str, str],
    folder: str | Path,
    mirrors: Sequence[str],
    *,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Make ``folder`` hold every file of ``files`` (name -> SHA-256), downloading what is missing or wrong.

    Each file comes from the first of ``mirrors`` (base URLs) that serves it whole
    and correct; if none does, a ``DataError`` says what each mirror did.
    """
    folder = Path(folder)
    for name, sha256 in files.items():
        target = folder / name
        if target.is_file() and sha256_of(target) == sha256:
            continue
        failures = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                _download_file(url, target, sha256, progress, timeout)
                break
            except _MirrorError as failure:
                failures.append(f"{url}: {failure}")
        else:
            fix = f"Check the network, set {MIRROR_ENV} to a URL folder that holds {name}, or copy it into {folder}"
            raise DataError(f"could not be downloaded ({'; '.join(failures)})", path=target, fix=fix)
    return folder


def sha256_of(path: str | Path) -> str:
    """The file's SHA-256, as lowercase hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _download_file(url: str, target: Path, sha256: str, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``target`` atomically, or raise ``_MirrorError`` leaving ``target`` as it was."""
    with atomic_write(target) as temporary:
        digest, received = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, temporary.open("wb") as out:
                length = response.headers.get("Content-Length", "")
                expected = int(length) if length.isdigit() else None
                with tqdm(
                    total=expected, unit="B", unit_scale=True, desc=target.name, disable=not progress, leave=False
                ) as bar:
                    while chunk := response.read(CHUNK_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError and timeouts are OSErrors
            raise _MirrorError(f"{type(error).__name__}: {error}") from error
        if expected is not None and received != expected:
            raise _MirrorError(f"the connection ended after {received} of {expected} bytes")
        if digest.hexdigest() != sha256:
            raise _MirrorError(f"SHA-256 {digest.hexdigest()} is not the published {sha256}")
