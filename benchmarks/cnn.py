"""The small CNN (examples/mnist_cnn.py), ours next to PyTorch CPU in one process: accuracy and
seconds per epoch, peak memory, and where our time goes.

Data: by default the MNIST sample, rows 0..6,999 of train.csv.gz to train and 7,000..7,999
for dev; with ``--fashion`` Fashion-MNIST's 60,000 / 10,000 IDX files (scored on the test
set); with ``--smoke`` 512 / 256 rows of the chosen data and one epoch, for CI.

The two frameworks alternate epoch by epoch, so load from elsewhere on the machine falls on
both; PyTorch gets as many threads as NumPy's BLAS (``OPENBLAS_NUM_THREADS``, else every
core). Per epoch: accuracy after it, wall seconds of the training alone, and CPU seconds of
the process over all threads (steadier than wall time on a busy machine). Peak memory is the
process's ``ru_maxrss`` after each of our epochs: with PyTorch in the process too it is an
upper bound on ours; ``--no-torch`` measures ours alone. Finally ``--profile-steps`` training
steps of ours run with a timer around each op's forward and backward and the optimizer's step
(outermost calls only: a backward's Tensor ops count as its own time), and the time inside
each and the rest is listed. PyTorch is a yardstick only: skipped if absent.

    OPENBLAS_NUM_THREADS=1 python benchmarks/cnn.py [--epochs 12] [--fashion] [--smoke] [--no-torch]

On a machine shared with other work use one thread: OpenBLAS's threads wait for each other,
and with the cores oversubscribed a two-thread step can take several times a one-thread step.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # the recipe itself

from mnist_cnn import SAMPLE, load_split, recipe

from tinygrad_mnist import Tensor, optim
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.data import as_image_batch, load_idx_folder, scale_pixels
from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.train import evaluate, fit

FASHION = Path("/usr/share/datasets/fashion-mnist")
BATCH_SIZE = 128
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Epoch = Callable[[int], tuple[float, float, float]]  # trains epoch e: (accuracy after it, wall s, CPU s of training)


def load_fashion(folder: Path) -> Split:
    """Fashion-MNIST's train and test sets as (m, 1, 28, 28) float32 images in [0, 1] and labels."""
    arrays = []
    for split in ("train", "test"):
        pixels, labels = load_idx_folder(folder, split)
        arrays += [as_image_batch(scale_pixels(pixels, "unit")), labels]
    return arrays[0], arrays[1], arrays[2], arrays[3]


def blas_threads() -> int:
    """The thread count NumPy's BLAS was started with (OpenBLAS and OpenMP read these at import)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return os.cpu_count() or 1


def peak_memory_mb() -> float:
    """The process's peak resident memory so far (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def timed(train: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and process CPU seconds (all threads) of ``train()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    train()
    return time.perf_counter() - wall, time.process_time() - cpu


def ours(split: Split, seed: int) -> Epoch:
    x_train, y_train, x_eval, y_eval = split
    model, optimizer = recipe(seed)
    loader = DataLoader(x_train, y_train, batch_size=BATCH_SIZE, shuffle=True, seed=seed)

    def epoch(e: int) -> tuple[float, float, float]:
        wall, cpu = timed(lambda: fit(model, optimizer, loader, e + 1, start_epoch=e, progress=False))
        return evaluate(model, x_eval, y_eval).accuracy, wall, cpu

    return epoch


def pytorch(split: Split, seed: int) -> Epoch:
    import torch

    x_train, y_train, x_eval, y_eval = (torch.from_numpy(a) for a in split)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64 * 7 * 7, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    for module in model:
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            torch.nn.init.zeros_(module.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train(e: int) -> None:
        model.train()
        order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed * 1000 + e))
        for rows in order.split(BATCH_SIZE):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x_train[rows]), y_train[rows]).backward()
            optimizer.step()

    def epoch(e: int) -> tuple[float, float, float]:
        wall, cpu = timed(lambda: train(e))
        model.eval()
        with torch.no_grad():
            batches = zip(x_eval.split(1024), y_eval.split(1024), strict=True)
            correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in batches)
        return correct / len(y_eval), wall, cpu

    return epoch


def op_methods() -> dict[str, tuple[type, str]]:
    """Every op's forward and backward (each ``autograd.Function`` subclass's), and the optimizer's step,
    by ``Class.method``."""
    methods, classes = {}, [Function]
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        if cls is not Function:
            methods |= {f"{cls.__name__}.{m}": (cls, m) for m in ("forward", "backward") if m in vars(cls)}
    return methods | {"Optimizer.step": (optim.Optimizer, "step")}


@contextmanager
def timed_methods(methods: dict[str, tuple[type, str]]) -> Iterator[dict[str, float]]:
    """Seconds spent inside each of ``methods``, outermost calls only, while the block runs.

    An op's backward is written in Tensor ops, so it runs other ops' forwards: those count as
    the backward's time, and the rows add up to the step without counting anything twice.
    """
    seconds = dict.fromkeys(methods, 0.0)
    depth = [0]
    originals = {name: vars(cls)[method] for name, (cls, method) in methods.items()}

    def timer(name: str, function: Callable[..., object]) -> Callable[..., object]:
        def timed(*args: object) -> object:
            if depth[0]:
                return function(*args)
            depth[0] += 1
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                seconds[name] += time.perf_counter() - started
                depth[0] -= 1

        return timed

    for name, (cls, method) in methods.items():
        original = originals[name]
        if isinstance(original, staticmethod):
            setattr(cls, method, staticmethod(timer(name, original.__func__)))
        else:
            setattr(cls, method, timer(name, original))
    try:
        yield seconds
    finally:
        for name, (cls, method) in methods.items():
            setattr(cls, method, originals[name])


def profile_steps(split: Split, steps: int, seed: int) -> None:
    """Where a training step's time goes: seconds inside each op method, over ``steps`` steps."""
    x_train, y_train = split[0], split[1]
    model, optimizer = recipe(seed)
    batches = [
        (Tensor(x_train[i : i + BATCH_SIZE]), y_train[i : i + BATCH_SIZE])
        for i in range(0, steps * BATCH_SIZE, BATCH_SIZE)
    ]

    def train() -> None:
        for x, y in batches:
            loss = model(x).cross_entropy(y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    train()  # warm-up, outside the timing
    with timed_methods(op_methods()) as spent:
        started = time.perf_counter()
        train()
        total = time.perf_counter() - started
    print(
        f"\nWhere our time goes: {steps} training steps at batch {BATCH_SIZE}, {total / steps * 1000:.1f} ms a step\n"
    )
    print("| op method | ms / step | share |\n|---|---|---|")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        if seconds / total >= 0.005:
            print(f"| {name} | {seconds / steps * 1000:.1f} | {seconds / total:.1%} |")
    rest = total - sum(spent.values())
    print(f"| everything else (graph, Python, data) | {rest / steps * 1000:.1f} | {rest / total:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fashion", action="store_true", help="Fashion-MNIST 60k / 10k instead of the MNIST sample")
    parser.add_argument("--data", type=Path, help="the MNIST train.csv.gz, or with --fashion the IDX folder")
    parser.add_argument("--smoke", action="store_true", help="512 train rows, 256 scored, 1 epoch, 2 profiled steps")
    parser.add_argument("--no-torch", action="store_true", help="ours alone (peak memory then is ours alone)")
    parser.add_argument("--profile-steps", type=int, default=20, help="steps profiled for the time breakdown")
    args = parser.parse_args()

    split = load_fashion(args.data or FASHION) if args.fashion else load_split(args.data or SAMPLE)
    epochs, profiled = args.epochs, args.profile_steps
    if args.smoke:
        split = (split[0][:512], split[1][:512], split[2][:256], split[3][:256])
        epochs, profiled = 1, 2
    scored = "test" if args.fashion else "dev"
    threads = blas_threads()
    frameworks: dict[str, Callable[[Split, int], Epoch]] = {"tinygrad_mnist": ours}
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(threads)
            frameworks["PyTorch"] = pytorch
        except ImportError:
            print("PyTorch is not installed: tinygrad_mnist alone\n")
    names = list(frameworks)
    print(
        f"{'Fashion-MNIST' if args.fashion else 'MNIST sample'}: {len(split[0])} training rows, {len(split[2])} "
        f"{scored} rows, batch {BATCH_SIZE}, {threads} BLAS thread(s)\n"
    )
    print(f"| epoch | {' | '.join(f'{n} {scored} acc | {n} s | {n} CPU s' for n in names)} | our peak MB |")
    print("|---" * (2 + 3 * len(names)) + "|")
    accuracy = {name: np.zeros(epochs) for name in names}
    seconds = {name: np.zeros(epochs) for name in names}
    cpu = {name: np.zeros(epochs) for name in names}
    peaks = np.zeros(epochs)
    runs = {name: build(split, args.seed) for name, build in frameworks.items()}
    for e in range(epochs):
        for name, epoch in runs.items():
            accuracy[name][e], seconds[name][e], cpu[name][e] = epoch(e)
            if name == "tinygrad_mnist":
                peaks[e] = peak_memory_mb()
        cells = [f"{accuracy[n][e]:.4f} | {seconds[n][e]:.1f} | {cpu[n][e]:.1f}" for n in names]
        print(f"| {e + 1} | {' | '.join(cells)} | {peaks[e]:.0f} |", flush=True)

    print(f"\n| | {' | '.join(names)} |\n" + "|---" * (1 + len(names)) + "|")
    print(f"| final {scored} accuracy | " + " | ".join(f"{accuracy[n][-1]:.4f}" for n in names) + " |")
    print(f"| best {scored} accuracy | " + " | ".join(f"{accuracy[n].max():.4f}" for n in names) + " |")
    print("| median training s/epoch | " + " | ".join(f"{np.median(seconds[n]):.1f}" for n in names) + " |")
    print("| median CPU s/epoch | " + " | ".join(f"{np.median(cpu[n]):.1f}" for n in names) + " |")
    if "PyTorch" in names:
        wall_ratio = np.median(seconds["tinygrad_mnist"] / seconds["PyTorch"])
        cpu_ratio = np.median(cpu["tinygrad_mnist"] / cpu["PyTorch"])
        print(f"\nours / PyTorch, median over epochs: {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU")
    print(f"peak resident memory after our last epoch: {peaks[-1]:.0f} MB")
    profile_steps(split, profiled, args.seed)


if __name__ == "__main__":
    main()
