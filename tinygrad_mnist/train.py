"""Training and scoring: ``fit`` (the notebook's ``L_layer_model_cv`` for any model,
optimizer and batch size), ``evaluate`` and ``predict``.

    history = fit(model, Adam(model.parameters()), DataLoader(x, y, batch_size=128, shuffle=True),
                  epochs=25, dev=(x_dev, y_dev))
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, NoReturn

import numpy as np
from tqdm import tqdm

from .autograd import no_grad
from .data.loader import DataLoader
from .lr_scheduler import LRScheduler
from .nn.module import Module
from .optim import Optimizer
from .tensor import Tensor, cross_entropy

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class History:
    """What ``fit`` recorded, in parallel lists.

    ``step`` / ``loss``: the training loss every ``log_every`` steps, before that step's
    update (with full batches: the notebook's cost at iteration ``step``).
    ``epoch``: epochs completed at each evaluation, with ``train_accuracy`` (over that
    epoch's batches, before each update), ``lr``, ``seconds`` (the wall time of training
    and evaluation since the previous evaluation, so their sum is the run's training
    time) and, when a dev set was given, ``dev_loss`` / ``dev_accuracy`` after the epoch.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    dev_loss: list[float] = field(default_factory=list)
    dev_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[Any]]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, list[Any]]) -> History:
        return cls(**{key: list(values) for key, values in data.items()})


@dataclass
class EpochProgress:
    """How far into an epoch a run got: what ``fit`` needs to resume there bit for bit.

    ``batches`` done in the epoch, the ``correct`` and ``seen`` counts behind its training
    accuracy, and the ``seconds`` of training since the last evaluation.
    """

    batches: int = 0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


class Metrics(NamedTuple):
    """Mean loss and accuracy (a fraction in [0, 1]) over a data set."""

    loss: float
    accuracy: float


class DivergenceError(RuntimeError):
    """Training stopped because it went wrong: the loss stopped being finite or rose far
    above where it started, or the dev accuracy fell to chance.

    ``problem`` says which, ``step`` and ``epoch`` (0-based) where, ``lr`` the learning
    rate then; ``history`` holds what was recorded up to it. A stop at a step keeps the
    weights from before that step.
    """

    def __init__(
        self, message: str, *, step: int, epoch: int, loss: float, problem: str, lr: float, history: History
    ) -> None:
        super().__init__(message)
        self.step, self.epoch, self.loss, self.problem, self.lr, self.history = step, epoch, loss, problem, lr, history


class NonFiniteLossError(DivergenceError, FloatingPointError):
    """Training stopped because the loss (or a gradient) stopped being finite.

    The model keeps the weights from before the offending step; ``history`` holds
    what was recorded up to it.
    """


class TrainingInterruptedError(Exception):
    """``fit`` stopped between two steps because ``should_stop()`` said so (e.g. after Ctrl-C).

    ``epoch`` epochs and ``step`` steps were completed, ``within`` is the progress into
    the next epoch: save them with the model and optimizer, and pass them back to
    ``fit`` (``start_epoch``, ``history``, ``within_epoch``) to continue bit for bit.
    """

    def __init__(self, epoch: int, step: int, within: EpochProgress, history: History) -> None:
        super().__init__(f"training interrupted after step {step} (epoch {epoch + 1}, batch {within.batches})")
        self.epoch, self.step, self.within, self.history = epoch, step, within, history


def _class_ids(target: np.ndarray) -> np.ndarray:
    """Class ids from ids (m,) or one-hot rows (m, C)."""
    return target.argmax(axis=1) if target.ndim == 2 else target


def _show_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def _first_non_finite_gradient(model: Module) -> str | None:
    for name, param in model.named_parameters():
        if param.grad is not None and not np.isfinite(param.grad.numpy()).all():
            return name
    return None


def _stop(
    step: int, epoch: int, loss: float, problem: str, optimizer: Optimizer, history: History, *, finite: bool = False
) -> NoReturn:
    lr = optimizer.param_groups[0]["lr"]
    kind = DivergenceError if finite else NonFiniteLossError
    raise kind(
        f"training stopped at step {step} (epoch {epoch + 1}): {problem}. The model keeps the weights from "
        f"before this step. Try normalising the inputs (e.g. pixels / 255), a lower learning rate "
        f"(now {lr:g}), or float64 (model.to(np.float64))",
        step=step,
        epoch=epoch,
        loss=loss,
        problem=problem,
        lr=lr,
        history=history,
    )


def _majority_share(target: np.ndarray) -> float:
    """The accuracy of always answering the most common class: what a network that learned nothing scores."""
    return float(np.bincount(_class_ids(target)).max() / len(target))


#: The share of dev rows given one answer above which a network at chance level counts as dead.
DEAD_SHARE = 0.95


def _same_answer(model: Module, dev: tuple[np.ndarray, np.ndarray]) -> float:
    """The share of dev rows given the model's most common answer, if it is over ``DEAD_SHARE``; else 0."""
    classes = predict(model, dev[0])[0]
    share = float(np.bincount(classes).max() / len(classes))
    return share if share > DEAD_SHARE else 0.0


def fit(
    model: Module,
    optimizer: Optimizer,
    loader: DataLoader,
    epochs: int,
    *,
    loss_fn: LossFn = cross_entropy,
    dev: tuple[np.ndarray, np.ndarray] | None = None,
    scheduler: LRScheduler | None = None,
    log_every: int = 1,
    eval_every: int = 1,
    start_epoch: int = 0,
    history: History | None = None,
    within_epoch: EpochProgress | None = None,
    max_loss_ratio: float | None = 1000.0,
    stop_at_chance: bool = False,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, History], Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> History:
    """Train ``model`` until ``epochs`` epochs are done and return the ``History``.

    Each step: forward, loss, backward, ``optimizer.step()``. A non-finite loss or
    gradient raises ``NonFiniteLossError`` before the step is applied; a loss above
    ``max_loss_ratio`` times the run's first one raises ``DivergenceError`` likewise
    (None: no limit). After each epoch ``scheduler.step()`` runs; every ``eval_every``
    epochs (and after the last) the accuracies are recorded, and with ``stop_at_chance``
    a dev accuracy no better than always answering the most common dev class, with one
    answer for over 95% of the dev rows (a dead network), raises ``DivergenceError``;
    then ``on_epoch_end(epochs_done, history)`` runs (e.g. to save a checkpoint). Before
    each step ``should_stop()`` (if given) is asked; when it says True,
    ``TrainingInterruptedError`` is raised with everything needed to continue.

    To resume, pass ``start_epoch`` and the ``history`` so far (and ``within_epoch`` when
    stopped inside an epoch), with model, optimizer and scheduler restored: the run
    continues bit for bit. The progress bar (tqdm, on stderr) shows when ``progress`` is
    True, or is None and stderr is a terminal.
    """
    if log_every < 1 or eval_every < 1:
        raise ValueError(f"fit: log_every and eval_every must be >= 1, got {log_every} and {eval_every}")
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(
            f"fit: the loader has {loader.num_rows} rows and drop_last with batch_size {loader.batch_size}, "
            "so no batches; lower batch_size or set drop_last=False"
        )
    history = History() if history is None else history
    resumed = within_epoch or EpochProgress()
    if not 0 <= resumed.batches <= steps_per_epoch:
        raise ValueError(f"fit: within_epoch.batches is {resumed.batches}, but an epoch has {steps_per_epoch}")
    step = start_epoch * steps_per_epoch + resumed.batches
    first_loss = history.loss[0] if history.loss else None
    chance = None if dev is None or not stop_at_chance else _majority_share(np.asarray(dev[1]))
    elapsed = resumed.seconds  # training time since the last evaluation
    model.train()
    with tqdm(total=epochs * steps_per_epoch, initial=step, unit="step", disable=not _show_progress(progress)) as bar:
        for epoch in range(start_epoch, epochs):
            now = EpochProgress() if epoch > start_epoch else dataclasses.replace(resumed)
            clock = time.perf_counter()
            loader.set_epoch(epoch)
            for x, y in itertools.islice(loader, now.batches, None):
                if should_stop is not None and should_stop():
                    now.seconds = elapsed + time.perf_counter() - clock
                    raise TrainingInterruptedError(epoch, step, now, history)
                logits = model(x)
                loss = loss_fn(logits, y)
                loss_value = float(loss.numpy())
                if not math.isfinite(loss_value):
                    _stop(step, epoch, loss_value, f"the loss is {loss_value}", optimizer, history)
                first_loss = loss_value if first_loss is None else first_loss
                if max_loss_ratio is not None and 0 < first_loss * max_loss_ratio < loss_value:
                    problem = f"the loss is {loss_value:.4g}, over {max_loss_ratio:g} times its start {first_loss:.4g}"
                    _stop(step, epoch, loss_value, problem, optimizer, history, finite=True)
                optimizer.zero_grad()
                loss.backward()
                if (name := _first_non_finite_gradient(model)) is not None:
                    problem = f"the loss is {loss_value:g} but the gradient of {name} is not finite"
                    _stop(step, epoch, loss_value, problem, optimizer, history)
                optimizer.step()
                now.batches += 1
                now.correct += _correct(logits.numpy(), y.numpy())
                now.seen += len(y)
                if step % log_every == 0:
                    history.step.append(step)
                    history.loss.append(loss_value)
                    bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
                step += 1
                bar.update()
            lr = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                scheduler.step()
            if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
                history.epoch.append(epoch + 1)
                history.train_accuracy.append(now.correct / now.seen)
                history.lr.append(lr)
                if dev is not None:
                    dev_metrics = evaluate(model, *dev, loss_fn=loss_fn)
                    history.dev_loss.append(dev_metrics.loss)
                    history.dev_accuracy.append(dev_metrics.accuracy)
                    bar.set_postfix(loss=f"{history.loss[-1]:.4f}", dev_acc=f"{dev_metrics.accuracy:.4f}")
                history.seconds.append(elapsed + time.perf_counter() - clock)
                elapsed = 0.0
                if chance is not None and history.dev_accuracy[-1] <= chance and (same := _same_answer(model, dev)):
                    problem = (
                        f"the dev accuracy after epoch {epoch + 1} is {history.dev_accuracy[-1]:.2%}, no better than "
                        f"always answering the most common class ({chance:.2%}), and {same:.0%} of the dev rows get "
                        "the same answer: the network learned nothing"
                    )
                    raise DivergenceError(
                        f"training stopped after epoch {epoch + 1}: {problem}. Try a lower learning rate "
                        f"(now {lr:g}), normalised inputs (e.g. pixels / 255) or another initialisation",
                        step=step,
                        epoch=epoch,
                        loss=history.loss[-1],
                        problem=problem,
                        lr=lr,
                        history=history,
                    )
            else:
                elapsed += time.perf_counter() - clock
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, history)
    return history


def _correct(logits: np.ndarray, target: np.ndarray) -> int:
    """How many rows' largest logit is at the target class."""
    return int(np.count_nonzero(logits.argmax(axis=1) == _class_ids(target)))


@contextlib.contextmanager
def _scoring(model: Module) -> Iterator[None]:
    """Eval mode and no graph inside; the model's own mode restored afterwards, even on an error."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def _batches(x: np.ndarray, batch_size: int | None) -> list[slice]:
    if len(x) == 0:
        raise ValueError(f"no examples to score: the inputs have shape {x.shape}")
    size = len(x) if batch_size is None else batch_size
    return [slice(start, start + size) for start in range(0, len(x), size)]


def evaluate(
    model: Module, x: np.ndarray, y: np.ndarray, *, loss_fn: LossFn = cross_entropy, batch_size: int | None = 1024
) -> Metrics:
    """Mean loss and accuracy of ``model`` (in eval mode, no graph) on inputs ``x`` and targets ``y``."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"evaluate: {len(x)} inputs but {len(y)} targets; need one target per input")
    total_loss = correct = 0.0
    with _scoring(model):
        for rows in _batches(x, batch_size):
            logits, target = model(Tensor(x[rows])), y[rows]
            total_loss += float(loss_fn(logits, Tensor(target)).numpy()) * len(target)
            correct += _correct(logits.numpy(), target)
    return Metrics(total_loss / len(x), correct / len(x))


def predict(model: Module, x: np.ndarray, *, batch_size: int | None = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Class ids (m,) and softmax probabilities (m, C) for inputs ``x``; the model must return logits."""
    x = np.asarray(x)
    classes, probabilities = [], []
    with _scoring(model):
        for rows in _batches(x, batch_size):
            probs = model(Tensor(x[rows])).softmax(dim=1).numpy()
            classes.append(probs.argmax(axis=1))
            probabilities.append(probs)
    return np.concatenate(classes), np.concatenate(probabilities)
