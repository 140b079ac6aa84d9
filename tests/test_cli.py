"""The command line end to end: train -> checkpoint -> predict -> a valid submission,
and one clear message with the right exit status for every kind of bad input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tinygrad_mnist.cli import main
from tinygrad_mnist.data import load_kaggle_test


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    """One short modern-recipe run on the sample, shared by the tests that need a checkpoint."""
    out = tmp_path_factory.mktemp("run")
    status = main(["train", "--data", str(mnist_dir / "train.csv.gz"), "--epochs", "2", "--out", str(out), "--quiet"])
    assert status == 0
    return out


def test_train_writes_checkpoint_history_and_plots(trained, capsys):
    for name in ("model.safetensors", "history.json", "cost.png", "accuracy.png"):
        assert (trained / name).stat().st_size > 0
    history = json.loads((trained / "history.json").read_text())
    assert history["epoch"] == [1, 2] and len(history["dev_accuracy"]) == 2
    assert history["dev_accuracy"][-1] > 0.85  # two epochs of Adam on 7,000 digits
    assert history["loss"][-1] < history["loss"][0]


def test_predict_writes_a_kaggle_submission(trained, mnist_dir, tmp_path):
    out = tmp_path / "submission.csv"
    assert main(["predict", "--checkpoint", str(trained / "model.safetensors"), "--data",
                 str(mnist_dir / "train.csv.gz"), "--out", str(out), "--quiet"]) == 0  # fmt: skip
    submission = pd.read_csv(out)
    assert list(submission.columns) == ["ImageId", "Label"]
    assert len(submission) == len(load_kaggle_test(mnist_dir / "test.csv.gz")) == 2000
    np.testing.assert_array_equal(submission["ImageId"], np.arange(1, 2001))
    assert submission["Label"].between(0, 9).all() and submission["Label"].nunique() == 10


def test_evaluate_reports_accuracy_per_class_and_confusion(trained, mnist_dir, tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(trained / "model.safetensors"), "--data",
                 str(mnist_dir / "train.csv.gz"), "--out", str(tmp_path)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    history = json.loads((trained / "history.json").read_text())
    assert f"accuracy {history['dev_accuracy'][-1]:.2%} on 1000 dev rows" in printed  # the same dev rows
    assert "per class: 0:" in printed and "confusion matrix" in printed
    assert (tmp_path / "confusion.png").exists() and (tmp_path / "confident_errors.png").exists()


def test_show_and_graph_write_pictures(trained, mnist_dir, tmp_path):
    assert main(["show", "--data", str(mnist_dir), "--checkpoint", str(trained / "model.safetensors"),
                 "--count", "8", "--out", str(tmp_path / "digits.png"), "--quiet"]) == 0  # fmt: skip
    assert main(["graph", "--layers", "784,10,10", "-o", str(tmp_path / "graph.svg"), "--quiet"]) == 0
    assert (tmp_path / "digits.png").stat().st_size > 0
    assert "0.weight" in (tmp_path / "graph.svg").read_text()


@pytest.mark.parametrize("layers", [[], ["--layers", "1,4,8,10"]])
def test_graph_draws_a_cnn_with_its_conv_layers_clustered(layers, tmp_path):
    out = tmp_path / "cnn.svg"
    assert main(["graph", "--arch", "cnn", *layers, "-o", str(out), "--quiet"]) == 0
    svg = out.read_text()
    assert "Conv2d" in svg and "0.weight" in svg and "MaxPool2d" in svg


def test_a_bad_csv_exits_1_with_the_row_and_no_traceback(tmp_path):
    bad = tmp_path / "train.csv"
    bad.write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n" + "11," + ",".join(["0"] * 784) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_mnist.cli", "train", "--data", str(bad), "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "train.csv" in result.stderr and "11" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--layers", "784,x,10"],
        ["train", "--batch-size", "0"],
        ["train", "--iterations", "5"],  # mini-batch recipe: iterations are ambiguous
        ["predict"],  # no checkpoint
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_missing_checkpoint_exits_1(tmp_path, capsys):
    assert main(["predict", "--checkpoint", str(tmp_path / "none.safetensors"), "--quiet"]) == 1
    assert "none.safetensors" in capsys.readouterr().err


def test_a_diverging_run_exits_1_and_keeps_the_previous_checkpoint(trained, mnist_dir, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    previous = (trained / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(previous)
    argv = ["train", "--data", str(mnist_dir / "train.csv.gz"), "--recipe", "notebook", "--lr", "1e38",
            "--dtype", "float32", "--iterations", "5", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 1
    message = capsys.readouterr().err
    assert "training stopped at step" in message and "a lower --lr (now 1e+38)" in message
    assert (out / "model.safetensors").read_bytes() == previous
