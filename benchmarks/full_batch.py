"""One full-batch training iteration of the notebook's final network, 784-785-10, side by side.

Each variant runs forward, loss, backward and an SGD update on the same m rows of
real digits (the sample's 8,000 rows repeated), in float64 and float32:

- notebook: the notebook's own NumPy code (``tests/notebook_reference.py``): raw int64
  pixels in the (784, m) layout, a gradient for the input batch, new arrays everywhere;
- lean: the same math written lean in NumPy: pixels scaled to float, no gradient for the
  input batch, bias, ReLU, softmax and the ReLU mask applied in place;
- tinygrad_mnist: ``nn.Sequential(Linear, ReLU, Linear)``, ``CrossEntropyLoss``, ``optim.SGD``;
- PyTorch CPU (when importable): the same model, loss and optimizer.

Seconds are medians over ``--repeats`` turns, the variants taking turns so that all see
the same machine load; in each turn a variant runs two iterations and the second is
timed. Nine turns by default: on a shared virtual machine a float64 iteration swings by
up to 1.5x from one call to the next, and the median of five turns did not settle the ratio.
Peak memory is measured in a child process per variant: its high-water resident
size during one iteration (after a warm-up), less the resident size it had before
loading the data, so it counts the data, the parameters and everything the iteration
allocates. The notebook's code is float64 whatever the parameters' dtype (its int64
pixels promote every product), so it has no float32 row.

    python benchmarks/full_batch.py [--rows 40000] [--repeats 9] [--dtypes float64 float32] [--smoke]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the notebook's code, kept as plain NumPy

import notebook_reference as nb  # noqa: E402
from tinygrad_mnist import Tensor, nn, optim  # noqa: E402
from tinygrad_mnist.data import load_kaggle_train  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "mnist" / "train.csv.gz"
LAYERS = (784, 785, 10)
LEARNING_RATE = 0.002  # the notebook's
Step = Callable[[], object]


def repeated(images: np.ndarray, labels: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` images and labels: the given ones repeated in order."""
    order = np.arange(rows) % len(labels)
    return images[order], labels[order]


def initial_parameters(dtype: np.dtype) -> list[np.ndarray]:
    """W1, b1, W2, b2 from the notebook's initialisation, in PyTorch's layout: W (out, in), b (out,)."""
    params = nb.initialize_parameters_deep(list(LAYERS))
    arrays = [params[name][:, 0] if name[0] == "b" else params[name] for name in ("W1", "b1", "W2", "b2")]
    return [array.astype(dtype) for array in arrays]


def scaled(images: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Pixels scaled to [0, 1] in ``dtype``, (m, 784), C order."""
    return np.multiply(images, 1 / 255, dtype=dtype)


def notebook_step(images: np.ndarray, labels: np.ndarray, dtype: np.dtype) -> Step:
    """The notebook's L_layer_model iteration: forward, cost, backward, update."""
    x = np.ascontiguousarray(images.T, dtype=np.int64)  # the notebook's X: train.iloc[:, 1:].values.T
    y = np.zeros((LAYERS[-1], len(labels)))
    y[labels, np.arange(len(labels))] = 1
    params = {k: v.astype(dtype) for k, v in nb.initialize_parameters_deep(list(LAYERS)).items()}

    def step() -> None:
        nonlocal params
        al, caches = nb.model_forward(x, params)
        with np.errstate(all="ignore"):
            nb.compute_cost(al, y)
        params = nb.update_parameters(params, nb.model_backward(al, y, caches), LEARNING_RATE)

    return step


Update = Callable[[list[np.ndarray], list[np.ndarray]], None]


def sgd(lr: float) -> Update:
    """Plain SGD in place: ``param -= lr * grad`` (the gradient buffer is reused for ``lr * grad``)."""

    def update(params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        for param, grad in zip(params, grads, strict=True):
            grad *= lr
            param -= grad

    return update


class LeanMLP:
    """A ReLU network with softmax cross-entropy as hand-written NumPy needs it: no framework.

    ``params`` are W1, b1, W2, b2, ... in PyTorch's layout. Examples are rows; nothing
    is computed for the input batch; bias, ReLU, softmax and the ReLU mask work in
    place; ``update(params, grads)`` applies the optimizer.
    """

    def __init__(self, params: list[np.ndarray], update: Update) -> None:
        self.params, self.update = params, update

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        """One training step on a batch; returns the loss."""
        weights, biases = self.params[0::2], self.params[1::2]
        activations = [x]  # each layer's input
        for weight, bias in zip(weights[:-1], biases[:-1], strict=True):
            z = activations[-1] @ weight.T
            z += bias
            activations.append(np.maximum(z, 0, out=z))
        logits = activations[-1] @ weights[-1].T
        logits += biases[-1]
        m, rows = len(labels), np.arange(len(labels))
        logits -= logits.max(axis=1, keepdims=True)
        loss = float(np.log(np.exp(logits).sum(axis=1)).mean() - logits[rows, labels].mean())
        grad = np.exp(logits, out=logits)
        grad /= grad.sum(axis=1, keepdims=True)
        grad[rows, labels] -= 1
        grad *= 1 / m
        grads: list[np.ndarray] = []
        for layer in reversed(range(len(weights))):
            below = activations[layer]
            grads[:0] = [grad.T @ below, grad.sum(axis=0)]
            if layer:
                grad_below = grad @ weights[layer]
                grad = np.multiply(grad_below, below > 0, out=grad_below)
        self.update(self.params, grads)
        return loss


def lean_step(images: np.ndarray, labels: np.ndarray, dtype: np.dtype) -> Step:
    """The same iteration as hand-written NumPy needs it (``LeanMLP`` with in-place SGD)."""
    x = scaled(images, dtype)
    mlp = LeanMLP(initial_parameters(dtype), sgd(LEARNING_RATE))
    return lambda: mlp.step(x, labels)


def tinygrad_step(images: np.ndarray, labels: np.ndarray, dtype: np.dtype) -> Step:
    """What a user writes: nn.Sequential, CrossEntropyLoss, optim.SGD."""
    x = Tensor(scaled(images, dtype))
    model = nn.Sequential(nn.Linear(784, 785, dtype=dtype), nn.ReLU(), nn.Linear(785, 10, dtype=dtype))
    for param, value in zip(model.parameters(), initial_parameters(dtype), strict=True):
        param.data = value
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def pytorch_step(images: np.ndarray, labels: np.ndarray, dtype: np.dtype) -> Step:
    """The same model, loss and optimizer in PyTorch, on the same arrays (shared, not copied)."""
    import torch

    x, y = torch.from_numpy(scaled(images, dtype)), torch.from_numpy(labels)
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 785, dtype=torch_dtype), torch.nn.ReLU(), torch.nn.Linear(785, 10, dtype=torch_dtype)
    )
    with torch.no_grad():
        for param, value in zip(model.parameters(), initial_parameters(dtype), strict=True):
            param.copy_(torch.from_numpy(value))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


VARIANTS: dict[str, Callable[[np.ndarray, np.ndarray, np.dtype], Step]] = {
    "notebook": notebook_step,
    "lean": lean_step,
    "tinygrad_mnist": tinygrad_step,
    "pytorch": pytorch_step,
}
LABELS = {
    "notebook": "the notebook's own NumPy code",
    "lean": "lean NumPy (no input gradient, in place)",
    "tinygrad_mnist": "tinygrad_mnist (nn.Linear/ReLU, CrossEntropyLoss, SGD)",
    "pytorch": "PyTorch CPU (nn.Linear/ReLU, CrossEntropyLoss, SGD)",
}


def variants_for(dtype: np.dtype) -> list[str]:
    """The variants that exist for ``dtype``: the notebook's code is float64 only, PyTorch only if importable."""
    names = [name for name in VARIANTS if name != "notebook" or dtype == np.float64]
    try:
        import torch  # noqa: F401
    except ImportError:
        names.remove("pytorch")
    return names


def median_seconds(steps: dict[str, Step], repeats: int) -> dict[str, float]:
    """Median seconds per call of each step over ``repeats`` turns.

    The steps take turns, so that all see the same machine load; in each turn a step
    runs twice and only the second call is timed. It then follows a call of its own,
    as in a training loop: the memory the kernel hands it (fresh pages cost time to
    touch) and the thread pools' state are its own, not the previous variant's.
    """
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            step()
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def peak_megabytes(variant: str, rows: int, dtype: np.dtype) -> float:
    """This process's high-water resident size during one iteration of ``variant``, above its size before the data.

    A tiny run of the same variant first loads the code and starts the thread pools,
    so that only data, parameters and the iteration's arrays count. Linux only.
    """
    make = VARIANTS[variant]
    images, labels = load_kaggle_train(SAMPLE)
    make(images[:64], labels[:64], dtype)()
    before = _status_kib("VmRSS")
    step = make(*repeated(images, labels, rows), dtype)
    step()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current size
    step()
    return (_status_kib("VmHWM") - before) / 1024


def measure_peaks(names: list[str], rows: int, dtype: np.dtype) -> dict[str, float | None]:
    """Peak MB of each variant, each in a fresh child process; None where it cannot be measured.

    The children run side by side: each one's resident size is its own, whatever the others do.
    """
    children = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--peak-of", name, "--rows", str(rows), "--dtypes", dtype.name],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for name in names
    }
    peaks: dict[str, float | None] = {}
    for name, child in children.items():
        output = child.communicate()[0].split()
        peaks[name] = float(output[-1]) if child.returncode == 0 and output else None
    return peaks


def matmul_floor(rows: int, dtype: np.dtype, repeats: int) -> tuple[float, float]:
    """Seconds and GFLOP of the iteration's matrix products alone (forward, dW1, dW2, dA1), median."""
    rng = np.random.default_rng(0)
    x, w1 = rng.random((rows, 784), dtype=dtype), rng.random((785, 784), dtype=dtype)
    a1, w2, g2 = rng.random((rows, 785), dtype=dtype), rng.random((10, 785), dtype=dtype), rng.random((rows, 10), dtype)

    def products() -> None:
        x @ w1.T, a1 @ w2.T, g2.T @ a1, g2 @ w2, a1.T @ x

    flop = 2 * rows * (784 * 785 * 2 + 785 * 10 * 3)
    return median_seconds({"floor": products}, repeats)["floor"], flop / 1e9


def table(rows: int, dtypes: list[np.dtype], repeats: int) -> str:
    """The markdown table of seconds, peak memory and their ratios to lean NumPy."""
    images, labels = repeated(*load_kaggle_train(SAMPLE), rows)
    lines = [
        f"One training iteration (forward, loss, backward, SGD update), {'-'.join(map(str, LAYERS))}, "
        f"m = {rows:,} rows; median of {repeats} turns (each timing a variant's second iteration in a row); "
        "peak memory above the process's size before the data, in a child process per variant.",
        "",
        "| code | dtype | seconds / iteration | time vs lean | peak memory (MB) | memory vs lean |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for dtype in dtypes:
        names = variants_for(dtype)
        steps = {name: VARIANTS[name](images, labels, dtype) for name in names}
        seconds = median_seconds(steps, repeats)
        del steps
        peaks = measure_peaks(names, rows, dtype)
        for name in names:
            peak, lean_peak = peaks[name], peaks["lean"]
            memory = "n/a" if peak is None else f"{peak:,.0f}"
            memory_ratio = "n/a" if peak is None or not lean_peak else f"{peak / lean_peak:.2f}x"
            lines.append(
                f"| {LABELS[name]} | {dtype.name} | {seconds[name]:.3f} | {seconds[name] / seconds['lean']:.2f}x "
                f"| {memory} | {memory_ratio} |"
            )
        floor, gflop = matmul_floor(rows, dtype, repeats)
        lines.append(
            f"| the matrix products alone ({gflop:.0f} GFLOP, {gflop / floor:.0f} GFLOP/s) | {dtype.name} "
            f"| {floor:.3f} | {floor / seconds['lean']:.2f}x | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--smoke", action="store_true", help="256 rows, float64, one repeat: checks that it runs")
    parser.add_argument("--peak-of", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_of:
        print(f"{peak_megabytes(args.peak_of, args.rows, np.dtype(args.dtypes[0])):.1f}")
        return
    if args.smoke:  # float64 has every variant, the notebook's included
        args.rows, args.repeats, args.dtypes = 256, 1, ["float64"]
    print(table(args.rows, [np.dtype(name) for name in args.dtypes], args.repeats))


if __name__ == "__main__":
    main()
