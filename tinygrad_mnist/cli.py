"""The ``tinygrad-mnist`` command line: train, evaluate, predict, export, show, download, graph.

Usage errors exit 2 (argparse); bad data, checkpoints or a diverging run exit 1
with one message and no traceback. Everything here is thin glue over the library.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import (
    DATASETS,
    PIXEL_SCALINGS,
    DataError,
    DataSource,
    download,
    find_data,
    load_kaggle_csv,
    write_kaggle_submission,
)
from .data.loader import DataLoader
from .files import atomic_write
from .onnx import OnnxError
from .onnx import export as export_onnx
from .plots import plot_accuracy, plot_confident_errors, plot_confusion_matrix, plot_cost, plot_digits
from .recipes import (
    ARCHITECTURES,
    INITIALISATIONS,
    OPTIMIZERS,
    RECIPES,
    SPLITS,
    Recipe,
    build_model,
    build_optimizer,
    prepare_inputs,
    split_data,
)
from .tensor import Tensor
from .train import History, NonFiniteLossError, fit, predict
from .viz import VIEWS, GraphvizNotFoundError, draw_diff, draw_model, render

CLASS_NAMES = [str(digit) for digit in range(10)]
USER_ERRORS = (DataError, CheckpointError, NonFiniteLossError, GraphvizNotFoundError, FileNotFoundError, ValueError)


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit 2, like argparse)."""


# ----- argument parsing --------------------------------------------------------------


def _layers(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"layer sizes are comma-separated integers like 784,785,10, got {text!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need two or more positive layer sizes like 784,785,10, got {text!r}")
    return sizes


def _batch_size(text: str) -> int:
    """A positive batch size, or 0 for 'full' (the whole training set per step)."""
    if text == "full":
        return 0
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise argparse.ArgumentTypeError(f"batch size is a positive integer or 'full', got {text!r}")
    return size


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-mnist", description="Train, score and draw MNIST networks with tinygrad_mnist."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = "Kaggle train.csv (or its folder) or an IDX folder; default: $TINYGRAD_MNIST_DATA, data/, or download"

    train = commands.add_parser("train", help="train a network and write a checkpoint, its history and plots")
    train.add_argument("--data", help=data_help)
    train.add_argument("--recipe", choices=sorted(RECIPES), default="modern", help="defaults for everything below")
    train.add_argument("--arch", choices=ARCHITECTURES)
    train.add_argument("--layers", type=_layers, help="layer sizes, e.g. 784,785,10")
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr", type=float, help="learning rate")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive)
    length.add_argument("--iterations", type=_positive, help="full-batch iterations (needs --batch-size full)")
    train.add_argument("--batch-size", type=_batch_size, help="examples per step, or 'full'")
    train.add_argument("--seed", type=int)
    train.add_argument("--dev-size", type=_positive, help="rows held out for dev accuracy")
    train.add_argument("--split", choices=SPLITS, help="dev rows: the last ones, or a seeded random draw")
    train.add_argument("--init", choices=INITIALISATIONS)
    train.add_argument("--scale", choices=PIXEL_SCALINGS, help="pixel scaling")
    train.add_argument("--dtype", choices=("float32", "float64"))
    train.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder (default runs/latest)")
    train.add_argument("--history-format", choices=("json", "csv"), default="json")
    train.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    train.add_argument("--quiet", action="store_true", help="print only the final result")

    evaluate_ = commands.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix")
    evaluate_.add_argument("--checkpoint", type=Path, required=True)
    evaluate_.add_argument("--data", help=data_help + "; scored on the checkpoint's dev rows")
    evaluate_.add_argument("--out", type=Path, help="folder for the confusion-matrix and confident-errors plots")
    evaluate_.add_argument("--quiet", action="store_true")

    predict_ = commands.add_parser("predict", help="write a Kaggle submission (ImageId,Label)")
    predict_.add_argument("--checkpoint", type=Path, required=True)
    predict_.add_argument("--data", help=data_help + "; its test.csv is used")
    predict_.add_argument("--test", type=Path, help="the test CSV itself (overrides --data)")
    predict_.add_argument("--out", type=Path, default=Path("submission.csv"))
    predict_.add_argument("--quiet", action="store_true")

    export_ = commands.add_parser("export", help="write a checkpoint's network as an ONNX model (ONNX Runtime, Netron)")
    export_.add_argument("--checkpoint", type=Path, required=True)
    export_.add_argument("-o", "--out", type=Path, default=Path("model.onnx"))
    export_.add_argument("--opset", type=_positive, help="ONNX opset version (default: 18)")
    export_.add_argument("--quiet", action="store_true")

    show = commands.add_parser("show", help="a grid of training digits with labels (and predictions)")
    show.add_argument("--data", help=data_help)
    show.add_argument("--checkpoint", type=Path, help="add the model's predictions")
    show.add_argument("--start", type=int, default=0, help="first row")
    show.add_argument("--count", type=_positive, default=20)
    show.add_argument("--out", type=Path, default=Path("digits.png"))
    show.add_argument("--quiet", action="store_true")

    download_ = commands.add_parser("download", help="download MNIST or Fashion-MNIST (checked by SHA-256)")
    download_.add_argument("name", choices=tuple(DATASETS))
    download_.add_argument("--root", type=Path, help="cache folder (default: $TINYGRAD_MNIST_CACHE or ~/.cache)")
    download_.add_argument("--mirror", help="base URL to download from instead of the official mirrors")
    download_.add_argument("--quiet", action="store_true")

    graph = commands.add_parser(
        "graph", help="draw a network's graph: the interactive explorer (.html), or SVG, PNG, PDF or .dot by suffix"
    )
    graph.add_argument("--arch", choices=ARCHITECTURES, default="mlp")
    graph.add_argument("--layers", type=_layers, help="layer sizes (default: the architecture's own)")
    graph.add_argument("-o", "--out", type=Path, default=Path("graph.svg"), help=".html, .svg, .png, .pdf or .dot")
    graph.add_argument("--collapse", action="store_true", help="one node per module")
    graph.add_argument("--grad", action="store_true", help="run backward once and show gradient norms")
    graph.add_argument("--view", choices=VIEWS, default="forward", help="the forward graph, the backward one, or both")
    graph.add_argument(
        "--diff",
        nargs=2,
        type=Path,
        metavar=("CKPT_A", "CKPT_B"),
        help="draw checkpoint B's graph, marking what changed since A",
    )
    graph.add_argument("--quiet", action="store_true")
    return parser


# ----- commands ----------------------------------------------------------------------


def recipe_from(args: argparse.Namespace) -> Recipe:
    """The chosen recipe with every option the user gave laid over it."""
    recipe = RECIPES[args.recipe].replace(
        arch=args.arch,
        layers=args.layers,
        optimizer=args.optimizer,
        lr=args.lr,
        epochs=args.epochs,
        seed=args.seed,
        dev_size=args.dev_size,
        split=args.split,
        init=args.init,
        scaling=args.scale,
        dtype=args.dtype,
    )
    if args.batch_size is not None:
        recipe = recipe.replace(batch_size=args.batch_size or None)
    if args.iterations is not None:
        if recipe.batch_size is not None:
            raise UsageError("--iterations counts full-batch steps; add --batch-size full, or use --epochs")
        recipe = recipe.replace(epochs=args.iterations)
    return recipe


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, flush=True)


def _write_history(history: History, out: Path, fmt: str) -> Path:
    records = history.to_dict()
    if fmt == "json":
        text = json.dumps(records, indent=1)
    else:  # one row per logged step; the per-epoch columns fill the first rows, blank after
        per_epoch = ("epoch", "train_accuracy", "dev_loss", "dev_accuracy", "lr", "seconds")
        columns = ["step", "loss", *(key for key in per_epoch if records[key])]
        rows = itertools.zip_longest(*(records[key] for key in columns), fillvalue="")
        text = "\n".join(",".join(map(str, row)) for row in [columns, *rows]) + "\n"
    path = out / f"history.{fmt}"
    with atomic_write(path) as temporary:
        temporary.write_text(text)
    return path


def cmd_train(args: argparse.Namespace) -> int:
    recipe = recipe_from(args)
    source = find_data(args.data, progress=not args.quiet)
    _say(args, f"data: {source}")
    images, labels = source.load_train()
    split = split_data(recipe, images, labels)
    preprocessing = {
        **recipe.preprocessing(),
        "dev_split": {"split": recipe.split, "dev_size": recipe.dev_size, "seed": recipe.seed},
    }
    x_train, x_dev = prepare_inputs(split.train_images, preprocessing), prepare_inputs(split.dev_images, preprocessing)
    model = build_model(recipe)
    optimizer = build_optimizer(recipe, model.parameters())
    loader = DataLoader(
        x_train,
        split.train_labels,
        batch_size=recipe.batch_size,
        shuffle=recipe.batch_size is not None,
        seed=recipe.seed,
    )
    _say(
        args,
        f"training {model.__class__.__name__} {'-'.join(map(str, recipe.layers))} on {len(x_train)} rows, "
        f"dev {len(x_dev)} rows: {recipe.optimizer} lr {recipe.lr}, batch {recipe.batch_size or 'full'}, "
        f"{recipe.epochs} epochs",
    )

    def report(epoch: int, history: History) -> None:
        evaluated = history.epoch and history.epoch[-1] == epoch
        if evaluated and (epoch % max(1, recipe.epochs // 20) == 0 or epoch == recipe.epochs):
            _say(
                args,
                f"epoch {epoch:>4}/{recipe.epochs}: loss {history.loss[-1]:.4f}, "
                f"train {history.train_accuracy[-1]:.2%}, dev {history.dev_accuracy[-1]:.2%}",
            )

    history = fit(
        model,
        optimizer,
        loader,
        recipe.epochs,
        dev=(x_dev, split.dev_labels),
        log_every=recipe.log_every,
        eval_every=recipe.eval_every,
        progress=False if args.quiet else None,
        on_epoch_end=report,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = save_checkpoint(
        args.out / "model.safetensors",
        model,
        optimizer=optimizer,
        epoch=recipe.epochs,
        step=recipe.epochs * len(loader),
        history=history,
        preprocessing=preprocessing,
        class_names=CLASS_NAMES,
    )
    written = [checkpoint, _write_history(history, args.out, args.history_format)]
    if not args.no_plots:
        written.append(args.out / "cost.png")
        plot_cost(history.loss, written[-1], steps=history.step)
        written.append(args.out / "accuracy.png")
        per = "epoch" if recipe.batch_size else "iteration"  # a full-batch epoch is one iteration
        plot_accuracy(history.train_accuracy, history.dev_accuracy, written[-1], steps=history.epoch, xlabel=per)
    best = int(np.argmax(history.dev_accuracy))
    print(
        f"dev accuracy {history.dev_accuracy[-1]:.2%} (best {history.dev_accuracy[best]:.2%} at epoch "
        f"{history.epoch[best]}); {sum(history.seconds):.1f} s training"
    )
    _say(args, "wrote " + ", ".join(str(path) for path in written))
    return 0


def _dev_rows(source: DataSource, preprocessing: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The dev rows the checkpoint was scored on, from the same data."""
    images, labels = source.load_train()
    dev = preprocessing.get("dev_split")
    if dev is None:
        return images, labels
    split = split_data(Recipe(split=dev["split"], dev_size=dev["dev_size"], seed=dev["seed"]), images, labels)
    return split.dev_images, split.dev_labels


def cmd_evaluate(args: argparse.Namespace) -> int:
    ckpt = load_checkpoint(args.checkpoint)
    images, labels = _dev_rows(find_data(args.data, progress=not args.quiet), ckpt.preprocessing)
    classes, probabilities = predict(ckpt.model, prepare_inputs(images, ckpt.preprocessing))
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, classes), 1)
    print(f"accuracy {np.mean(classes == labels):.2%} on {len(labels)} dev rows")
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    print("per class: " + ", ".join(f"{digit}: {accuracy:.1%}" for digit, accuracy in enumerate(per_class)))
    print("confusion matrix (rows: true, columns: predicted)")
    print("     " + " ".join(f"{digit:>5}" for digit in range(10)))
    for digit, row in enumerate(confusion):
        print(f"{digit:>4} " + " ".join(f"{count:>5}" for count in row))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        plot_confusion_matrix(confusion, args.out / "confusion.png")
        plot_confident_errors(images, labels, probabilities, args.out / "confident_errors.png")
        _say(args, f"wrote {args.out / 'confusion.png'}, {args.out / 'confident_errors.png'}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    ckpt = load_checkpoint(args.checkpoint)
    if args.test is not None:
        test_images, _ = load_kaggle_csv(args.test)
    else:
        test_images, _ = find_data(args.data, progress=not args.quiet).load_test()
    classes, _ = predict(ckpt.model, prepare_inputs(test_images, ckpt.preprocessing))
    write_kaggle_submission(classes, args.out)
    _say(args, f"wrote {args.out}: {len(classes)} predictions (ImageId,Label)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.out.resolve() == args.checkpoint.resolve():
        raise ValueError(f"the output {args.out} is the checkpoint itself; write the ONNX model to another path")
    ckpt = load_checkpoint(args.checkpoint)
    if "input_shape" not in ckpt.preprocessing:
        raise CheckpointError(f"{args.checkpoint} does not record its input shape, so the model's input is unknown")
    dtype = next(ckpt.model.parameters()).dtype
    example = np.zeros((1, *ckpt.preprocessing["input_shape"]), dtype=dtype)
    metadata = {"preprocessing": json.dumps(ckpt.preprocessing), "class_names": json.dumps(ckpt.class_names)}
    try:
        proto = export_onnx(ckpt.model, example, args.out, opset_version=args.opset, metadata=metadata)
    except ModuleNotFoundError as error:  # the optional onnx package: one line saying how to install it
        raise OnnxError(str(error)) from None
    (output,) = proto.graph.output
    shapes = [
        ", ".join(["batch", *map(str, example.shape[1:])]),
        ", ".join(d.dim_param or str(d.dim_value) for d in output.type.tensor_type.shape.dim),
    ]
    _say(
        args,
        f"wrote {args.out}: input [{shapes[0]}] {dtype}, pixels scaled {ckpt.preprocessing.get('pixel_scaling')!r} "
        f"-> output [{shapes[1]}] (opset {proto.opset_import[0].version}, {len(proto.graph.node)} nodes)",
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    images, labels = find_data(args.data, progress=not args.quiet).load_train()
    rows = slice(args.start, args.start + args.count)
    if not 0 <= args.start < len(images):
        raise UsageError(f"--start {args.start} is outside the {len(images)} rows")
    predictions = None
    if args.checkpoint is not None:
        ckpt = load_checkpoint(args.checkpoint)
        predictions = predict(ckpt.model, prepare_inputs(images[rows], ckpt.preprocessing))[0]
    plot_digits(images[rows], args.out, labels=labels[rows], predictions=predictions)
    _say(args, f"wrote {args.out}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    folder = download(args.name, args.root, mirror=args.mirror, progress=not args.quiet)
    print(folder)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    if args.diff:
        return _graph_diff(args)
    recipe = Recipe(arch=args.arch, layers=args.layers, init="default")
    model = build_model(recipe)
    input_shape = (1, *recipe.preprocessing()["input_shape"])
    x = Tensor(np.random.default_rng(0).random(input_shape, dtype=np.float32))  # a pixel-like input
    graph = draw_model(
        model, x, np.zeros(1, dtype=np.int64), collapse=args.collapse, show_grad=args.grad, view=args.view
    )
    path = render(graph, args.out)
    _say(args, f"wrote {path}")
    return 0


def _graph_diff(args: argparse.Namespace) -> int:
    """Both checkpoints' models on one pixel-like image and its loss, B's graph drawn with A's differences."""
    first, second = args.diff
    for checkpoint in (first, second):
        if args.out.resolve() == checkpoint.resolve():
            raise UsageError(f"-o {args.out} is the checkpoint {checkpoint}; write the picture to another file")
    before, after = load_checkpoint(first), load_checkpoint(second)
    preprocessing = after.preprocessing if "input_shape" in after.preprocessing else Recipe().preprocessing()
    images = np.random.default_rng(0).integers(0, 256, (1, math.prod(preprocessing["input_shape"])), dtype=np.uint8)
    x = Tensor(prepare_inputs(images, preprocessing))
    picture = draw_diff(
        before.model, after.model, x, np.zeros(1, dtype=np.int64), view=args.view, names=(first.stem, second.stem)
    )
    _say(args, f"wrote {render(picture, args.out)}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "export": cmd_export,
    "show": cmd_show,
    "download": cmd_download,
    "graph": cmd_graph,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 1 bad data or run, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # A diverging run is reported by fit() itself, so numpy's overflow warnings are noise here.
        with np.errstate(over="ignore", invalid="ignore"):
            return COMMANDS[args.command](args)
    except UsageError as error:
        parser.error(str(error))
    except USER_ERRORS as error:
        print(f"tinygrad-mnist {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tinygrad-mnist {args.command}: interrupted; files already written are intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
