"""Load time of a Kaggle-sized train.csv: our reader next to plain ``pandas.read_csv``, in one run.

Builds a 42,000-row file in Kaggle's layout (about 73 MB, like Kaggle's own
train.csv) by repeating the rows of the sample in ``../shared/data/mnist``, in a
temporary folder. Then times, alternately and after a warm-up, ``load_kaggle_train``
(which parses, validates and returns uint8 images and int64 labels) and
``pandas.read_csv`` with its defaults (which only parses), and prints the medians
and their ratio. A ratio near 1.0 or below means validation costs nothing extra.

Run: ``.venv/bin/python benchmarks/csv_load.py [--rows 42000] [--repeats 5] [--sample PATH]``
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tinygrad_mnist.data import load_kaggle_train

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist" / "train.csv.gz"


def kaggle_sized_csv(sample: Path, rows: int, folder: Path) -> Path:
    """A plain train.csv of ``rows`` rows: the sample's rows repeated in order."""
    header, *lines = gzip.decompress(sample.read_bytes()).decode().splitlines()
    path = folder / "train.csv"
    path.write_text("\n".join([header, *(lines[i % len(lines)] for i in range(rows))]) + "\n")
    return path


def medians(steps: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each step, run alternately so that both see the same machine load."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=42_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sample", type=Path, default=SAMPLE.resolve())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = kaggle_sized_csv(args.sample, args.rows, Path(folder))
        images, labels = load_kaggle_train(path)
        size = path.stat().st_size / 1e6
        print(f"{size:.1f} MB: images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}")
        result = medians({"ours": lambda: load_kaggle_train(path), "pandas": lambda: pd.read_csv(path)}, args.repeats)
    print(f"load_kaggle_train  {result['ours']:.3f} s (median of {args.repeats})")
    print(f"pandas.read_csv    {result['pandas']:.3f} s")
    print(f"ratio ours/pandas  {result['ours'] / result['pandas']:.2f}x")


if __name__ == "__main__":
    main()
