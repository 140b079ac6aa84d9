"""Checkpoints as safetensors files: weights plus everything needed to rebuild and resume.

One file holds the model's weights under their ``state_dict`` names (``0.weight``...,
so ``safetensors.numpy.load_file`` feeds PyTorch's ``load_state_dict`` directly),
optimizer arrays under ``optimizer.state.<index>.<name>``, and in its string
metadata, as JSON: the architecture (``nn.module_to_config``), the preprocessing
(e.g. ``{"pixel_scale": 1/255}``), the class names, the step and epoch, the
optimizer's and scheduler's other state, the history and the random generators'
states. Loading never runs code (no pickle). Writes are atomic (``files.atomic_write``):
a crash mid-write leaves the previous file intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from .files import atomic_write
from .lr_scheduler import LRScheduler
from .nn.module import Module
from .nn.registry import module_from_config, module_to_config
from .optim import Optimizer
from .train import History

FORMAT = "tinygrad_mnist.checkpoint.v1"
OPTIMIZER_PREFIX = "optimizer.state."
BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox, np.random.SFC64)
}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or does not fit; the message names the file."""


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: the rebuilt model and the saved training state.

    To resume, build the optimizer over ``ckpt.model.parameters()`` and the scheduler
    over it (as before), then load their states (the scheduler's constructor resets
    the learning rate, so load after building it) and continue::

        optimizer = Adam(ckpt.model.parameters())
        scheduler = StepLR(optimizer, step_size=10)
        optimizer.load_state_dict(ckpt.optimizer_state)
        scheduler.load_state_dict(ckpt.scheduler_state)
        fit(ckpt.model, optimizer, loader, epochs, scheduler=scheduler, start_epoch=ckpt.epoch, history=ckpt.history)
    """

    model: Module
    step: int
    epoch: int
    preprocessing: dict[str, Any]
    class_names: list[str] | None
    optimizer_type: str | None
    optimizer_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    history: History | None
    metadata: dict[str, str]


def _json_value(value: Any) -> Any:
    """NumPy scalars and arrays as JSON values; anything else is refused by name."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"save_checkpoint: a {type(value).__name__} ({value!r}) cannot be stored as JSON metadata")


def _json(value: Any) -> str:
    return json.dumps(value, default=_json_value)


def _generators(model: Module) -> dict[str, np.random.Generator]:
    """Every submodule's own random generator (e.g. Dropout's), by module name."""
    return {
        name: module.generator
        for name, module in model.named_modules()
        if isinstance(getattr(module, "generator", None), np.random.Generator)
    }


def save_checkpoint(
    path: str | Path,
    model: Module,
    *,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    step: int = 0,
    epoch: int = 0,
    history: History | None = None,
    preprocessing: dict[str, Any] | None = None,
    class_names: list[str] | None = None,
) -> Path:
    """Save the model (and optionally the training state) to ``path`` atomically; returns the path."""
    path = Path(path)
    tensors = {name: np.ascontiguousarray(array) for name, array in model.state_dict().items()}
    clash = [name for name in tensors if name.startswith(OPTIMIZER_PREFIX)]
    if clash:
        raise ValueError(f"save_checkpoint: parameter names {clash} collide with the optimizer's {OPTIMIZER_PREFIX}")
    metadata = {
        "format": FORMAT,
        "architecture": _json(module_to_config(model)),
        "preprocessing": _json(preprocessing or {}),
        "class_names": _json(class_names),
        "step": str(step),
        "epoch": str(epoch),
        "rng": _json({name: generator.bit_generator.state for name, generator in _generators(model).items()}),
    }
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for index, entries in state["state"].items():
            scalars[str(index)] = {}
            for name, value in entries.items():
                if isinstance(value, np.ndarray):
                    tensors[f"{OPTIMIZER_PREFIX}{index}.{name}"] = np.ascontiguousarray(value)
                else:
                    scalars[str(index)][name] = value
        metadata["optimizer"] = _json(
            {"type": type(optimizer).__name__, "param_groups": state["param_groups"], "state": scalars}
        )
    if scheduler is not None:
        metadata["scheduler"] = _json({"type": type(scheduler).__name__, "state": scheduler.state_dict()})
    if history is not None:
        metadata["history"] = _json(history.to_dict())
    with atomic_write(path) as temporary:
        save_file(tensors, temporary, metadata=metadata)
    return path


def _restore_generators(model: Module, states: dict[str, dict[str, Any]]) -> None:
    """Give each named submodule a generator in its saved state (bit generators by name, from a fixed list)."""
    modules = dict(model.named_modules())
    for name, state in states.items():
        kind = state.get("bit_generator")
        if name not in modules or kind not in BIT_GENERATORS:
            raise ValueError(f"the random state saved for module {name!r} ({kind}) does not fit this model")
        generator = np.random.Generator(BIT_GENERATORS[kind]())
        generator.bit_generator.state = state
        modules[name].generator = generator


def _optimizer_state(saved: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(index): dict(scalars) for index, scalars in saved["state"].items()}
    for key, array in tensors.items():
        index, name = key[len(OPTIMIZER_PREFIX) :].split(".", 1)
        state.setdefault(int(index), {})[name] = array
    return {"state": state, "param_groups": saved["param_groups"]}


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Rebuild the model a checkpoint describes, load its weights, and return it with the saved state."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; save one with save_checkpoint(path, model)")
    try:
        with safe_open(str(path), framework="numpy") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file ({error})") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a safetensors file without {FORMAT} metadata, so its architecture is unknown; "
            "build the model yourself and load the weights with "
            "model.load_state_dict(safetensors.numpy.load_file(path))"
        )
    try:
        model = module_from_config(json.loads(metadata["architecture"]))
        weights = {key: value for key, value in tensors.items() if not key.startswith(OPTIMIZER_PREFIX)}
        if weights:
            model.to(next(iter(weights.values())).dtype)
        model.load_state_dict(weights)
        _restore_generators(model, json.loads(metadata.get("rng", "{}")))
        optimizer = json.loads(metadata.get("optimizer", "null"))
        scheduler = json.loads(metadata.get("scheduler", "null"))
        history = json.loads(metadata.get("history", "null"))
        optimizer_arrays = {key: value for key, value in tensors.items() if key.startswith(OPTIMIZER_PREFIX)}
        return Checkpoint(
            model=model,
            step=int(metadata.get("step", 0)),
            epoch=int(metadata.get("epoch", 0)),
            preprocessing=json.loads(metadata.get("preprocessing", "{}")),
            class_names=json.loads(metadata.get("class_names", "null")),
            optimizer_type=None if optimizer is None else optimizer["type"],
            optimizer_state=None if optimizer is None else _optimizer_state(optimizer, optimizer_arrays),
            scheduler_state=None if scheduler is None else scheduler["state"],
            history=None if history is None else History.from_dict(history),
            metadata=metadata,
        )
    except (KeyError, ValueError, TypeError, RuntimeError) as error:
        raise CheckpointError(f"{path}: cannot rebuild the saved model: {error}") from None
