"""The modern recipe (examples/mnist_mlp.py), ours next to PyTorch CPU, in one process on the same split.

Recipe: pixels scaled to [0, 1], He init, batch 128 (shuffled), Adam lr 1e-3,
784-785-10 with ReLU; train on rows 0..6,999 of train.csv.gz, dev = rows 7,000..7,999.
The two alternate epoch by epoch, so load from elsewhere on the machine falls on both.
Prints a markdown table of dev accuracy per epoch and wall seconds per epoch
(training plus the dev evaluation); with ``--seeds N`` the accuracies are means over
N seeds (one run differs from another by a few tenths of a point on 1,000 dev rows).
PyTorch is a yardstick only: skipped if absent.

    python benchmarks/modern_recipe.py [--epochs 25] [--seed 0] [--seeds 1] [--data path/to/train.csv.gz]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # the recipe itself

from mnist_mlp import SAMPLE, load_split, recipe

from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.train import History, fit

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Epoch = Callable[[int], float]  # trains epoch e, returns the dev accuracy after it


def ours(split: Split, seed: int) -> Epoch:
    x_train, y_train, x_dev, y_dev = split
    model, optimizer = recipe(seed)
    loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True, seed=seed)
    history = History()

    def epoch(e: int) -> float:
        fit(model, optimizer, loader, e + 1, dev=(x_dev, y_dev), start_epoch=e, history=history, progress=False)
        return history.dev_accuracy[-1]

    return epoch


def pytorch(split: Split, seed: int) -> Epoch:
    import torch

    x_train, y_train, x_dev, y_dev = (torch.from_numpy(a) for a in split)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, 785), torch.nn.ReLU(), torch.nn.Linear(785, 10))
    for module in model:
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            torch.nn.init.zeros_(module.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    dataset = torch.utils.data.TensorDataset(x_train, y_train)
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True)

    def epoch(e: int) -> float:
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            return (model(x_dev).argmax(1) == y_dev).float().mean().item()

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="runs per framework, seeds seed..seed+seeds-1; averaged")
    parser.add_argument("--data", type=Path, default=SAMPLE)
    args = parser.parse_args()

    split = load_split(args.data)
    frameworks: dict[str, Callable[[Split, int], Epoch]] = {"tinygrad_mnist": ours}
    try:
        import torch  # noqa: F401 - only to learn whether the yardstick is there

        frameworks["PyTorch"] = pytorch
    except ImportError:
        print("PyTorch is not installed: tinygrad_mnist alone\n")
    names = list(frameworks)
    accuracy = {name: np.zeros((args.seeds, args.epochs)) for name in names}
    seconds = {name: np.zeros((args.seeds, args.epochs)) for name in names}
    for run, seed in enumerate(range(args.seed, args.seed + args.seeds)):
        epochs = {name: build(split, seed) for name, build in frameworks.items()}
        for e in range(args.epochs):
            for name, epoch in epochs.items():
                started = time.perf_counter()
                accuracy[name][run, e] = epoch(e)
                seconds[name][run, e] = time.perf_counter() - started

    runs = f", mean of {args.seeds} seeds" if args.seeds > 1 else ""
    print(f"Dev accuracy and wall seconds per epoch{runs}\n")
    print("| epoch | " + " | ".join(f"{n} dev acc | {n} s" for n in names) + " |")
    print("|---" * (1 + 2 * len(names)) + "|")
    for e in range(args.epochs):
        cells = [f"{accuracy[n][:, e].mean():.4f} | {np.median(seconds[n][:, e]):.3f}" for n in names]
        print(f"| {e + 1} | " + " | ".join(cells) + " |")
    print("\n| | " + " | ".join(names) + " |\n" + "|---" * (1 + len(names)) + "|")
    print("| best dev accuracy | " + " | ".join(f"{accuracy[n].max(axis=1).mean():.4f}" for n in names) + " |")
    print("| median s/epoch | " + " | ".join(f"{np.median(seconds[n]):.3f}" for n in names) + " |")
    print("| fastest epoch, s | " + " | ".join(f"{seconds[n].min():.3f}" for n in names) + " |")


if __name__ == "__main__":
    main()
