"""The ``tinygrad-mnist`` command line: train, evaluate, predict, export, show, download, graph.

Usage errors exit 2 (argparse) and print the subcommand's usage; bad data, checkpoints,
paths, file-system errors or a diverging run exit 1 with one message naming the file and
what to do, never a traceback; Ctrl-C during training saves the run and exits 130. Every
output path is checked before any work starts, so no input is overwritten and no run is
trained only to fail at its first write. Everything here is thin glue over the library;
pandas and matplotlib load only when a command needs them, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint
from .data import (
    DATASETS,
    PIXEL_SCALINGS,
    DataError,
    compare_summaries,
    data_files,
    default_cache_dir,
    download,
    find_data,
    load_kaggle_csv,
    summarise,
    write_kaggle_submission,
)
from .data.files import MAX_DATA_BYTES
from .data.loader import DataLoader
from .files import check_writable, remove_leftovers, same_file
from .onnx import OnnxError
from .onnx import export as export_onnx
from .recipes import (
    ARCHITECTURES,
    INITIALISATIONS,
    OPTIMIZERS,
    RECIPES,
    SPLITS,
    Recipe,
    build_model,
    build_optimizer,
    check_preprocessing,
    prepare_inputs,
    split_data,
)
from .run import CHECKPOINT, RUN_FILES, RunFolder, checkpoint_in
from .tensor import Tensor
from .train import DivergenceError, History, NonFiniteLossError, TrainingInterruptedError, fit, predict
from .viz import VIEWS, GraphvizNotFoundError, draw_diff, draw_model, render

CLASS_NAMES = [str(digit) for digit in range(10)]
EVALUATE_FILES = ("confusion.png", "confident_errors.png")
#: The commands that write one file, with a name for it.
FILE_OUTPUTS = {"predict": "submission.csv", "export": "model.onnx", "show": "digits.png", "graph": "graph.svg"}


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit 2, like argparse)."""


class CommandError(Exception):
    """A problem the command line words itself, in its own terms (flags, not Python): exit 1."""


USER_ERRORS = (DataError, CheckpointError, CommandError, DivergenceError, GraphvizNotFoundError, ValueError)


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


def _recipe_table() -> str:
    """Each recipe's values, for ``train --help``: what each option overrides."""
    lines = ["recipes (the values each option above overrides):"]
    for name, recipe in sorted(RECIPES.items()):
        length = f"--epochs {recipe.epochs}" if recipe.batch_size else f"--iterations {recipe.epochs}"
        lines += [
            f"  {name:<9} --arch {recipe.arch} --layers {','.join(map(str, recipe.layers))} --optimizer "
            f"{recipe.optimizer} --lr {recipe.lr:g} --batch-size {recipe.batch_size or 'full'} {length}",
            f"  {'':<9} --init {recipe.init} --scale {recipe.scaling} --dtype {recipe.dtype} "
            f"--dev-size {recipe.dev_size} --split {recipe.split} --seed {recipe.seed}",
        ]
    return "\n".join(lines)


def _add_data_limit(command: argparse.ArgumentParser) -> None:
    default = MAX_DATA_BYTES >> 20
    command.add_argument(
        "--max-data-mb",
        type=_positive,
        default=default,
        metavar="MB",
        help=f"refuse a data file larger than this, after decompression (default {default})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-mnist", description="Train, score and draw MNIST networks with tinygrad_mnist."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = (
        "Kaggle train.csv (or its folder) or an IDX folder; default: $TINYGRAD_MNIST_DATA, data/, "
        "../shared/data/mnist, or download"
    )
    checkpoint_help = "a checkpoint file, or a run folder (its model.safetensors)"

    train = commands.add_parser(
        "train",
        help="train a network into a run folder: checkpoint, history and plots, saved as it goes",
        epilog=_recipe_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--data", help=data_help)
    _add_data_limit(train)
    train.add_argument("--recipe", choices=sorted(RECIPES), help="defaults for everything below (default: modern)")
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
    train.add_argument("--out", type=Path, help="the run folder (default runs/latest)")
    train.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="continue the run saved in RUN_DIR where it stopped, bit for bit"
    )
    train.add_argument(
        "--save-every", type=_positive, metavar="N", help="save the run every N epochs (default: 20 saves a run)"
    )
    train.add_argument("--history-format", choices=("json", "csv"), default="json")
    train.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    train.add_argument("--quiet", action="store_true", help="print only the final result")

    evaluate_ = commands.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix")
    evaluate_.add_argument("--checkpoint", type=Path, required=True, help=checkpoint_help)
    evaluate_.add_argument("--data", help=data_help + "; scored on the checkpoint's dev rows")
    _add_data_limit(evaluate_)
    evaluate_.add_argument("--out", type=Path, help="folder for the confusion-matrix and confident-errors plots")
    evaluate_.add_argument("--quiet", action="store_true")

    predict_ = commands.add_parser("predict", help="write a Kaggle submission (ImageId,Label)")
    predict_.add_argument("--checkpoint", type=Path, required=True, help=checkpoint_help)
    predict_.add_argument("--data", help=data_help + "; its test.csv is used")
    _add_data_limit(predict_)
    predict_.add_argument("--test", type=Path, help="the test CSV itself (overrides --data)")
    predict_.add_argument("--out", type=Path, help="the submission (default: submission.csv beside the checkpoint)")
    predict_.add_argument("--quiet", action="store_true")

    export_ = commands.add_parser("export", help="write a checkpoint's network as an ONNX model (ONNX Runtime, Netron)")
    export_.add_argument("--checkpoint", type=Path, required=True, help=checkpoint_help)
    export_.add_argument("-o", "--out", type=Path, help="the ONNX file (default: model.onnx beside the checkpoint)")
    export_.add_argument("--opset", type=_positive, help="ONNX opset version (default: 18)")
    export_.add_argument("--quiet", action="store_true")

    show = commands.add_parser("show", help="a grid of training digits with labels (and predictions)")
    show.add_argument("--data", help=data_help)
    _add_data_limit(show)
    show.add_argument("--checkpoint", type=Path, help="add the model's predictions (" + checkpoint_help + ")")
    show.add_argument("--start", type=int, default=0, help="first row")
    show.add_argument("--count", type=_positive, default=20)
    show.add_argument("--out", type=Path, default=Path("runs/digits.png"), help="the picture (default runs/digits.png)")
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
    for command in commands.choices.values():  # so that a usage error prints that command's usage
        command.set_defaults(command_parser=command)
    return parser


# ----- output paths: checked before any work starts ------------------------------------


def _fill_defaults(args: argparse.Namespace) -> None:
    """Defaults that depend on other arguments: outputs go beside the checkpoint, or under runs/."""
    if args.command == "train":
        if args.resume is not None and args.out is not None and not same_file(args.resume, args.out):
            raise UsageError("--resume continues a run in its own folder; leave out --out")
        args.out = args.resume or args.out or Path("runs/latest")
    if "checkpoint" in args and args.checkpoint is not None:
        args.checkpoint = checkpoint_in(args.checkpoint)
    if args.command in ("predict", "export") and args.out is None:
        args.out = args.checkpoint.parent / FILE_OUTPUTS[args.command]


def _inputs(args: argparse.Namespace) -> dict[Path, str]:
    """Every file the command reads, with what it is: no output may land on one."""
    inputs = dict.fromkeys(data_files(args.data), "the data") if "data" in args else {}
    if getattr(args, "checkpoint", None) is not None:  # graph --diff checks its own two (a usage error, exit 2)
        inputs[args.checkpoint] = "the checkpoint itself"
    if getattr(args, "test", None) is not None:
        inputs[args.test] = "the test data"
    return inputs


def _refuse_inputs(out: Path, inputs: dict[Path, str], flag: str) -> None:
    for path, what in inputs.items():
        if same_file(out, path):
            named = "" if str(path) == str(out) else f" ({path})"
            raise CommandError(f"{flag} {out} is {what}{named}; writing there would replace it. Choose another {flag}")


def _check_file_output(out: Path, inputs: dict[Path, str], example: str, flag: str = "--out") -> None:
    if out.is_dir():
        raise CommandError(f"{flag} {out} is a folder; give a file path, e.g. {out / example}")
    _refuse_inputs(out, inputs, flag)
    check_writable(out.parent)


def _check_folder_output(folder: Path, names: Sequence[str], inputs: dict[Path, str], flag: str) -> None:
    in_the_way = next((path for path in (folder, *folder.parents) if path.exists() and not path.is_dir()), None)
    if in_the_way is not None:
        raise CommandError(f"{flag} {folder}: {in_the_way} is a file, and a folder is wanted here; give a folder path")
    for name in names:
        _refuse_inputs(folder / name, inputs, flag)
    check_writable(folder)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output that is (or resolves to) an input, is a file where a folder
    is wanted or a folder where a file is, or lies where nothing can be written."""
    inputs = _inputs(args)
    if args.command == "train":
        _check_folder_output(args.out, RUN_FILES, inputs, "--resume" if args.resume else "--out")
    elif args.command == "evaluate" and args.out is not None:
        _check_folder_output(args.out, EVALUATE_FILES, inputs, "--out")
    elif args.command == "download":
        _check_folder_output(Path(args.root or default_cache_dir()) / args.name, (), {}, "--root")
    elif args.command in FILE_OUTPUTS:
        _check_file_output(args.out, inputs, FILE_OUTPUTS[args.command])


# ----- commands ----------------------------------------------------------------------


def recipe_from(args: argparse.Namespace) -> Recipe:
    """The chosen recipe with every option the user gave laid over it."""
    recipe = RECIPES[args.recipe or "modern"].replace(
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
    if args.batch_size is not None:  # 0 is 'full', which replace() would take for "not given"
        recipe = dataclasses.replace(recipe, batch_size=args.batch_size or None)
    if args.iterations is not None:
        if recipe.batch_size is not None:
            raise UsageError(
                f"--iterations counts full-batch steps, but the {args.recipe or 'modern'} recipe takes batches of "
                f"{recipe.batch_size}; add --batch-size full, or use --epochs"
            )
        recipe = recipe.replace(epochs=args.iterations)
    return recipe


def _say(args: argparse.Namespace, message: str) -> None:
    """Print unless --quiet, above the progress bar if one is showing."""
    if not args.quiet:
        tqdm.write(message, file=sys.stdout)
        sys.stdout.flush()


def _warn(args: argparse.Namespace, message: str) -> None:
    print(f"tinygrad-mnist {args.command}: warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stop_requests() -> Iterator[Callable[[], bool]]:
    """While inside, Ctrl-C (or SIGTERM) asks training to stop after the current step; a second Ctrl-C stops at once.

    Yields the function ``fit`` asks between steps."""
    requested: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield lambda: False
        return

    def request(signum: int, frame: Any) -> None:
        if requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested.append(signum)
        print("\nstopping after this step to save the run (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    previous = {number: signal.signal(number, request) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(requested)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


_RESUMABLE = {"data", "max_data_mb", "epochs", "iterations", "save_every", "history_format", "no_plots", "quiet"}


def _resumed(args: argparse.Namespace) -> tuple[Checkpoint, Recipe, str]:
    """The saved run to continue: its checkpoint, its recipe (with --epochs or --iterations laid over), its data."""
    given = [
        name
        for name, value in vars(args).items()
        if name not in {*_RESUMABLE, "command", "command_parser", "resume", "out"}
        and value != args.command_parser.get_default(name)
    ]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(f"--resume continues the saved run as it was made; {flags} cannot change (start a new run)")
    path = args.resume / CHECKPOINT
    if not path.is_file():
        raise CommandError(f"--resume {args.resume}: there is no {CHECKPOINT} in it to continue from")
    saved = load_checkpoint(path)
    extra = saved.extra or {}
    if not isinstance(extra.get("recipe"), dict) or saved.optimizer_state is None or saved.dataset is None:
        raise CommandError(
            f"--resume {args.resume}: {path} was not saved by tinygrad-mnist train (no recipe, optimizer state or "
            "data summary), so the run cannot be continued; train a new one"
        )
    try:
        recipe = Recipe(**{**extra["recipe"], "layers": tuple(extra["recipe"]["layers"])})
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f"{path}: its recipe does not fit ({error})") from None
    if not isinstance(extra.get("data"), str | None):
        raise CheckpointError(f"{path}: the data path it records is a {type(extra['data']).__name__}, not a path")
    epochs = args.epochs or args.iterations
    if epochs is not None:
        if args.iterations is not None and recipe.batch_size is not None:
            raise UsageError(f"--iterations counts full-batch steps, but this run takes batches of {recipe.batch_size}")
        if epochs < saved.epoch + (saved.within_epoch is not None):
            raise UsageError(f"the run in {args.resume} is past epoch {saved.epoch}; ask for more than that")
        recipe = recipe.replace(epochs=epochs)
    elif saved.epoch >= recipe.epochs:
        raise UsageError(
            f"the run in {args.resume} has finished its {recipe.epochs} epochs; give --epochs N to train it further"
        )
    return saved, recipe, args.data or extra.get("data")


def _stopped_message(error: DivergenceError, recipe: Recipe, run: RunFolder) -> str:
    """Why training stopped, what was kept and which flags to change, in command-line terms."""
    advice = [f"a lower --lr (now {error.lr:g})"]
    if recipe.scaling == "none":
        advice.append("--scale unit (pixels / 255)")
    if isinstance(error, NonFiniteLossError) and recipe.dtype == "float32":
        advice.append("--dtype float64")
    kept = f"The last save, {run.checkpoint}, is intact" if run.written else "Nothing of this run was saved"
    where = f"step {error.step} (epoch {error.epoch + 1})"
    return f"training stopped at {where}: {error.problem}. {kept}. Try {', '.join(advice)}"


def cmd_train(args: argparse.Namespace) -> int:
    if args.out.is_dir():
        remove_leftovers(args.out)
    saved, recipe, data = _resumed(args) if args.resume else (None, recipe_from(args), args.data)
    source = find_data(data, progress=not args.quiet)
    _say(args, f"data: {source}")
    images, labels = source.load_train(max_bytes=args.max_data_mb << 20)
    dataset = summarise(images, labels)
    if saved is not None and saved.dataset.get("sha256") != dataset["sha256"]:
        raise CommandError(
            f"--resume {args.resume}: {source.train} is not the data this run trained on ({saved.dataset.get('rows')} "
            f"rows, SHA-256 {str(saved.dataset.get('sha256'))[:12]}...); pass that data with --data"
        )
    split = split_data(recipe, images, labels)
    preprocessing = {
        **recipe.preprocessing(),
        "dev_split": {"split": recipe.split, "dev_size": recipe.dev_size, "seed": recipe.seed},
    }
    x_train, x_dev = prepare_inputs(split.train_images, preprocessing), prepare_inputs(split.dev_images, preprocessing)
    model = build_model(recipe) if saved is None else saved.model
    optimizer = build_optimizer(recipe, model.parameters())
    if saved is not None:
        optimizer.load_state_dict(saved.optimizer_state)
    loader = DataLoader(
        x_train,
        split.train_labels,
        batch_size=recipe.batch_size,
        shuffle=recipe.batch_size is not None,
        seed=recipe.seed,
    )
    recipe_record = {**dataclasses.asdict(recipe), "layers": list(recipe.layers)}
    run = RunFolder(
        args.out,
        recipe.epochs,
        preprocessing,
        CLASS_NAMES,
        dataset,
        {"recipe": recipe_record, "data": str(source.train.absolute())},
        args.history_format,
        per="epoch" if recipe.batch_size else "iteration",  # a full-batch epoch is one iteration
    )
    unit = "epochs" if recipe.batch_size else "iterations"
    start = "" if saved is None else f", resuming after step {saved.step}"
    _say(
        args,
        f"training {model.__class__.__name__} {'-'.join(map(str, recipe.layers))} on {len(x_train)} rows, "
        f"dev {len(x_dev)} rows: {recipe.optimizer} lr {recipe.lr:g}, batch {recipe.batch_size or 'full'}, "
        f"{recipe.epochs} {unit}{start}",
    )
    save_every = args.save_every or max(recipe.eval_every, recipe.epochs // 20)

    def end_of_epoch(epoch: int, history: History) -> None:
        evaluated = bool(history.epoch) and history.epoch[-1] == epoch
        if evaluated and (epoch % max(1, recipe.epochs // 20) == 0 or epoch == recipe.epochs):
            _say(
                args,
                f"epoch {epoch:>4}/{recipe.epochs}: loss {history.loss[-1]:.4f}, "
                f"train {history.train_accuracy[-1]:.2%}, dev {history.dev_accuracy[-1]:.2%}",
            )
        if epoch % save_every == 0 or epoch == recipe.epochs:
            plots = epoch == recipe.epochs and not args.no_plots
            run.save(model, optimizer, history, epoch=epoch, step=epoch * len(loader), plots=plots)

    with _stop_requests() as should_stop:
        try:
            history = fit(
                model,
                optimizer,
                loader,
                recipe.epochs,
                dev=(x_dev, split.dev_labels),
                log_every=recipe.log_every,
                eval_every=recipe.eval_every,
                start_epoch=0 if saved is None else saved.epoch,
                history=None if saved is None else saved.history,
                within_epoch=None if saved is None else saved.within_epoch,
                stop_at_chance=True,
                progress=False if args.quiet else None,
                on_epoch_end=end_of_epoch,
                should_stop=should_stop,
            )
        except TrainingInterruptedError as stopped:
            run.save(model, optimizer, stopped.history, epoch=stopped.epoch, step=stopped.step,
                     within=stopped.within, plots=not args.no_plots)  # fmt: skip
            print(
                f"tinygrad-mnist train: interrupted; saved the run after step {stopped.step} (epoch "
                f"{stopped.epoch + 1}, batch {stopped.within.batches}) in {args.out}. "
                f"Continue it with: tinygrad-mnist train --resume {args.out}",
                file=sys.stderr,
            )
            return 130
        except DivergenceError as error:
            raise CommandError(_stopped_message(error, recipe, run)) from None
    best = int(np.argmax(history.dev_accuracy))
    print(
        f"dev accuracy {history.dev_accuracy[-1]:.2%} (best {history.dev_accuracy[best]:.2%} at epoch "
        f"{history.epoch[best]}); {sum(history.seconds):.1f} s training"
    )
    _say(args, "wrote " + ", ".join(str(path) for path in run.written))
    return 0


def _usable(path: Path) -> Checkpoint:
    """The checkpoint, refused when its weights are not finite or its preprocessing is unknown."""
    if not path.is_file():
        raise CommandError(
            f"no checkpoint at {path}; train one with `tinygrad-mnist train --out FOLDER`, then pass FOLDER "
            "(or FOLDER/model.safetensors) as --checkpoint"
        )
    ckpt = load_checkpoint(path)
    for name, param in ckpt.model.named_parameters():
        if not np.isfinite(param.numpy()).all():
            raise CheckpointError(
                f"{path}: weight {name} holds NaN or infinite values, so every prediction would be meaningless; "
                "use an earlier checkpoint of the run, or train again"
            )
    try:
        check_preprocessing(ckpt.preprocessing)
    except ValueError as error:
        raise CheckpointError(
            f"{path}: {error}; a checkpoint for this command needs preprocessing={{'pixel_scaling': 'unit', "
            "'dtype': 'float32', 'input_shape': [784]}} (or whatever the model was trained with) passed to "
            "save_checkpoint, as tinygrad-mnist train records it"
        ) from None
    return ckpt


def _scores(ckpt: Checkpoint, path: Path, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The checkpoint's classes and probabilities for raw images, refused if any probability is not finite."""
    classes, probabilities = predict(ckpt.model, prepare_inputs(images, ckpt.preprocessing))
    bad = np.flatnonzero(~np.isfinite(probabilities).all(axis=1))
    if len(bad):
        raise CheckpointError(
            f"{path}: the model's outputs are not finite for {len(bad)} of {len(images)} rows (the first: row "
            f"{bad[0] + 1}), so its predictions would be meaningless; its weights are too large for these inputs"
        )
    return classes, probabilities


def _compare_data(args: argparse.Namespace, ckpt: Checkpoint, images: np.ndarray, labels: np.ndarray | None) -> bool:
    """Warn when the data differs in kind from what the checkpoint learned from; True if it is the very same data."""
    if ckpt.dataset is None:
        return False
    summary = summarise(images, labels)
    for difference in compare_summaries(ckpt.dataset, summary):
        _warn(args, f"this data is not like the data {args.checkpoint} was trained on: {difference}")
    return summary["sha256"] == ckpt.dataset.get("sha256")


def _dev_rows(images: np.ndarray, labels: np.ndarray, ckpt: Checkpoint, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The dev rows the checkpoint was scored on, from the same data."""
    dev = ckpt.preprocessing.get("dev_split")
    if dev is None:
        return images, labels
    try:
        recipe = Recipe(split=dev["split"], dev_size=dev["dev_size"], seed=dev["seed"])
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: its dev split {dev!r} is malformed ({error})") from None
    split = split_data(recipe, images, labels)
    return split.dev_images, split.dev_labels


def cmd_evaluate(args: argparse.Namespace) -> int:
    ckpt = _usable(args.checkpoint)
    source = find_data(args.data, progress=not args.quiet)
    all_images, all_labels = source.load_train(max_bytes=args.max_data_mb << 20)
    if ckpt.dataset is not None and not _compare_data(args, ckpt, all_images, all_labels):
        _warn(args, f"{source.train} is not the data {args.checkpoint} was trained on, so its dev rows are other rows")
    images, labels = _dev_rows(all_images, all_labels, ckpt, args.checkpoint)
    classes, probabilities = _scores(ckpt, args.checkpoint, images)
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
        from .plots import plot_confident_errors, plot_confusion_matrix

        args.out.mkdir(parents=True, exist_ok=True)
        confusion_png, errors_png = (args.out / name for name in EVALUATE_FILES)
        plot_confusion_matrix(confusion, confusion_png)
        plot_confident_errors(images, labels, probabilities, errors_png)
        _say(args, f"wrote {confusion_png}, {errors_png}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    ckpt = _usable(args.checkpoint)
    if args.test is not None:
        test_images, test_labels = load_kaggle_csv(args.test, labelled=False, max_bytes=args.max_data_mb << 20)
    else:
        source = find_data(args.data, progress=not args.quiet)
        test_images, test_labels = source.load_test(max_bytes=args.max_data_mb << 20)
    _compare_data(args, ckpt, test_images, test_labels)
    classes, _ = _scores(ckpt, args.checkpoint, test_images)
    write_kaggle_submission(classes, args.out)
    _say(args, f"wrote {args.out}: {len(classes)} predictions (ImageId,Label)")
    if test_labels is not None:  # IDX test sets are labelled: say how the predictions score, write none of it
        _say(args, f"the test set has labels (not written): accuracy {np.mean(classes == test_labels):.2%}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    ckpt = _usable(args.checkpoint)
    dtype = next(ckpt.model.parameters()).numpy().dtype
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
    from .plots import plot_digits

    images, labels = find_data(args.data, progress=not args.quiet).load_train(max_bytes=args.max_data_mb << 20)
    rows = slice(args.start, args.start + args.count)
    if not 0 <= args.start < len(images):
        raise UsageError(f"--start {args.start} is outside the {len(images)} rows")
    predictions = None
    if args.checkpoint is not None:
        ckpt = _usable(args.checkpoint)
        predictions = _scores(ckpt, args.checkpoint, images[rows])[0]
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

#: What to do about an OSError, by errno, in the command line's terms.
OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space, or write somewhere else (--out)",
    errno.EDQUOT: "the disk quota is used up: free some space, or write somewhere else (--out)",
    errno.EROFS: "that file system is read-only: write somewhere else (--out)",
    errno.EACCES: "check its permissions, or use another path",
    errno.EPERM: "check its permissions, or use another path",
    errno.EISDIR: "it is a folder, and a file is wanted here",
    errno.ENOTDIR: "a file is in the way where a folder is wanted",
    errno.ENOENT: "check the path",
}


def os_error_message(error: OSError) -> str:
    """One line for a file-system error: the file, what went wrong and what to do (never a traceback)."""
    if error.errno is None:  # raised by the library with its own message
        return str(error)
    where = error.filename if error.filename2 is None else f"{error.filename} -> {error.filename2}"
    message = f"{where}: {error.strerror}" if where is not None else str(error.strerror or error)
    advice = OS_ADVICE.get(error.errno)
    return message if advice is None else f"{message}; {advice}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 1 bad data, paths or run, 2 bad usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # A diverging run is reported by fit() itself, so numpy's overflow warnings are noise here.
        with np.errstate(over="ignore", invalid="ignore"):
            _fill_defaults(args)
            check_outputs(args)
            return COMMANDS[args.command](args)
    except UsageError as error:
        args.command_parser.error(str(error))
    except BrokenPipeError:  # e.g. `| head` closed the pipe: stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        print(f"tinygrad-mnist {args.command}: error: {os_error_message(error)}", file=sys.stderr)
        return 1
    except USER_ERRORS as error:
        print(f"tinygrad-mnist {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tinygrad-mnist {args.command}: interrupted; files already written are intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
