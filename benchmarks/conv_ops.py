"""Forward + backward time of a small CNN's conv stack, ours next to PyTorch CPU, float32.

The stack is conv 1->32 3x3 pad 1, relu, maxpool 2, conv 32->64 3x3 pad 1, relu,
maxpool 2 on a (128, 1, 28, 28) batch: the feature extractor planned for ``--arch cnn``.
Both run in this process on the same arrays with the same thread count; the
medians of ``--repeats`` timed steps are compared. Then each of our layers is timed
on its own (forward and backward) to show where the time goes.

Run: ``OPENBLAS_NUM_THREADS=2 .venv/bin/python benchmarks/conv_ops.py [--batch 128] [--repeats 20]``
(PyTorch gets the thread count set for NumPy's BLAS, so both use the same cores.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from tinygrad_mnist import Tensor, autograd, topological_order


def median_seconds(step: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``step`` over ``repeats`` runs, after two warm-up runs."""
    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_arrays(batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Images, conv weights and biases (He-scaled), and an upstream gradient, all float32."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "x": rng.random((batch, 1, 28, 28), dtype=np.float32),
        "w1": normal(32, 1, 3, 3, scale=(2 / 9) ** 0.5),
        "b1": normal(32, scale=0.1),
        "w2": normal(64, 32, 3, 3, scale=(2 / 288) ** 0.5),
        "b2": normal(64, scale=0.1),
        "grad": normal(batch, 64, 7, 7),
    }


def ours_step(arrays: dict[str, np.ndarray]) -> Callable[[], None]:
    """One forward + backward of the stack through our engine."""
    x = Tensor(arrays["x"])
    params = {k: Tensor(arrays[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2")}

    def step() -> None:
        for p in params.values():
            p.grad = None
        h = x.conv2d(params["w1"], params["b1"], padding=1).relu().max_pool2d(2)
        h = h.conv2d(params["w2"], params["b2"], padding=1).relu().max_pool2d(2)
        h.backward(arrays["grad"])

    return step


def torch_step(arrays: dict[str, np.ndarray]) -> Callable[[], None]:
    """The same forward + backward in PyTorch."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - PyTorch's convention

    x = torch.from_numpy(arrays["x"])
    params = {k: torch.from_numpy(arrays[k].copy()).requires_grad_() for k in ("w1", "b1", "w2", "b2")}
    grad = torch.from_numpy(arrays["grad"])

    def step() -> None:
        for p in params.values():
            p.grad = None
        h = F.max_pool2d(F.relu(F.conv2d(x, params["w1"], params["b1"], padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, params["w2"], params["b2"], padding=1)), 2)
        h.backward(grad)

    return step


Layer = Callable[[Tensor, dict[str, Tensor]], Tensor]


def op_breakdown(arrays: dict[str, np.ndarray], repeats: int) -> list[tuple[str, float, float, int]]:
    """(layer, forward s, backward s, bytes saved for backward) for each layer of the stack, alone.

    Each layer runs on its own leaf inputs, so its graph is its own: forward is the call
    (with its recording), backward the engine's walk of that graph with ``autograd.grad``.
    Forward runs the stack in order, backward in reverse on the real upstream gradients,
    so every layer sees the memory layouts it sees in training.
    """
    layers: list[tuple[str, Layer, tuple[str, ...]]] = [
        ("conv1 1->32", lambda x, p: x.conv2d(p["w1"], p["b1"], padding=1), ("w1", "b1")),
        ("relu1", lambda x, p: x.relu(), ()),
        ("maxpool1", lambda x, p: x.max_pool2d(2), ()),
        ("conv2 32->64", lambda x, p: x.conv2d(p["w2"], p["b2"], padding=1), ("w2", "b2")),
        ("relu2", lambda x, p: x.relu(), ()),
        ("maxpool2", lambda x, p: x.max_pool2d(2), ()),
    ]
    params = {k: Tensor(arrays[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2")}
    recorded = []
    activation = arrays["x"]
    for index, (name, layer, param_names) in enumerate(layers):
        # The images are data: like in training, the first conv needs no input gradient.
        x = Tensor(activation, requires_grad=index > 0)
        wanted = ([x] if index > 0 else []) + [params[p] for p in param_names]
        out = layer(x, params)
        forward_time = median_seconds(lambda layer=layer, x=x: layer(x, params), repeats)
        recorded.append((name, out, wanted, forward_time))
        activation = out.numpy()

    rows = []
    grad = Tensor(arrays["grad"])
    for name, out, wanted, forward_time in reversed(recorded):

        def backward(out: Tensor = out, wanted: list[Tensor] = wanted, grad: Tensor = grad) -> tuple:
            return autograd.grad(out, wanted, grad_outputs=grad, retain_graph=True)

        backward_time = median_seconds(backward, repeats)
        saved = {id(t.numpy()): t.numpy().nbytes for node in topological_order(out.grad_fn)
                 for t in node.saved_tensors if t is not None}  # fmt: skip
        rows.append((name, forward_time, backward_time, sum(saved.values())))
        grad = backward()[0]
    return rows[::-1]


def torch_threads() -> int | None:
    """The thread count asked of NumPy's BLAS through the environment, for PyTorch to match."""
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(variable, "").isdigit():
            return int(os.environ[variable])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    arrays = make_arrays(args.batch)

    print(f"batch {args.batch}, 28x28, float32, forward + backward of the conv stack (median of {args.repeats})")
    ours = median_seconds(ours_step(arrays), args.repeats)
    print(f"  tinygrad_mnist : {ours * 1e3:8.2f} ms")
    # Our layer-by-layer breakdown runs before PyTorch, whose idle OpenMP threads spin for a while.
    rows = op_breakdown(arrays, args.repeats)
    try:
        import torch
    except ImportError:
        print("  PyTorch        : not installed, no comparison")
    else:
        if (threads := torch_threads()) is not None:
            torch.set_num_threads(threads)
        theirs = median_seconds(torch_step(arrays), args.repeats)
        print(f"  PyTorch CPU    : {theirs * 1e3:8.2f} ms  ({torch.get_num_threads()} threads)")
        print(f"  ratio ours / PyTorch: {ours / theirs:.2f}x")

    print("\nwhere our time goes (each layer alone, ms; MB kept for backward):")
    ops_total = sum(f + b for _, f, b, _ in rows)
    for name, forward_time, backward_time, saved in rows:
        share = (forward_time + backward_time) / ops_total
        print(
            f"  {name:<13} forward {forward_time * 1e3:7.2f}  backward {backward_time * 1e3:7.2f}"
            f"  ({share:5.1%})  saved {saved / 2**20:6.1f} MB"
        )
    print(f"  the rest (engine bookkeeping, cache effects): {(ours - ops_total) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
