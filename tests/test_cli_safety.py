"""The command line a user can trust (issue 18): no input overwritten, every file-system error and bad
file as one line naming it, no silently wrong result, and runs saved as they go and resumable.

Each test is one case of the issue; the data is a few hundred real digits, so each runs in about a second.
"""

from __future__ import annotations

import errno
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tinygrad_mnist import nn
from tinygrad_mnist.checkpoint import save_checkpoint
from tinygrad_mnist.cli import main
from tinygrad_mnist.data import load_kaggle_test, load_kaggle_train
from tinygrad_mnist.data.kaggle import PIXEL_COLUMNS, TRAIN_COLUMNS

FAST = ["--layers", "784,16,10", "--dev-size", "100", "--batch-size", "50", "--quiet"]


def write_csv(path: Path, table: np.ndarray, columns: tuple[str, ...]) -> Path:
    np.savetxt(path, table, fmt="%d", delimiter=",", header=",".join(columns), comments="")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """A Kaggle folder of 300 training and 60 test digits from the sample."""
    folder = tmp_path_factory.mktemp("tiny")
    images, labels = load_kaggle_train(mnist_dir / "train.csv.gz")
    write_csv(folder / "train.csv", np.column_stack((labels[:300], images[:300])), TRAIN_COLUMNS)
    write_csv(folder / "test.csv", load_kaggle_test(mnist_dir / "test.csv.gz")[:60], PIXEL_COLUMNS)
    return folder


@pytest.fixture(scope="module")
def run(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-epoch run on the tiny data."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--data", str(tiny / "train.csv"), "--epochs", "2", *FAST, "--out", str(out)]) == 0
    return out


def fails(argv: list[str], capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    """Run the command line; it must exit 1 with one line (no traceback) holding every ``expected`` text."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line and "warning:" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any data read or checkpoint load fails the test: the refusal must come before any work."""

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr("tinygrad_mnist.cli.find_data", started)
    monkeypatch.setattr("tinygrad_mnist.cli.load_checkpoint", started)
    monkeypatch.setattr("tinygrad_mnist.cli.load_kaggle_csv", started)


# ----- 1. outputs never land on inputs, and are checked before any work ------------------------


def test_predict_refuses_to_write_over_its_test_data(tiny, run, capsys, no_work):
    before = (tiny / "test.csv").read_bytes()
    argv = ["predict", "--checkpoint", str(run), "--test", str(tiny / "test.csv"), "--out", str(tiny / "test.csv")]
    fails(argv, capsys, "--out", "test.csv is the test data", "Choose another --out")
    assert (tiny / "test.csv").read_bytes() == before


@pytest.mark.parametrize("via", ["itself", "a symlink", "the run folder's file by another spelling"])
def test_predict_refuses_to_write_over_the_checkpoint(tiny, run, tmp_path, capsys, no_work, via):
    checkpoint = run / "model.safetensors"
    before = checkpoint.read_bytes()
    out = {"itself": checkpoint, "a symlink": tmp_path / "link.csv", "the run folder's file by another spelling": (
        run / ".." / run.name / "model.safetensors")}[via]  # fmt: skip
    if via == "a symlink":
        out.symlink_to(checkpoint)
    fails(["predict", "--checkpoint", str(run), "--data", str(tiny), "--out", str(out)], capsys, "is the checkpoint")
    assert checkpoint.read_bytes() == before


def test_show_refuses_to_write_a_picture_over_the_training_data(tiny, capsys, no_work):
    before = (tiny / "train.csv").read_bytes()
    train = str(tiny / "train.csv")
    fails(["show", "--data", train, "--out", train], capsys, "train.csv is the data")
    assert (tiny / "train.csv").read_bytes() == before


def test_train_into_an_existing_file_is_refused_before_training(tiny, tmp_path, capsys, no_work):
    (tmp_path / "notes.txt").write_text("mine")
    argv = ["train", "--data", str(tiny / "train.csv"), "--out", str(tmp_path / "notes.txt"), "--quiet"]
    fails(argv, capsys, "notes.txt is a file, and a folder is wanted here")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_evaluate_plots_into_an_existing_file_are_refused(tiny, run, tmp_path, capsys, no_work):
    (tmp_path / "plots").write_text("mine")
    argv = ["evaluate", "--checkpoint", str(run), "--data", str(tiny), "--out", str(tmp_path / "plots")]
    fails(argv, capsys, "plots is a file, and a folder is wanted here")


def test_a_folder_as_a_file_output_is_refused(tiny, run, tmp_path, capsys, no_work):
    argv = ["predict", "--checkpoint", str(run), "--data", str(tiny), "--out", str(tmp_path)]
    fails(argv, capsys, "is a folder; give a file path inside it")


def test_download_root_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "cache").write_text("a file")
    fails(["download", "mnist", "--root", str(tmp_path / "cache"), "--quiet"], capsys, "--root", "cache is a file")


def read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make creating files under ``folder`` fail as on a read-only mount (root ignores chmod)."""
    real_open = os.open

    def guarded(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder)) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def test_a_read_only_folder_is_found_before_any_work(tiny, run, tmp_path, capsys, monkeypatch, no_work):
    read_only(monkeypatch, tmp_path)
    argv = ["predict", "--checkpoint", str(run), "--data", str(tiny), "--out", str(tmp_path / "new" / "sub.csv")]
    message = fails(argv, capsys, str(tmp_path), "Read-only file system", "write somewhere else (--out)")
    assert not message.count(".part")
    argv = ["train", "--data", str(tiny / "train.csv"), "--out", str(tmp_path / "run"), "--quiet"]
    fails(argv, capsys, "Read-only file system")


# ----- 2. every OSError and malformed input as one line ---------------------------------------------


def test_a_full_disk_stops_at_the_first_save_naming_the_file_and_leaving_no_debris(tiny, tmp_path, capsys, monkeypatch):
    saves = []

    def full(fd: int) -> None:
        saves.append(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "run"
    argv = ["train", "--data", str(tiny / "train.csv"), "--epochs", "50", *FAST, "--save-every", "1", "--out", str(out)]
    fails(argv, capsys, f"{out / 'model.safetensors'}: No space left on device", "free some space")
    assert len(saves) == 1  # stopped at the first save, after epoch 1 of 50
    assert list(out.iterdir()) == []  # no half-written file, no .part left


def test_a_checkpoint_saved_without_preprocessing_gets_a_clear_refusal(tiny, tmp_path, capsys):
    bare = save_checkpoint(tmp_path / "bare.safetensors", nn.Sequential(nn.Linear(784, 10)))
    argv = ["predict", "--checkpoint", str(bare), "--data", str(tiny), "--out", str(tmp_path / "s.csv")]
    fails(argv, capsys, "bare.safetensors: its preprocessing does not say how", "preprocessing={'pixel_scaling'")
    assert not (tmp_path / "s.csv").exists()


def test_a_half_precision_checkpoint_is_one_line(tiny, run, tmp_path, capsys):
    tensors = {name: array.astype(np.float16) for name, array in load_file(run / "model.safetensors").items()}
    metadata = header_metadata(run / "model.safetensors")
    save_file(tensors, tmp_path / "half.safetensors", metadata=metadata)
    half = tmp_path / "half.safetensors"
    argv = ["predict", "--checkpoint", str(half), "--data", str(tiny), "--out", str(tmp_path / "s.csv")]
    fails(argv, capsys, "half.safetensors: tensor", "is stored as F16")


def header_metadata(path: Path) -> dict[str, str]:
    raw = path.read_bytes()
    return json.loads(raw[8 : 8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]


def test_crafted_metadata_is_one_line(tiny, run, tmp_path, capsys):
    metadata = {**header_metadata(run / "model.safetensors"), "preprocessing": "[]"}
    save_file(load_file(run / "model.safetensors"), tmp_path / "crafted.safetensors", metadata=metadata)
    argv = ["evaluate", "--checkpoint", str(tmp_path / "crafted.safetensors"), "--data", str(tiny)]
    fails(argv, capsys, "crafted.safetensors: its 'preprocessing' metadata is a list")


def test_an_idx_file_with_no_images_is_named(tmp_path, capsys):
    header = struct.pack(">4B3I", 0, 0, 8, 3, 0, 28, 28)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(struct.pack(">4BI", 0, 0, 8, 1, 0))
    fails(["train", "--data", str(tmp_path), "--quiet", "--out", str(tmp_path / "run")], capsys,
          "train-images-idx3-ubyte: holds 0 images")  # fmt: skip


def test_dev_zero_as_the_test_file_is_one_line(run, tmp_path, capsys):
    argv = ["predict", "--checkpoint", str(run), "--test", "/dev/zero", "--out", str(tmp_path / "s.csv")]
    fails(argv, capsys, "/dev/zero: is a device or socket")


def test_a_run_folder_is_accepted_as_the_checkpoint_and_a_missing_one_says_how_to_make_it(tiny, run, capsys):
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(tiny)]) == 0
    assert "accuracy" in capsys.readouterr().out
    fails(["evaluate", "--checkpoint", str(run / "nothing")], capsys, "no checkpoint at", "tinygrad-mnist train --out")
