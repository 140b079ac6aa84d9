"""Where the data comes from: --data, else $TINYGRAD_MNIST_DATA, else data/train.csv, else MNIST from the cache."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_data_idx import idx_bytes

from tinygrad_mnist.data import DATASETS, DataError, DataSource, find_data
from tinygrad_mnist.data.download import RemoteDataset
from tinygrad_mnist.data.source import DATA_ENV


def kaggle_folder(folder: Path, mnist_dir: Path, with_test: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(mnist_dir / "train.csv.gz", folder / "train.csv.gz")
    if with_test:
        shutil.copy(mnist_dir / "test.csv.gz", folder / "test.csv.gz")
    return folder


def idx_folder(folder: Path, count: int = 4) -> dict[str, str]:
    """Tiny MNIST-named IDX files for both splits; their SHA-256 by name."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"images-idx3-ubyte": np.zeros((count, 28, 28), np.uint8), "labels-idx1-ubyte": np.arange(count) % 10}
    checksums = {}
    for prefix in ("train", "t10k"):
        for kind, array in arrays.items():
            body = gzip.compress(idx_bytes(array.astype(np.uint8)))
            (folder / f"{prefix}-{kind}.gz").write_bytes(body)
            checksums[f"{prefix}-{kind}.gz"] = hashlib.sha256(body).hexdigest()
    return checksums


def test_data_argument_comes_first(mnist_dir: Path, tmp_path: Path) -> None:
    given = kaggle_folder(tmp_path / "given", mnist_dir)
    kaggle_folder(tmp_path / "here" / "data", mnist_dir)
    source = find_data(given / "train.csv.gz", cwd=tmp_path / "here", environ={DATA_ENV: str(tmp_path / "nowhere")})
    assert source == DataSource("kaggle", given / "train.csv.gz", given / "test.csv.gz", "the path given")
    assert str(source) == f"kaggle data: {given / 'train.csv.gz'} and {given / 'test.csv.gz'} (the path given)"


def test_environment_variable_comes_next(mnist_dir: Path, tmp_path: Path) -> None:
    from_env = kaggle_folder(tmp_path / "env", mnist_dir)
    kaggle_folder(tmp_path / "here" / "data", mnist_dir)
    source = find_data(cwd=tmp_path / "here", environ={DATA_ENV: str(from_env)})
    assert (source.layout, source.train, source.reason) == ("kaggle", from_env / "train.csv.gz", f"from ${DATA_ENV}")


def test_data_folder_under_the_current_folder_comes_next(mnist_dir: Path, tmp_path: Path) -> None:
    kaggle_folder(tmp_path / "data", mnist_dir, with_test=False)
    source = find_data(cwd=tmp_path, environ={})
    assert (source.train, source.test) == (tmp_path / "data" / "train.csv.gz", None)
    assert source.reason == f"found data/train.csv.gz in {tmp_path}"
    with pytest.raises(DataError, match=r"has no test\.csv beside it"):
        source.load_test()


def test_otherwise_mnist_comes_from_the_cache_and_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checksums = idx_folder(tmp_path / "cache" / "mnist")  # already cached, so nothing is fetched
    monkeypatch.setitem(DATASETS, "mnist", RemoteDataset(("http://unused.invalid/",), checksums))
    source = find_data(cwd=tmp_path, environ={}, cache_dir=tmp_path / "cache", progress=False)
    assert (source.layout, source.train) == ("idx", tmp_path / "cache" / "mnist")
    assert "MNIST was downloaded into" in source.reason and str(tmp_path / "cache" / "mnist") in source.reason
    images, labels = source.load_train()
    assert images.shape == (4, 784) and list(labels) == [0, 1, 2, 3]


def test_an_idx_folder_can_be_given(tmp_path: Path) -> None:
    idx_folder(tmp_path / "mnist")
    source = find_data(tmp_path / "mnist", environ={})
    assert (source.layout, source.train, source.test) == ("idx", tmp_path / "mnist", tmp_path / "mnist")
    images, labels = source.load_test()
    assert images.shape == (4, 784) and labels is not None and labels.shape == (4,)


def test_an_idx_file_stands_for_its_folder(tmp_path: Path) -> None:
    idx_folder(tmp_path / "mnist")
    source = find_data(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", environ={})
    assert (source.layout, source.train) == ("idx", tmp_path / "mnist")


def test_a_kaggle_folder_loads_train_with_labels_and_test_without(mnist_dir: Path, tmp_path: Path) -> None:
    source = find_data(kaggle_folder(tmp_path / "kaggle", mnist_dir), environ={})
    images, labels = source.load_train()
    assert images.shape == (8000, 784) and labels.shape == (8000,)
    test_images, test_labels = source.load_test()
    assert test_images.shape == (2000, 784) and test_labels is None


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"{tmp_path / 'gone'}: no such file or folder \(from \${DATA_ENV}\)"):
        find_data(environ={DATA_ENV: str(tmp_path / "gone")})


def test_a_folder_without_training_data(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no training data \(the path given\)\. Pass a folder with"):
        find_data(tmp_path, environ={})


def test_the_sample_beside_the_checkout_is_found_as_make_demo_finds_it(mnist_dir: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "mnist").symlink_to(mnist_dir)
    source = find_data(cwd=checkout, environ={}, cache_dir=tmp_path / "cache")
    assert source.train == checkout / ".." / "shared" / "data" / "mnist" / "train.csv.gz"
    assert "as make demo finds it" in source.reason


def test_a_failed_download_says_how_to_pass_the_data_instead(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"or pass the data yourself: data=PATH \(--data PATH\)"):
        find_data(cwd=tmp_path, environ={}, cache_dir=tmp_path / "cache", mirror="http://127.0.0.1:1/", progress=False)


def test_data_files_lists_what_find_data_may_read_without_reading_it(tmp_path: Path) -> None:
    from tinygrad_mnist.data import data_files

    train = tmp_path / "kaggle" / "train.csv"
    train.parent.mkdir()
    train.write_text("")
    assert data_files(train)[:2] == [train, tmp_path / "kaggle" / "test.csv"]
    assert tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz" in data_files(tmp_path / "mnist")
    assert tmp_path / "here" / "data" / "train.csv" in data_files(cwd=tmp_path / "here", environ={})
    assert not (tmp_path / "here").exists()
