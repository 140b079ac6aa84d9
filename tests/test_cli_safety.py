"""The command line a user can trust (issue 18): no input overwritten, every file-system error and bad
file as one line naming it, no silently wrong result, and runs saved as they go and resumable.

Each test is one case of the issue; the data is a few hundred real digits, so each runs in about a second.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tinygrad_mnist import nn
from tinygrad_mnist.checkpoint import load_checkpoint, save_checkpoint
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
    fails(argv, capsys, f"is a folder; give a file path, e.g. {tmp_path / 'submission.csv'}")


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


# ----- 3. runs saved as they go, and resumable bit for bit --------------------------------------


def interrupt_at_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Press Ctrl-C (a real SIGINT to this process) during optimizer step number ``step`` (1-based)."""
    from tinygrad_mnist.optim import Adam

    real_step, calls = Adam.step, []

    def step_then_interrupt(self):
        real_step(self)
        calls.append(1)
        if len(calls) == step:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Adam, "step", step_then_interrupt)


def weights_and_state(folder: Path) -> dict[str, bytes]:
    return {name: array.tobytes() for name, array in load_file(folder / "model.safetensors").items()}


def history_without_time(folder: Path) -> dict[str, list]:
    history = json.loads((folder / "history.json").read_text())
    assert len(history.pop("seconds")) == len(history["epoch"])
    return history


@pytest.mark.parametrize("stop_at", [6, 4])  # inside epoch 2 (4 steps an epoch), and at the end of epoch 1
def test_ctrl_c_saves_the_step_and_resume_ends_exactly_as_an_uninterrupted_run(
    tiny, run, tmp_path, capsys, monkeypatch, stop_at
):
    out = tmp_path / "interrupted"
    interrupt_at_step(monkeypatch, stop_at)
    assert main(["train", "--data", str(tiny / "train.csv"), "--epochs", "2", *FAST, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"saved the run after step {stop_at}" in err and f"tinygrad-mnist train --resume {out}" in err
    manifest = json.loads((out / "run.json").read_text())
    assert (manifest["step"], manifest["finished"]) == (stop_at, False)
    monkeypatch.undo()
    (out / ".model.safetensors.0badf00d.part").write_bytes(b"left by a kill")
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert weights_and_state(out) == weights_and_state(run)  # weights and Adam's moments, bit for bit
    assert history_without_time(out) == history_without_time(run)
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))


def test_the_manifest_names_one_generation_by_sha256(run):
    from tinygrad_mnist.data import sha256_of

    manifest = json.loads((run / "run.json").read_text())
    assert manifest["finished"] and manifest["epoch"] == manifest["epochs"] == 2
    assert set(manifest["files"]) == {"model.safetensors", "history.json", "cost.png", "accuracy.png"}
    for name, digest in manifest["files"].items():
        assert sha256_of(run / name) == digest, name


def run_until_saved(argv: list[str], folder: Path) -> subprocess.Popen:
    """Start the command line in a process of its own and wait until the run's first save is on disk."""
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_mnist.cli", *argv], stderr=subprocess.PIPE, text=True)
    while not (folder / "run.json").exists():
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL])
def test_a_real_process_interrupted_or_killed_resumes_to_the_same_weights(tiny, tmp_path, signal_number):
    argv = ["--data", str(tiny / "train.csv"), *FAST, "--no-plots"]
    endless = ["train", *argv, "--epochs", "100000", "--save-every", "1", "--out", str(tmp_path / "a")]
    process = run_until_saved(endless, tmp_path / "a")
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=120)
    if signal_number == signal.SIGINT:
        assert process.returncode == 130 and "Continue it with: tinygrad-mnist train --resume" in err
    saved = load_checkpoint(tmp_path / "a" / "model.safetensors")  # a kill may land between two writes
    epochs = str(saved.epoch + 2)
    assert main(["train", "--resume", str(tmp_path / "a"), "--epochs", epochs, "--quiet"]) == 0
    assert main(["train", *argv, "--epochs", epochs, "--out", str(tmp_path / "b")]) == 0
    assert weights_and_state(tmp_path / "a") == weights_and_state(tmp_path / "b")


def test_resume_keeps_the_recipe_and_refuses_to_change_it(run, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--resume", str(run), "--lr", "0.1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: tinygrad-mnist train" in err and "--lr cannot change" in err
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(run)])
    assert "has finished its 2 epochs; give --epochs N" in capsys.readouterr().err


def test_resume_can_extend_a_finished_run(tiny, run, tmp_path, capsys):
    longer = tmp_path / "longer"
    shutil.copytree(run, longer)
    assert main(["train", "--resume", str(longer), "--epochs", "3", "--quiet"]) == 0
    assert json.loads((longer / "history.json").read_text())["epoch"] == [1, 2, 3]


def test_resume_refuses_other_data(tiny, run, tmp_path, capsys):
    images, labels = load_kaggle_train(tiny / "train.csv")
    other = write_csv(tmp_path / "train.csv", np.column_stack((labels, 255 - images)), TRAIN_COLUMNS)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    fails(["train", "--resume", str(copy), "--epochs", "3", "--data", str(other)], capsys,
          "is not the data this run trained on", "pass that data with --data")  # fmt: skip


# ----- 4. no silently wrong results -----------------------------------------------------------------


def test_a_checkpoint_with_one_nan_weight_is_refused(tiny, run, tmp_path, capsys):
    tensors = load_file(run / "model.safetensors")
    tensors["0.weight"][3, 5] = np.nan
    metadata = header_metadata(run / "model.safetensors")
    del metadata["sha256"]  # a file written that way, not a damaged one
    save_file(tensors, tmp_path / "nan.safetensors", metadata=metadata)
    out = tmp_path / "s.csv"
    argv = ["predict", "--checkpoint", str(tmp_path / "nan.safetensors"), "--data", str(tiny), "--out", str(out)]
    fails(argv, capsys, "weight 0.weight holds NaN or infinite values")
    assert not out.exists()


def test_finite_weights_whose_outputs_overflow_are_refused(tiny, run, tmp_path, capsys):
    tensors = load_file(run / "model.safetensors")
    tensors["0.weight"][:] = np.float32(3e38)  # finite, but the hidden units overflow to inf, the logits to NaN
    metadata = header_metadata(run / "model.safetensors")
    del metadata["sha256"]
    huge = tmp_path / "huge.safetensors"
    save_file(tensors, huge, metadata=metadata)
    argv = ["predict", "--checkpoint", str(huge), "--data", str(tiny), "--out", str(tmp_path / "s.csv")]
    fails(argv, capsys, "the model's outputs are not finite for", "of 60 rows")


def test_predict_refuses_a_labelled_file_as_test(tiny, run, tmp_path, capsys):
    argv = ["predict", "--checkpoint", str(run), "--test", str(tiny / "train.csv"), "--out", str(tmp_path / "s.csv")]
    fails(argv, capsys, "train.csv", "has a 'label' column")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--lr", "1e6"], "over 1000 times its start"),  # was: loss 1.9e14, exit 0 and a checkpoint
        (["--lr", "1", "--scale", "none"], "the network learned nothing"),  # was: a dead network at 9.8%, exit 0
    ],
)
def test_a_diverging_or_dead_run_stops_with_the_flag_to_change(tiny, tmp_path, capsys, options, expected):
    argv = ["train", "--data", str(tiny / "train.csv"), "--epochs", "5", *FAST, "--out", str(tmp_path), *options]
    fails(argv, capsys, "training stopped at step", expected, "Try a lower --lr")


def test_batch_size_full_is_honoured_by_every_recipe(tiny, tmp_path, capsys):
    for recipe, length in [("modern", ["--epochs", "3"]), ("cnn", ["--iterations", "2"])]:
        out = tmp_path / recipe
        layers = ["--layers", "1,2,8,10"] if recipe == "cnn" else ["--layers", "784,16,10"]
        argv = ["train", "--recipe", recipe, "--data", str(tiny / "train.csv"), *length, *layers, "--dev-size",
                "100", "--batch-size", "full", "--no-plots", "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        assert "batch full" in capsys.readouterr().out
        history = json.loads((out / "history.json").read_text())
        assert history["step"] == list(range(int(length[1])))  # one step an epoch: the full batch


def test_the_training_time_printed_is_the_sum_over_every_epoch(tiny, tmp_path, capsys):
    argv = ["train", "--recipe", "notebook", "--data", str(tiny / "train.csv"), "--iterations", "25",
            "--layers", "784,16,10", "--dev-size", "100", "--no-plots", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epoch"] == [10, 20, 25]  # evaluated every 10 iterations and at the end
    assert f"; {sum(history['seconds']):.1f} s training" in capsys.readouterr().out


def test_a_checkpoint_used_on_another_kind_of_data_warns(tiny, run, tmp_path, fashion_dir, capsys):
    from tinygrad_mnist.data import load_idx

    images, labels = load_idx(fashion_dir / "t10k-images-idx3-ubyte.gz", fashion_dir / "t10k-labels-idx1-ubyte.gz")
    write_csv(tmp_path / "train.csv", np.column_stack((labels[:300], images[:300])), TRAIN_COLUMNS)
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(tmp_path / "train.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning: this data is not like the data" in err and "its mean pixel is" in err
    assert "is not the data" in err and "its dev rows are other rows" in err
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(tiny)]) == 0
    assert "warning" not in capsys.readouterr().err  # the very data it learned from: nothing to say
    assert (
        main(["predict", "--checkpoint", str(run), "--data", str(fashion_dir), "--out", str(tmp_path / "s.csv")]) == 0
    )
    captured = capsys.readouterr()
    assert "its mean pixel is" in captured.err and "the test set has labels (not written): accuracy" in captured.out


# ----- 6. friction --------------------------------------------------------------------------------------


def test_help_loads_neither_pandas_nor_matplotlib():
    code = (
        "import sys\nfrom tinygrad_mnist.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n"
        "    pass\nprint(sorted({'pandas', 'matplotlib'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("[]") and "--resume RUN_DIR" in result.stdout
    assert "modern    --arch mlp --layers 784,785,10 --optimizer adam --lr 0.001 --batch-size 128" in result.stdout


def test_predict_writes_beside_the_checkpoint_by_default(tiny, run, capsys):
    assert main(["predict", "--checkpoint", str(run), "--data", str(tiny), "--quiet"]) == 0
    assert (run / "submission.csv").read_text().startswith("ImageId,Label\n1,")
