"""A training run's folder, saved whole every few epochs so that a kill loses little and the run can go on.

    runs/latest/
        model.safetensors   model, optimizer, history, recipe and data summary: all a resume needs
        history.json        the history again, to read (or history.csv)
        cost.png            the training loss, and accuracy.png, train and dev accuracy
        run.json            the manifest: the epoch and step saved and the SHA-256 of each file of them

Each file is replaced atomically and the manifest last, so the manifest always names one
consistent generation: a file it does not list, or whose SHA-256 differs, belongs to
another (a kill between two writes leaves the checkpoint one save ahead). The checkpoint
alone holds everything, so resuming needs nothing else, and rewrites the rest.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import save_checkpoint
from .data import sha256_of
from .files import atomic_write
from .nn.module import Module
from .optim import Optimizer
from .train import EpochProgress, History

CHECKPOINT = "model.safetensors"
MANIFEST = "run.json"
FORMAT = "tinygrad_mnist.run.v1"
PLOTS = ("cost.png", "accuracy.png")
#: Every name a run writes into its folder.
RUN_FILES = (CHECKPOINT, "history.json", "history.csv", *PLOTS, MANIFEST)


def checkpoint_in(path: str | Path) -> Path:
    """The checkpoint file a path names: itself, or a run folder's ``model.safetensors``."""
    path = Path(path)
    return path / CHECKPOINT if path.is_dir() else path


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The run folder's manifest, or None if it has none (or an unreadable one)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def write_history(history: History, folder: Path, fmt: str = "json") -> Path:
    """``history.json`` (lists by name) or ``history.csv`` (one row per logged step, the per-epoch columns
    filling the first rows) in ``folder``, atomically."""
    records = history.to_dict()
    if fmt == "json":
        text = json.dumps(records, indent=1)
    else:
        per_epoch = ("epoch", "train_accuracy", "dev_loss", "dev_accuracy", "lr", "seconds")
        columns = ["step", "loss", *(key for key in per_epoch if records[key])]
        rows = itertools.zip_longest(*(records[key] for key in columns), fillvalue="")
        text = "\n".join(",".join(map(str, row)) for row in [columns, *rows]) + "\n"
    path = folder / f"history.{fmt}"
    with atomic_write(path) as temporary:
        temporary.write_text(text)
    return path


def write_plots(history: History, folder: Path, per: str = "epoch") -> list[Path]:
    """``cost.png`` and ``accuracy.png`` of the history in ``folder``; ``per`` names an evaluation's unit."""
    from .plots import plot_accuracy, plot_cost  # matplotlib loads only when there is something to draw

    cost, accuracy = (folder / name for name in PLOTS)
    plot_cost(history.loss, cost, steps=history.step)
    plot_accuracy(history.train_accuracy, history.dev_accuracy, accuracy, steps=history.epoch, xlabel=per)
    return [cost, accuracy]


@dataclass
class RunFolder:
    """Where one run is saved, and what every save of it keeps besides the training state.

    ``save`` writes one generation: the checkpoint, the history, the plots if asked, then
    the manifest naming them.
    """

    folder: Path
    epochs: int
    preprocessing: dict[str, Any]
    class_names: list[str]
    dataset: dict[str, Any]
    extra: dict[str, Any]
    history_format: str = "json"
    per: str = "epoch"
    written: list[Path] = field(default_factory=list)

    @property
    def checkpoint(self) -> Path:
        return self.folder / CHECKPOINT

    def save(
        self,
        model: Module,
        optimizer: Optimizer,
        history: History,
        *,
        epoch: int,
        step: int,
        within: EpochProgress | None = None,
        plots: bool = False,
    ) -> list[Path]:
        """Write one generation of the run; returns its files, the manifest last."""
        checkpoint = save_checkpoint(
            self.checkpoint,
            model,
            optimizer=optimizer,
            epoch=epoch,
            step=step,
            history=history,
            preprocessing=self.preprocessing,
            class_names=self.class_names,
            within_epoch=within if within is not None and within.batches else None,
            dataset=self.dataset,
            extra=self.extra,
        )
        files = [checkpoint, write_history(history, self.folder, self.history_format)]
        if plots and history.epoch:
            files += write_plots(history, self.folder, self.per)
        manifest = {
            "format": FORMAT,
            "epoch": epoch,
            "step": step,
            "epochs": self.epochs,
            "finished": epoch == self.epochs and not (within and within.batches),
            "files": {path.name: sha256_of(path) for path in files},
        }
        path = self.folder / MANIFEST
        with atomic_write(path) as temporary:
            temporary.write_text(json.dumps(manifest, indent=1) + "\n")
        self.written = [*files, path]
        return self.written
