"""Framework overhead: the time spent outside NumPy's kernels, next to PyTorch's, float32.

1. A deep, narrow network (10 Linear layers of width 32 with ReLU, batch 32, SGD), where
   the kernels take microseconds and the per-op bookkeeping is most of the time:
   overhead per op = (step time - lean NumPy's step time) / ops recorded per step.
2. One batch-128 training step of 784-785-10 with Adam: the share of the step spent
   outside the NumPy kernels it needs, 1 - lean / ours (target: under 20%).
3. One epoch over the 8,000 rows of train.csv.gz in shuffled batches of 128 with Adam,
   pixels scaled to [0, 1] (target: no slower than PyTorch CPU).

"lean NumPy" is the same math written by hand (``full_batch.LeanMLP``, with Adam's
update written the way ``optim.Adam`` does it): the kernels alone. All variants start
from the same weights and take turns, so they see the same machine load; times are medians.

    python benchmarks/overhead.py [--repeats 7] [--smoke]
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable

import numpy as np
from full_batch import SAMPLE, LeanMLP, Step, Update, median_seconds, scaled, sgd

from tinygrad_mnist import Tensor, nn, optim, topological_order
from tinygrad_mnist.data import load_kaggle_train
from tinygrad_mnist.data.loader import DataLoader

BETAS, EPS = (0.9, 0.999), 1e-8


def adam(lr: float) -> Update:
    """Adam with PyTorch's rule and bias correction, in place, a fixed handful of kernels per parameter."""
    state: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    steps = 0

    def update(params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        nonlocal steps
        if not state:
            state.extend((np.zeros_like(p), np.zeros_like(p), np.empty_like(p)) for p in params)
        steps += 1
        (beta1, beta2), step_size = BETAS, lr / (1 - BETAS[0] ** steps)
        root_correction = math.sqrt(1 - beta2**steps)
        for param, grad, (exp_avg, exp_avg_sq, scratch) in zip(params, grads, state, strict=True):
            np.subtract(grad, exp_avg, out=scratch)
            scratch *= 1 - beta1
            exp_avg += scratch
            exp_avg_sq *= beta2
            np.multiply(grad, grad, out=scratch)
            scratch *= 1 - beta2
            exp_avg_sq += scratch
            np.sqrt(exp_avg_sq, out=scratch)
            scratch /= root_correction
            scratch += EPS
            np.divide(exp_avg, scratch, out=scratch)
            scratch *= step_size
            param -= scratch

    return update


def initial_parameters(widths: list[int], seed: int = 0) -> list[np.ndarray]:
    """W1, b1, W2, b2, ... float32, PyTorch's default uniform initialisation, from one seed."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(widths):
        bound = 1 / math.sqrt(fan_in)
        params += [rng.uniform(-bound, bound, (fan_out, fan_in)), rng.uniform(-bound, bound, fan_out)]
    return [p.astype(np.float32) for p in params]


def tinygrad_model(params: list[np.ndarray]) -> nn.Sequential:
    """Linear, ReLU, ..., Linear with the given weights (copied)."""
    layers: list[nn.Module] = []
    for weight in params[0::2]:
        layers += [nn.Linear(weight.shape[1], weight.shape[0]), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    for param, value in zip(model.parameters(), params, strict=True):
        param.data = value.copy()
    return model


def pytorch_model(params: list[np.ndarray]):
    """The same network in PyTorch, same weights (copied)."""
    import torch

    layers: list[torch.nn.Module] = []
    for weight in params[0::2]:
        layers += [torch.nn.Linear(weight.shape[1], weight.shape[0]), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for param, value in zip(model.parameters(), params, strict=True):
            param.copy_(torch.from_numpy(value))
    return model


def have_pytorch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def training_steps(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray, optimizer: str, lr: float):
    """One step of lean NumPy, tinygrad_mnist and PyTorch (if importable) on the batch, and their op counts."""
    lean = LeanMLP([p.copy() for p in params], sgd(lr) if optimizer == "sgd" else adam(lr))
    model = tinygrad_model(params)
    ours_optimizer = optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd" else optim.Adam(model.parameters(), lr)
    x_ours, loss_fn = Tensor(x), nn.CrossEntropyLoss()
    ops = {}

    def ours() -> None:
        ours_optimizer.zero_grad()
        loss = loss_fn(model(x_ours), labels)
        ops.setdefault("tinygrad_mnist", len(topological_order(loss.grad_fn)))
        loss.backward()
        ours_optimizer.step()

    steps: dict[str, Step] = {"lean NumPy": lambda: lean.step(x, labels), "tinygrad_mnist": ours}
    if have_pytorch():
        import torch

        torch_model = pytorch_model(params)
        torch_optimizer = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(torch_model.parameters(), lr)
        x_torch, y_torch, torch_loss = torch.from_numpy(x), torch.from_numpy(labels), torch.nn.CrossEntropyLoss()

        def pytorch() -> None:
            torch_optimizer.zero_grad()
            loss = torch_loss(torch_model(x_torch), y_torch)
            ops.setdefault("PyTorch", count_autograd_nodes(loss.grad_fn))
            loss.backward()
            torch_optimizer.step()

        steps["PyTorch"] = pytorch
    return steps, ops


def count_autograd_nodes(root) -> int:
    """PyTorch's backward nodes reachable from ``root``, leaves' AccumulateGrad not counted."""
    seen, stack = {root}, [root]
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None and child not in seen and type(child).__name__ != "AccumulateGrad":
                seen.add(child)
                stack.append(child)
    return len(seen)


def per_step_seconds(steps: dict[str, Step], calls: int, repeats: int) -> dict[str, float]:
    """Median seconds per step, timing blocks of ``calls`` steps that take turns."""

    def block(step: Step) -> Step:
        return lambda: [step() for _ in range(calls)]

    blocks = median_seconds({name: block(step) for name, step in steps.items()}, repeats)
    return {name: seconds / calls for name, seconds in blocks.items()}


def deep_narrow_table(repeats: int, calls: int) -> str:
    """Per-op overhead of a 10-layer, width-32 network at batch 32."""
    widths = [32] * 10 + [10]
    rng = np.random.default_rng(1)
    x, labels = rng.random((32, 32), dtype=np.float32), rng.integers(0, 10, 32)
    steps, ops = training_steps(initial_parameters(widths), x, labels, "sgd", 0.01)
    seconds = per_step_seconds(steps, calls, repeats)
    lean = seconds["lean NumPy"]
    lines = [
        "Deep, narrow network: 10 Linear layers of width 32 with ReLU, batch 32, float32, cross-entropy, SGD; "
        "one training step (forward, backward, update).",
        "",
        "| code | µs / step | ops recorded / step | overhead µs / op, (step - lean) / ops |",
        "| --- | --- | --- | --- |",
        f"| lean NumPy (the kernels alone) | {lean * 1e6:.0f} | | |",
    ]
    for name in ("tinygrad_mnist", "PyTorch"):
        if name in seconds:
            overhead = (seconds[name] - lean) / ops[name]
            lines.append(f"| {name} | {seconds[name] * 1e6:.0f} | {ops[name]} | {overhead * 1e6:.1f} |")
    return "\n".join(lines)


def batch_step_table(images: np.ndarray, labels: np.ndarray, repeats: int, calls: int) -> str:
    """Share of a batch-128 Adam step of 784-785-10 spent outside the NumPy kernels."""
    x = scaled(images[:128], np.float32)
    steps, _ = training_steps(initial_parameters([784, 785, 10]), x, labels[:128], "adam", 1e-3)
    seconds = per_step_seconds(steps, calls, repeats)
    lean = seconds["lean NumPy"]
    lines = [
        "One training step of 784-785-10, batch 128, Adam, float32: time outside NumPy's kernels "
        "= 1 - lean / step (target under 20%).",
        "",
        "| code | ms / step | outside the kernels |",
        "| --- | --- | --- |",
        f"| lean NumPy (the kernels alone) | {lean * 1e3:.2f} | |",
    ]
    for name in ("tinygrad_mnist", "PyTorch"):
        if name in seconds:
            lines.append(f"| {name} | {seconds[name] * 1e3:.2f} | {1 - lean / seconds[name]:.0%} |")
    return "\n".join(lines)


def epochs(x: np.ndarray, labels: np.ndarray, batch_size: int) -> dict[str, Callable[[], None]]:
    """One shuffled epoch of Adam training per call, for lean NumPy, tinygrad_mnist and PyTorch."""
    params = initial_parameters([784, 785, 10])
    lean, rng = LeanMLP([p.copy() for p in params], adam(1e-3)), np.random.default_rng(0)
    model = tinygrad_model(params)
    ours_optimizer, loss_fn = optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss()
    loader = DataLoader(x, labels, batch_size=batch_size, shuffle=True, seed=0)

    def lean_epoch() -> None:
        order = rng.permutation(len(labels))
        for start in range(0, len(labels), batch_size):
            rows = order[start : start + batch_size]
            lean.step(x[rows], labels[rows])

    def ours_epoch() -> None:
        for x_batch, y_batch in loader:
            ours_optimizer.zero_grad()
            loss_fn(model(x_batch), y_batch).backward()
            ours_optimizer.step()

    runs = {"lean NumPy": lean_epoch, "tinygrad_mnist": ours_epoch}
    if have_pytorch():
        import torch

        torch_model = pytorch_model(params)
        torch_optimizer, torch_loss = torch.optim.Adam(torch_model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
        x_torch, y_torch, generator = torch.from_numpy(x), torch.from_numpy(labels), torch.Generator().manual_seed(0)

        def pytorch_epoch() -> None:
            order = torch.randperm(len(labels), generator=generator)
            for start in range(0, len(labels), batch_size):
                rows = order[start : start + batch_size]
                torch_optimizer.zero_grad()
                torch_loss(torch_model(x_torch[rows]), y_torch[rows]).backward()
                torch_optimizer.step()

        runs["PyTorch"] = pytorch_epoch
    return runs


def epoch_table(images: np.ndarray, labels: np.ndarray, repeats: int) -> str:
    """Seconds per epoch over the given rows of the sample, batch 128, Adam."""
    x = scaled(images, np.float32)
    seconds = median_seconds(epochs(x, labels, 128), repeats)
    reference = seconds.get("PyTorch")
    lines = [
        f"One epoch over {len(labels):,} rows of train.csv.gz, shuffled batches of 128, 784-785-10, Adam, "
        "float32, pixels in [0, 1] (target: tinygrad_mnist no slower than PyTorch).",
        "",
        "| code | s / epoch | vs PyTorch |",
        "| --- | --- | --- |",
    ]
    for name, value in seconds.items():
        ratio = f"{value / reference:.2f}x" if reference else "n/a"
        lines.append(f"| {name} | {value:.3f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks that it runs")
    args = parser.parse_args()
    calls, rows = (2, 256) if args.smoke else (50, None)
    repeats = 1 if args.smoke else args.repeats
    images, labels = load_kaggle_train(SAMPLE)
    print(deep_narrow_table(repeats, calls * 4))
    print()
    print(batch_step_table(images, labels, repeats, calls))
    print()
    print(epoch_table(images[:rows], labels[:rows], repeats))
    print(f"\n(median of {repeats}; times per step from blocks of consecutive steps)")


if __name__ == "__main__":
    main()
