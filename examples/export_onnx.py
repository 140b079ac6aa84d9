"""Out of the framework and back: train the small CNN, export it to ONNX, run it with ONNX Runtime, load it back.

1. Train the ``cnn`` recipe's network for one epoch on rows 0..6,999 of the sample.
2. ``tinygrad_mnist.onnx.export`` it: one traced forward pass, written as standard ONNX operators
   (Conv, Relu, MaxPool, Reshape, Gemm) with the weights as initializers under their parameter
   names and a symbolic batch axis; ``onnx.checker`` passes it.
3. Run it with ONNX Runtime on the 2,000 unlabelled test rows: the same predictions as ours, and a
   Kaggle submission from them. Both are timed, taking turns.
4. ``tinygrad_mnist.onnx.load`` it back: a module running the ONNX graph with our own ops, whose
   logits are ours bit for bit, and which can be differentiated and fine-tuned like any other.

Then open the ``.onnx`` file in Netron (https://netron.app, or ``pip install netron && netron FILE``)
to see the network as every serving engine sees it.

    python examples/export_onnx.py [path/to/train.csv.gz] [--out runs/onnx] [--turns 7]
    python examples/export_onnx.py --turns 21                  # more timing turns, for the benchmark
    TINYGRAD_MNIST_QUICK=1 python examples/export_onnx.py      # 10 training steps, one timing turn: for CI

Needs the optional ONNX packages: ``pip install 'tinygrad_mnist[onnx]'``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinygrad_mnist import Tensor, no_grad
from tinygrad_mnist.data import DataLoader, load_kaggle_test, load_kaggle_train, write_kaggle_submission
from tinygrad_mnist.onnx import export, load
from tinygrad_mnist.recipes import RECIPES, build_model, build_optimizer, prepare_inputs
from tinygrad_mnist.train import evaluate, fit

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist" / "train.csv.gz"
QUICK = os.environ.get("TINYGRAD_MNIST_QUICK") == "1"
#: Training rows (one epoch of batches of 128; rows 7,000..7,999 are the dev set) and timing turns.
TRAIN_ROWS, TURNS = (1280, 1) if QUICK else (7000, 7)


def median_milliseconds(runs: dict[str, Callable[[], object]], turns: int) -> dict[str, float]:
    """Each run's median wall time in ms over ``turns`` turns, the runs taking turns after one warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(turns):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", nargs="?", type=Path, default=SAMPLE, help="Kaggle train.csv(.gz); test beside it")
    parser.add_argument("--out", type=Path, default=Path("runs/onnx"), help="folder for the .onnx file and submission")
    parser.add_argument("--turns", type=int, default=TURNS, help="timing turns of each runtime, alternating")
    args = parser.parse_args()
    try:
        import onnx
        import onnxruntime
    except ModuleNotFoundError as error:
        print(f"export_onnx.py needs {error.name}: pip install 'tinygrad_mnist[onnx]'", file=sys.stderr)
        return 1

    recipe = RECIPES["cnn"]
    preprocessing = recipe.preprocessing()
    images, labels = load_kaggle_train(args.train)
    test_images = load_kaggle_test(args.train.with_name(args.train.name.replace("train", "test")))
    x_train, x_dev = prepare_inputs(images[:TRAIN_ROWS], preprocessing), prepare_inputs(images[7000:], preprocessing)
    x_test = prepare_inputs(test_images, preprocessing)

    # 1. Train.
    model = build_model(recipe)
    loader = DataLoader(x_train, labels[:TRAIN_ROWS], batch_size=128, shuffle=True, seed=0)
    fit(model, build_optimizer(recipe, model.parameters()), loader, epochs=1, progress=False)
    model.eval()
    dev_accuracy = evaluate(model, x_dev, labels[7000:]).accuracy
    print(f"trained on {TRAIN_ROWS} rows for one epoch: dev accuracy {dev_accuracy:.4f}")

    # 2. Export, and check what was written.
    path = args.out / "mnist_cnn.onnx"
    export(model, x_test[:1], path, input_names=["pixels"], output_names=["logits"])
    written = onnx.load(path)
    onnx.checker.check_model(written, full_check=True)
    operators = [node.op_type for node in written.graph.node if node.op_type != "Constant"]
    print(f"exported to {path} ({path.stat().st_size / 1e6:.2f} MB): {' -> '.join(operators)}")
    print("initializers: " + ", ".join(f"{t.name} {list(t.dims)}" for t in written.graph.initializer))
    print("onnx.checker: ok")

    # 3. Run with ONNX Runtime on the test rows, next to ours.
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])

    def ours() -> np.ndarray:
        with no_grad():
            return model(Tensor(x_test)).numpy()

    def theirs() -> np.ndarray:
        return session.run(None, {"pixels": x_test})[0]

    ours_logits, their_logits = ours(), theirs()
    same = int(np.sum(ours_logits.argmax(1) == their_logits.argmax(1)))
    print(
        f"ONNX Runtime vs tinygrad_mnist on {len(x_test)} test rows: largest logit difference "
        f"{np.abs(ours_logits - their_logits).max():.2e}, same predictions: {same} of {len(x_test)}"
    )
    dev_predictions = session.run(None, {"pixels": x_dev})[0].argmax(1)
    print(f"dev accuracy (ONNX Runtime): {np.mean(dev_predictions == labels[7000:]):.4f}")
    submission = write_kaggle_submission(their_logits.argmax(1), args.out / "submission_onnx.csv")
    print(f"wrote {submission}")

    load_before = os.getloadavg()[0]
    times = median_milliseconds({"tinygrad_mnist": ours, "ONNX Runtime": theirs}, args.turns)
    ratio = times["tinygrad_mnist"] / times["ONNX Runtime"]
    print(
        f"inference on {len(x_test)} test rows (median of {args.turns} alternating turns, load average "
        f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}): tinygrad_mnist {times['tinygrad_mnist']:.1f} ms, "
        f"ONNX Runtime {times['ONNX Runtime']:.1f} ms, ratio ours / ONNX Runtime {ratio:.2f}"
    )

    # 4. Back in: the ONNX graph run with our ops.
    loaded = load(path)
    with no_grad():
        identical = np.array_equal(loaded(x_test).numpy(), ours_logits)
    print(f"loaded back with tinygrad_mnist.onnx.load: {loaded}; identical logits: {identical}")
    print(f"open {path} in Netron (https://netron.app) to see the graph")
    return 0 if same == len(x_test) and identical else 1


if __name__ == "__main__":
    sys.exit(main())
