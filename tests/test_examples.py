"""Every example runs on the sample data and its result is checked, not just its exit status.

Scripts run in a subprocess, as a user runs them, from a temporary folder, with small
iteration counts set through environment variables; the walkthrough notebook is
executed top to bottom with nbclient. These are the suite's slow end-to-end tests.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Each example, and the test below that runs it and checks what it made.
CHECKED = {
    "notebook.py": "test_notebook_example_retells_the_notebook_with_its_figures",
    "custom_op.py": "test_custom_op_example_proves_its_ops_and_catches_a_wrong_gradient",
    "mnist_mlp.py": "test_mnist_mlp_example_learns_in_one_epoch",
    "higher_order.py": "test_higher_order_example_checks_hvp_trains_with_double_backprop_and_converges_by_newton",
    "mnist_cnn.py": "test_mnist_cnn_example_passes_its_own_accuracy_floor_in_one_epoch",
    "graph.py": "test_graph_example_draws_the_notebook_network",
    "export_onnx.py": "test_export_onnx_example_runs_the_cnn_in_onnx_runtime_and_loads_it_back",
    "walkthrough.ipynb": "test_walkthrough_notebook_runs_top_to_bottom",
}


def run_example(name: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``examples/<name>`` with this interpreter; its stdout, or a failure showing everything it printed."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def number_after(label: str, text: str) -> float:
    """The number printed right after ``label`` (the first time it is printed)."""
    match = re.search(re.escape(label) + r"\s*([-+0-9.]+)", text)
    assert match, f"{label!r} not found in:\n{text}"
    return float(match.group(1))


def assert_submission(path: Path, rows: int) -> None:
    """A Kaggle submission: header ``ImageId,Label``, ids 1..rows in order, digits as labels."""
    lines = path.read_text().splitlines()
    assert lines[0] == "ImageId,Label"
    table = np.array([line.split(",") for line in lines[1:]], dtype=np.int64)
    assert table.shape == (rows, 2)
    assert np.array_equal(table[:, 0], np.arange(1, rows + 1))
    assert table[:, 1].min() >= 0 and table[:, 1].max() <= 9


def test_every_example_has_a_test_that_checks_its_result():
    examples = sorted(path.name for path in EXAMPLES.iterdir() if path.suffix in (".py", ".ipynb"))
    assert examples == sorted(CHECKED), "add each new example to CHECKED, with a test that checks what it makes"
    assert all(name in globals() for name in CHECKED.values())


def test_notebook_example_retells_the_notebook_with_its_figures(mnist_dir, tmp_path):
    out = tmp_path / "out"
    stdout = run_example(
        "notebook.py",
        "--data",
        str(mnist_dir / "train.csv.gz"),
        "--out",
        str(out),
        cwd=tmp_path,
        env={"TINYGRAD_MNIST_QUICK": "1"},
    )
    # Untrained, the notebook's 0.01-scale weights give every class about 1/10: cost log(10).
    assert number_after("Cost after iteration 0:", stdout) == pytest.approx(math.log(10), abs=0.2)
    assert number_after("Shape of X_train is: (", stdout) == 5000
    assert number_after("Shape of X_test is: (", stdout) == 3000
    # 100 of the notebook's 500 iterations already separate the digits; 10 of the wide run's 2,000 too.
    assert number_after("Test set accuracy is:", stdout) > 0.75
    assert number_after("Dev set accuracy is:", stdout) > 0.75
    assert "test 89% (rows 5,000..9,999)" in stdout and "Kaggle 96.7%" in stdout  # the notebook's figures
    for picture in ("digit.png", "cost.png", "accuracy.png"):
        assert (out / picture).read_bytes().startswith(PNG_SIGNATURE), picture
    for submission in ("submission_784-10-10.csv", "submission.csv"):
        assert_submission(out / submission, rows=2000)


def test_notebook_example_reports_missing_data_in_one_line(tmp_path):
    missing = tmp_path / "nowhere" / "train.csv"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "notebook.py"), "--data", str(missing), "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(missing) in result.stderr and "no such file" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written for a run that never started


def test_custom_op_example_proves_its_ops_and_catches_a_wrong_gradient(tmp_path):
    stdout = run_example("custom_op.py", cwd=tmp_path)
    assert "gradcheck(softplus, [-3, 0, 3]): True" in stdout
    assert "gradgradcheck(softplus, [-3, 0, 3]): True" in stdout
    assert "check_softplus: up to" in stdout and "check_squared_difference: up to" in stdout
    assert "FAILED" not in stdout
    assert re.search(r"wrong_softplus: caught.*gradcheck: gradient of input 0.*is wrong at index", stdout)
    # A backward that leaves the graph passes gradcheck, and only gradgradcheck catches it.
    assert "detached_softplus: gradcheck passes (its first derivative is right): True" in stdout
    assert re.search(r"detached_softplus: caught by gradgradcheck.*second-order gradient.*is wrong at index", stdout)
    # softplus' is sigmoid: 0.5 at 0, symmetric about it; softplus'' is sigmoid * (1 - sigmoid), even.
    assert "softplus'([-3.0, 0.0, 3.0]) = [0.0474, 0.5, 0.9526]" in stdout
    assert "softplus''([-3.0, 0.0, 3.0]) = [0.0452, 0.25, 0.0452]" in stdout


def test_mnist_mlp_example_learns_in_one_epoch(mnist_dir, tmp_path):
    stdout = run_example(
        "mnist_mlp.py", str(mnist_dir / "train.csv.gz"), cwd=tmp_path, env={"TINYGRAD_MNIST_EPOCHS": "1"}
    )
    assert stdout.startswith("epoch   1")
    # One epoch of the modern recipe passes what the notebook's 784-10-10 reached in 500 iterations.
    assert number_after("best dev accuracy", stdout) > 0.85


def test_higher_order_example_checks_hvp_trains_with_double_backprop_and_converges_by_newton(mnist_dir, tmp_path):
    stdout = run_example(
        "higher_order.py", str(mnist_dir / "train.csv.gz"), cwd=tmp_path, env={"TINYGRAD_MNIST_QUICK": "1"}
    )
    # (a) Double backward's Hv is the central difference of two gradients, to far below the step's O(eps^2).
    assert number_after("|Hv| by double backward:", stdout) > 0
    error = re.search(r"relative error: ([0-9.e+-]+)", stdout)
    assert error and float(error.group(1)) < 1e-6, stdout
    # (b) The same seed, batches and steps with and without the input-gradient penalty.
    runs = {
        name: (float(norm), float(accuracy))
        for name, norm, accuracy in re.findall(
            r"(plain|double backprop) +dev input-gradient norm ([0-9.]+) +dev accuracy ([0-9.]+)", stdout
        )
    }
    assert runs.keys() == {"plain", "double backprop"}, stdout
    assert runs["double backprop"][0] < 0.9 * runs["plain"][0]
    assert abs(runs["double backprop"][1] - runs["plain"][1]) <= 0.01
    assert runs["plain"][1] > 0.8
    # (c) Newton's loss falls at every step, to a gradient below the tolerance, in a few steps.
    losses = [float(loss) for loss in re.findall(r"step \d+: loss ([0-9.]+)", stdout)]
    assert losses[0] == pytest.approx(math.log(2))  # w = 0: every probability 1/2
    assert all(later <= earlier for earlier, later in itertools.pairwise(losses)) and losses[-1] < losses[0] - 0.1
    assert 3 <= number_after("converged after", stdout) <= 12


def test_mnist_cnn_example_passes_its_own_accuracy_floor_in_one_epoch(mnist_dir, tmp_path):
    env = {"TINYGRAD_MNIST_EPOCHS": "1", "TINYGRAD_MNIST_MIN_ACCURACY": "0.9"}  # the script exits 1 below the floor
    stdout = run_example("mnist_cnn.py", str(mnist_dir / "train.csv.gz"), cwd=tmp_path, env=env)
    assert stdout.startswith("epoch   1")
    assert number_after("final dev accuracy", stdout) >= 0.9


def test_graph_example_draws_the_notebook_network(tmp_path):
    picture = tmp_path / "graph.svg"
    stdout = run_example("graph.py", str(picture), cwd=tmp_path)
    assert stdout.strip() == f"wrote {picture}"
    svg = picture.read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for node in ("0: Linear(784→10)", "2: Linear(10→10)", "CrossEntropy", "gradient norm"):
        assert node in svg, node


def test_graph_example_refuses_an_unknown_format_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "graph.py"), str(tmp_path / "graph.jpeg")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "end the name in .svg" in result.stderr
    assert not (tmp_path / "graph.jpeg").exists()


def test_export_onnx_example_runs_the_cnn_in_onnx_runtime_and_loads_it_back(mnist_dir, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    out = tmp_path / "onnx"
    stdout = run_example(
        "export_onnx.py", str(mnist_dir / "train.csv.gz"), "--out", str(out), cwd=tmp_path,
        env={"TINYGRAD_MNIST_QUICK": "1"},
    )  # fmt: skip
    onnx.checker.check_model(onnx.load(out / "mnist_cnn.onnx"), full_check=True)
    assert "Conv -> Relu -> MaxPool -> Conv -> Relu -> MaxPool -> Reshape -> Gemm -> Relu -> Gemm" in stdout
    assert "0.weight [32, 1, 3, 3]" in stdout and "onnx.checker: ok" in stdout
    assert "same predictions: 2000 of 2000" in stdout and "identical logits: True" in stdout
    # Ten steps of Adam already separate most digits, in ONNX Runtime as in tinygrad_mnist.
    assert number_after("dev accuracy (ONNX Runtime):", stdout) == number_after("dev accuracy", stdout) > 0.6
    timings = re.search(r"tinygrad_mnist ([0-9.]+) ms, ONNX Runtime ([0-9.]+) ms, ratio ours / ONNX Runtime", stdout)
    assert timings and min(map(float, timings.groups())) > 0, stdout
    assert_submission(out / "submission_onnx.csv", rows=2000)


def test_walkthrough_is_kept_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(EXAMPLES / "walkthrough.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_walkthrough_notebook_runs_top_to_bottom(mnist_dir, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TINYGRAD_MNIST_QUICK", "1")
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(mnist_dir / "train.csv.gz"))
    notebook = nbformat.read(EXAMPLES / "walkthrough.ipynb", as_version=4)
    # iopub_timeout: on a loaded machine the default 4 s can drop a cell's printed output.
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300, iopub_timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
    text = "\n".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    for check in ("dZ / m matches: True", "dW2 matches: True", "db2 matches: True"):
        assert check in text
    assert number_after("Test set accuracy:", text) > 0.75
    assert number_after("dev accuracy after 10 iterations:", text) > 0.75
    images = [
        output for cell in notebook.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    ]
    assert len(images) == 3  # the digits, the cost, the accuracies
    assert any(
        "image/svg+xml" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert_submission(tmp_path / "runs" / "walkthrough" / "submission_784-10-10.csv", rows=2000)
