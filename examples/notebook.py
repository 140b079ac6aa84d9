"""The notebook (``mnist_numpy_notebook``) retold with tinygrad_mnist, step by step.

Same data, same networks, same initialisation (``randn * 0.01`` seeded with 3), same
full-batch gradient descent on raw pixels in float64; only the hand-written parts are
replaced: ``L_model_forward`` by an ``nn.Sequential``, ``compute_cost`` by
``cross_entropy``, ``L_model_backward`` by ``backward()``, ``update_parameters`` by
``optim.SGD``. Prints the notebook's figures next to ours and writes the digit, the
cost and accuracy plots and the Kaggle submissions into ``--out``.

The notebook had Kaggle's 42,000 rows; the sample beside this checkout has 8,000, so
the first run's test half is rows 5,000..7,999 (3,000 rows, not 5,000) and the second
run trains on 6,000 rows (not 40,000) and holds out 2,000 random rows for dev.

    python examples/notebook.py [--data train.csv.gz] [--out runs/notebook]
    TINYGRAD_MNIST_QUICK=1 python examples/notebook.py     # 100 + 10 iterations, for CI
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_mnist import Tensor, cross_entropy, nn
from tinygrad_mnist.data import (
    DataError,
    DataLoader,
    find_data,
    one_hot,
    scale_pixels,
    sequential_split,
    write_kaggle_submission,
)
from tinygrad_mnist.optim import SGD
from tinygrad_mnist.plots import plot_accuracy, plot_cost, plot_digits
from tinygrad_mnist.recipes import RECIPES, build_model, build_optimizer, prepare_inputs, split_data
from tinygrad_mnist.train import History, fit, predict

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist" / "train.csv.gz"
QUICK = os.environ.get("TINYGRAD_MNIST_QUICK") == "1"
FIRST_ITERATIONS, SECOND_ITERATIONS = (100, 10) if QUICK else (500, 2000)
TRAIN_ROWS = 5000
SHADES = " .:-=+*#%@"


def ascii_digit(pixels: np.ndarray) -> str:
    """A 28 x 28 digit as text, darker pixels as denser characters: ``plot_digit`` in a terminal."""
    rows = pixels.reshape(28, 28)[::2]  # every other row: a character is about twice as tall as wide
    lines = ["".join(SHADES[int(p) * len(SHADES) // 256] for p in row).rstrip() for row in rows]
    return "\n".join(lines).strip("\n")


def accuracy(model: nn.Module, x: np.ndarray, labels: np.ndarray) -> float:
    """``evaluate_prediction(predict(X, parameters), Y)``: the fraction of rows whose most likely class is right."""
    return float(np.mean(predict(model, x)[0] == labels))


def first_run(x_train: np.ndarray, y_train: np.ndarray, iterations: int) -> tuple[nn.Module, list[float]]:
    """``L_layer_model(X, Y, [784, 10, 10], learning_rate=0.001, num_iterations=500)``, its loop spelled out."""
    model = nn.Sequential(nn.Linear(784, 10, dtype=np.float64), nn.ReLU(), nn.Linear(10, 10, dtype=np.float64))
    nn.init.notebook_(model)  # step a: initialize_parameters_deep
    optimizer = SGD(model.parameters(), lr=0.001)
    x, costs = Tensor(x_train), []
    for i in range(iterations):
        cost = cross_entropy(model(x), y_train)  # steps b and c: L_model_forward, compute_cost
        optimizer.zero_grad()
        cost.backward()  # step d: L_model_backward
        optimizer.step()  # step e: update_parameters
        if i % 100 == 0:
            print(f"Cost after iteration {i}: {cost.item():f}")
        if i % 10 == 0:
            costs.append(cost.item())
    return model, costs


def second_run(images: np.ndarray, labels: np.ndarray, iterations: int, out: Path) -> tuple[nn.Module, float, float]:
    """``L_layer_model_cv`` on 784-785-10, lr 0.002, with a random dev set: the ``notebook`` recipe."""
    recipe = RECIPES["notebook"].replace(epochs=iterations)
    split = split_data(recipe, images, labels)
    x_train = prepare_inputs(split.train_images, recipe.preprocessing())
    x_dev = prepare_inputs(split.dev_images, recipe.preprocessing())
    print(f"{len(x_train)} training rows, {len(x_dev)} dev rows drawn at random (seed {recipe.seed})")
    model = build_model(recipe)
    loader = DataLoader(x_train, split.train_labels, batch_size=None)  # the full batch every iteration

    def report(done: int, history: History) -> None:
        if (done - 1) % 100 == 0 and history.step[-1] == done - 1:
            print(f"Training cost after iteration {done - 1}: {history.loss[-1]:f}")

    started = time.perf_counter()
    history = fit(
        model,
        build_optimizer(recipe, model.parameters()),
        loader,
        recipe.epochs,
        dev=(x_dev, split.dev_labels),
        log_every=recipe.log_every,
        eval_every=recipe.eval_every,
        progress=False,
        on_epoch_end=report,
    )
    plot_accuracy(history.train_accuracy, history.dev_accuracy, out / "accuracy.png", steps=history.epoch)
    train_accuracy = accuracy(model, x_train, split.train_labels)
    dev_accuracy = accuracy(model, x_dev, split.dev_labels)
    print(f"Train set accuracy is: {train_accuracy:.4f}")
    print(f"Dev set accuracy is: {dev_accuracy:.4f}")
    print(f"Elapsed time of: {(time.perf_counter() - started) / 60:.2f} minutes.")
    return model, train_accuracy, dev_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="train.csv(.gz) or its folder; default $TINYGRAD_MNIST_DATA, else the sample")
    parser.add_argument("--out", type=Path, default=Path("runs/notebook"), help="folder for plots and submissions")
    args = parser.parse_args()
    try:
        if args.data or os.environ.get("TINYGRAD_MNIST_DATA"):
            source = find_data(args.data)
        else:
            source = dataclasses.replace(find_data(SAMPLE), reason="the sample beside this checkout")
        images, labels = source.load_train()
        test_images = source.load_test()[0] if source.test is not None else None
    except DataError as error:
        sys.exit(str(error))
    args.out.mkdir(parents=True, exist_ok=True)

    print(f"== The data: {source}")
    print(ascii_digit(images[20]))
    plot_digits(images[20:21], args.out / "digit.png", labels=labels[20:21])
    print(f"The label is: {labels[20]}   (drawn in {args.out / 'digit.png'})")
    x = scale_pixels(images, "none", np.float64)  # raw 0..255 pixels, as the notebook trains on them
    print(f"Shape of X is: {x.shape}   Shape of Y is: {one_hot(labels).shape}   (batch first; the notebook's are .T)")
    test_rows = min(TRAIN_ROWS, len(x) - TRAIN_ROWS)
    split = sequential_split(x, labels, TRAIN_ROWS, test_rows)
    print(f"Shape of X_train is: {split.train_images.shape}   Shape of X_test is: {split.dev_images.shape}")

    print(f"\n== 784-10-10, lr 0.001, {FIRST_ITERATIONS} full-batch iterations")
    model, costs = first_run(split.train_images, split.train_labels, FIRST_ITERATIONS)
    plot_cost(costs, args.out / "cost.png", steps=np.arange(len(costs)) * 10, title="Learning rate = 0.001")
    train_accuracy = accuracy(model, split.train_images, split.train_labels)
    test_accuracy = accuracy(model, split.dev_images, split.dev_labels)
    print(f"Train set accuracy is: {train_accuracy:.4f}")
    print(f"Test set accuracy is: {test_accuracy:.4f}   (rows {TRAIN_ROWS:,}..{TRAIN_ROWS + test_rows - 1:,})")
    if test_images is not None:
        kaggle_x = scale_pixels(test_images, "none", np.float64)
        path = write_kaggle_submission(predict(model, kaggle_x)[0], args.out / "submission_784-10-10.csv")
        print(f"wrote {path}")

    print(f"\n== 784-785-10, lr 0.002, {SECOND_ITERATIONS} full-batch iterations, random dev set")
    model, wide_train, wide_dev = second_run(images, labels, SECOND_ITERATIONS, args.out)
    if test_images is not None:
        kaggle_x = prepare_inputs(test_images, RECIPES["notebook"].preprocessing())
        print(f"wrote {write_kaggle_submission(predict(model, kaggle_x)[0], args.out / 'submission.csv')}")

    print("\n== The notebook's figures next to ours")
    print(f"{'run':<34}{'the notebook (42,000 rows)':<36}ours ({len(x):,} rows)")
    print(f"{'784-10-10, 500 it., lr 0.001':<34}{'test 89% (rows 5,000..9,999)':<36}", end="")
    print(f"test {test_accuracy:.1%} (rows {TRAIN_ROWS:,}..{TRAIN_ROWS + test_rows - 1:,}), {FIRST_ITERATIONS:,} it.")
    print(f"{'':<34}{'Kaggle 88.9%':<36}train {train_accuracy:.1%}")
    print(f"{'784-785-10, 2,000 it., lr 0.002':<34}{'Kaggle 96.7%':<36}", end="")
    print(f"dev {wide_dev:.1%} (2,000 random rows), train {wide_train:.1%}, {SECOND_ITERATIONS:,} it.")


if __name__ == "__main__":
    main()
