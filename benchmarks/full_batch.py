"""One full-batch forward+backward of the notebook's final network (784-785-10,
ReLU, softmax cross-entropy) on m = 40,000 rows: the notebook's own NumPy code
next to tinygrad_mnist, in one process, medians of several runs.

    python benchmarks/full_batch.py [--rows 40000] [--repeats 5] [--dtype float64]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the notebook's code, kept as plain NumPy

import notebook_reference as nb  # noqa: E402
from tinygrad_mnist import Tensor  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "mnist" / "train.csv.gz"


def load_rows(rows: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Real digits from the sample, tiled to ``rows``; pixels scaled to [0, 1]."""
    with gzip.open(SAMPLE, "rt") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.int64)
    table = np.resize(table, (rows, table.shape[1]))
    return (table[:, 1:] / 255).astype(dtype), table[:, 0]


def notebook_step(x_t: np.ndarray, y_onehot_t: np.ndarray, params: dict) -> None:
    al, caches = nb.model_forward(x_t, params)
    nb.model_backward(al, y_onehot_t, caches)


def tinygrad_step(x: Tensor, labels: np.ndarray, weights: list[Tensor]) -> None:
    w1, b1, w2, b2 = weights
    loss = ((x @ w1.T + b1).relu() @ w2.T + b2).cross_entropy(labels)
    loss.backward()
    for w in weights:
        w.grad = None


def median_seconds(step, repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)

    x, labels = load_rows(args.rows, dtype)
    params = {k: v.astype(dtype) for k, v in nb.initialize_parameters_deep([784, 785, 10]).items()}
    x_t, y_t = np.ascontiguousarray(x.T), np.eye(10, dtype=dtype)[labels].T
    weights = [
        Tensor(params["W1"], requires_grad=True),
        Tensor(params["b1"][:, 0], requires_grad=True),
        Tensor(params["W2"], requires_grad=True),
        Tensor(params["b2"][:, 0], requires_grad=True),
    ]
    x_tensor = Tensor(x)

    notebook = median_seconds(lambda: notebook_step(x_t, y_t, params), args.repeats)
    ours = median_seconds(lambda: tinygrad_step(x_tensor, labels, weights), args.repeats)
    print(f"forward+backward, 784-785-10, m={args.rows}, {dtype}, median of {args.repeats}\n")
    print("| code | seconds | ratio to notebook |")
    print("| --- | --- | --- |")
    print(f"| notebook NumPy | {notebook:.3f} | 1.00 |")
    print(f"| tinygrad_mnist | {ours:.3f} | {ours / notebook:.2f} |")


if __name__ == "__main__":
    main()
