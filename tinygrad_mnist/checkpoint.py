"""Checkpoints as safetensors files: weights plus everything needed to rebuild and resume.

One file holds the model's weights under their ``state_dict`` names (``0.weight``...,
so ``safetensors.numpy.load_file`` feeds PyTorch's ``load_state_dict`` directly),
optimizer arrays under ``optimizer.state.<index>.<name>``, and in its string
metadata, as JSON: the architecture (``nn.module_to_config``), the preprocessing
(e.g. ``{"pixel_scale": 1/255}``), the class names, the step and epoch (and how far
into the next epoch), the optimizer's and scheduler's other state, the history, the
random generators' states, a summary of the training data, anything ``extra`` the
caller keeps, and a SHA-256 of all of it (tensors and metadata) checked on load.

A model of the user's own ``Module`` subclass (not registered, so no architecture can
describe it) is saved all the same, without the architecture: ``load_checkpoint(path,
model=instance)`` loads the weights, buffers and random states into an instance the caller
builds, as PyTorch's ``model.load_state_dict(torch.load(path))`` does.

Loading never runs code (no pickle), and checks what it can before it allocates: the
format tag, every metadata field's type, each tensor's dtype, and the architecture's
parameter shapes against the shapes the file's header declares (so a small file cannot
ask for a huge model). Writes are atomic (``files.atomic_write``): a crash mid-write
leaves the previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
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
from .serialization import SAFETENSORS_DTYPES
from .tensor import Tensor
from .train import EpochProgress, History

FORMAT = "tinygrad_mnist.checkpoint.v1"
OPTIMIZER_PREFIX = "optimizer.state."
CHECKSUM = "sha256"
#: The tensor dtypes a checkpoint may hold (safetensors' names): a Tensor's (NumPy has no bfloat16).
DTYPES = {name: dtype for dtype, name in SAFETENSORS_DTYPES.items()}
#: The dtypes a Linear's or Conv2d's weights may have: the engine computes in float32 or float64.
FLOAT_DTYPES = ("F32", "F64")
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
        fit(ckpt.model, optimizer, loader, epochs, scheduler=scheduler, start_epoch=ckpt.epoch, history=ckpt.history,
            within_epoch=ckpt.within_epoch)

    ``within_epoch`` is set when the run was saved inside an epoch (``fit``'s
    ``TrainingInterruptedError``); ``dataset`` is what the saver said about the training
    data (e.g. ``data.summarise``'s summary), ``extra`` whatever else it kept.
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
    within_epoch: EpochProgress | None = None
    dataset: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None


def _json_value(value: Any) -> Any:
    """NumPy scalars and arrays as JSON values; anything else is refused by name."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"save_checkpoint: a {type(value).__name__} ({value!r}) cannot be stored as JSON metadata")


def _json(value: Any) -> str:
    return json.dumps(value, default=_json_value)


def _array(value: Any) -> np.ndarray:
    """A Tensor's or array's values as a contiguous array (``state_dict`` gives either)."""
    return np.asarray(value.numpy() if isinstance(value, Tensor) else value, order="C")  # 0-d stays 0-d


def _architecture(model: Module) -> dict[str, Any] | None:
    """The registered architecture that rebuilds ``model``, or None for a model of the user's own classes."""
    try:
        return module_to_config(model)
    except TypeError:  # an unregistered Module subclass somewhere in it
        return None


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
    within_epoch: EpochProgress | None = None,
    dataset: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save the model (and optionally the training state) to ``path`` atomically; returns the path.

    ``within_epoch`` records a run stopped inside epoch ``epoch + 1``; ``dataset`` and
    ``extra`` are JSON-able dicts kept as they are (what the data was, how the run was made).
    A model of unregistered classes is saved without its architecture (its class name is
    kept): load it into an instance with ``load_checkpoint(path, model=...)``.
    """
    path = Path(path)
    tensors = {name: _array(value) for name, value in model.state_dict().items()}
    clash = [name for name in tensors if name.startswith(OPTIMIZER_PREFIX)]
    if clash:
        raise ValueError(f"save_checkpoint: parameter names {clash} collide with the optimizer's {OPTIMIZER_PREFIX}")
    architecture = _architecture(model)
    metadata = {
        "format": FORMAT,
        **({"module_type": type(model).__name__} if architecture is None else {"architecture": _json(architecture)}),
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
                if isinstance(value, np.ndarray | Tensor):
                    tensors[f"{OPTIMIZER_PREFIX}{index}.{name}"] = _array(value)
                else:
                    scalars[str(index)][name] = value
        metadata["optimizer"] = _json(
            {"type": type(optimizer).__name__, "param_groups": state["param_groups"], "state": scalars}
        )
    if scheduler is not None:
        metadata["scheduler"] = _json({"type": type(scheduler).__name__, "state": scheduler.state_dict()})
    if history is not None:
        metadata["history"] = _json(history.to_dict())
    for key, value in (("within_epoch", within_epoch and asdict(within_epoch)), ("dataset", dataset), ("extra", extra)):
        if value is not None:
            metadata[key] = _json(value)
    metadata[CHECKSUM] = _checksum(tensors.items(), metadata)
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


def _checksum(tensors: Iterable[tuple[str, np.ndarray]], metadata: dict[str, str]) -> str:
    """SHA-256 over every tensor (name, dtype, shape and bytes, in name order) and every other metadata entry."""
    digest = hashlib.sha256()
    for name, array in sorted(tensors, key=lambda item: item[0]):
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    digest.update(json.dumps({k: v for k, v in metadata.items() if k != CHECKSUM}, sort_keys=True).encode())
    return digest.hexdigest()


def _field(path: Path, metadata: dict[str, str], key: str, kinds: tuple[type, ...], default: Any) -> Any:
    """Metadata entry ``key`` parsed as JSON, refused unless it is one of ``kinds`` (or absent: ``default``)."""
    if key not in metadata:
        return default
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: its {key!r} metadata is not valid JSON ({error})") from None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = " or ".join("null" if kind is type(None) else kind.__name__ for kind in kinds)
        raise CheckpointError(f"{path}: its {key!r} metadata is a {type(value).__name__}, expected {wanted}")
    return value


def _count(path: Path, metadata: dict[str, str], key: str) -> int:
    value = _field(path, metadata, key, (int,), 0)
    if value < 0:
        raise CheckpointError(f"{path}: its {key!r} metadata is {value}, expected a count >= 0")
    return value


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def parameter_shapes(config: dict[str, Any], prefix: str = "") -> dict[str, tuple[int, ...]]:
    """The weights the architecture ``config`` will allocate, by ``state_dict`` name, worked out without
    allocating them: for ``Sequential``, ``Linear`` and ``Conv2d`` (other layers are not counted).

    This is what lets ``load_checkpoint`` refuse a small file whose architecture asks
    for gigabytes before building anything.
    """
    kind = config.get("type")
    if kind == "Sequential":
        shapes: dict[str, tuple[int, ...]] = {}
        for index, layer in enumerate(config.get("layers", [])):
            if not isinstance(layer, dict):
                raise ValueError(f"layer {prefix}{index} of the architecture is a {type(layer).__name__}, not a dict")
            shapes |= parameter_shapes(layer, f"{prefix}{index}.")
        return shapes
    if kind == "Linear":
        rows, columns = config["out_features"], config["in_features"]
        weight: tuple[int, ...] = (rows, columns)
    elif kind == "Conv2d":
        rows = config["out_channels"]
        weight = (rows, config["in_channels"], *_pair(config["kernel_size"]))
    else:
        return {}
    if not all(isinstance(size, int) and not isinstance(size, bool) for size in weight):
        raise ValueError(f"{prefix}weight of the architecture has sizes {weight}, not whole numbers")
    return {f"{prefix}weight": weight, **({f"{prefix}bias": (rows,)} if config.get("bias", True) else {})}


def _check_shapes(
    path: Path, architecture: dict[str, Any], stored: dict[str, tuple[int, ...]], dtypes: dict[str, str]
) -> None:
    """Refuse an architecture whose Linear and Conv2d weights are not exactly the float tensors the file holds."""
    try:
        wanted = parameter_shapes(architecture)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: cannot rebuild the saved model: a malformed architecture ({error})") from None
    for name, shape in wanted.items():
        if stored.get(name) != shape:
            size = f"{math.prod(shape):,} values"
            held = "does not hold it" if name not in stored else f"holds {stored[name]}"
            raise CheckpointError(
                f"{path}: its architecture asks for {name} of shape {shape} ({size}), but the file {held}; "
                "the file is damaged or was not written by save_checkpoint"
            )
        if dtypes[name] not in FLOAT_DTYPES:
            raise CheckpointError(
                f"{path}: tensor {name} is stored as {dtypes[name]}, but a layer's weights are float32 or float64 "
                "(convert the weights, e.g. tensor.float() in PyTorch, and save them again)"
            )


def load_checkpoint(path: str | Path, model: Module | None = None) -> Checkpoint:
    """Rebuild the model a checkpoint describes, load its weights, and return it with the saved state.

    With ``model``, load the weights (strictly: every name and shape must fit), buffers and
    random states into it instead of building one: the way back for a model of the user's
    own classes, which a file cannot describe. Everything that can be checked from the file's
    header is checked before any tensor is read or any layer built; then the tensors are read
    and checked against the SHA-256.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; save one with save_checkpoint(path, model)")
    try:
        with safe_open(str(path), framework="numpy") as file:
            metadata = file.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise CheckpointError(
                    f"{path} is a safetensors file without {FORMAT} metadata, so its architecture is unknown; "
                    "build the model yourself and load the weights with "
                    "model.load_state_dict(safetensors.numpy.load_file(path))"
                )
            stored, dtypes = {}, {}
            for key in file.keys():  # noqa: SIM118 - not a dict
                header = file.get_slice(key)
                if header.get_dtype() not in DTYPES:
                    raise CheckpointError(
                        f"{path}: tensor {key} is stored as {header.get_dtype()}, which no Tensor holds "
                        "(convert the weights, e.g. tensor.float() in PyTorch, and save them again)"
                    )
                stored[key], dtypes[key] = tuple(header.get_shape()), header.get_dtype()
            architecture = _field(path, metadata, "architecture", (dict,), None)
            if model is None and architecture is None:
                kind = metadata.get("module_type", "model")
                raise CheckpointError(
                    f"{path}: its metadata has no architecture (the model was a {kind}, not a registered module), "
                    f"so the model cannot be rebuilt; build one and load into it: load_checkpoint(path, model={kind}())"
                )
            if model is None:
                _check_shapes(path, architecture, stored, dtypes)
            state = _metadata(path, metadata)
            tensors = {key: file.get_tensor(key) for key in stored}
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file ({error})") from None
    if CHECKSUM in metadata and _checksum(tensors.items(), metadata) != metadata[CHECKSUM]:
        raise CheckpointError(
            f"{path}: its contents do not match the SHA-256 it was saved with, so some bytes changed after "
            "saving (a damaged disk or copy); use another copy, or the run's previous checkpoint"
        )
    weights = {key: value for key, value in tensors.items() if not key.startswith(OPTIMIZER_PREFIX)}
    optimizer_arrays = {key: value for key, value in tensors.items() if key.startswith(OPTIMIZER_PREFIX)}
    try:
        if model is None:
            model = module_from_config(architecture)
            floats = [array.dtype for array in weights.values() if array.dtype.kind == "f"]
            if floats:
                model.to(floats[0])
        model.load_state_dict(weights)
        _restore_generators(model, state.pop("rng"))
        optimizer = state.pop("optimizer")
        return Checkpoint(
            model=model,
            optimizer_type=None if optimizer is None else optimizer["type"],
            optimizer_state=None if optimizer is None else _optimizer_state(optimizer, optimizer_arrays),
            metadata=metadata,
            **state,
        )
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as error:
        raise CheckpointError(f"{path}: cannot rebuild the saved model: {error}") from None


def _metadata(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    """Every metadata entry but the architecture, parsed and type-checked, as ``Checkpoint`` fields."""
    optimizer = _field(path, metadata, "optimizer", (dict, type(None)), None)
    if optimizer is not None and not (
        isinstance(optimizer.get("type"), str)
        and isinstance(optimizer.get("param_groups"), list)
        and all(isinstance(group, dict) for group in optimizer["param_groups"])
        and isinstance(optimizer.get("state"), dict)
        and all(isinstance(entry, dict) for entry in optimizer["state"].values())
    ):
        raise CheckpointError(f"{path}: its 'optimizer' metadata lacks a type, param_groups or state of the right kind")
    scheduler = _field(path, metadata, "scheduler", (dict, type(None)), None)
    if scheduler is not None and not isinstance(scheduler.get("state"), dict):
        raise CheckpointError(f"{path}: its 'scheduler' metadata has no state dict")
    history = _field(path, metadata, "history", (dict, type(None)), None)
    within = _field(path, metadata, "within_epoch", (dict, type(None)), None)
    class_names = _field(path, metadata, "class_names", (list, type(None)), None)
    if class_names is not None and not all(isinstance(name, str) for name in class_names):
        raise CheckpointError(f"{path}: its 'class_names' metadata is not a list of strings")
    rng = _field(path, metadata, "rng", (dict,), {})
    if not all(isinstance(state, dict) for state in rng.values()):
        raise CheckpointError(f"{path}: its 'rng' metadata is not a dict of generator states")
    try:
        return {
            "step": _count(path, metadata, "step"),
            "epoch": _count(path, metadata, "epoch"),
            "preprocessing": _field(path, metadata, "preprocessing", (dict,), {}),
            "class_names": class_names,
            "optimizer": optimizer,
            "scheduler_state": None if scheduler is None else scheduler["state"],
            "history": None if history is None else History.from_dict(history),
            "within_epoch": None if within is None else EpochProgress(**within),
            "dataset": _field(path, metadata, "dataset", (dict, type(None)), None),
            "extra": _field(path, metadata, "extra", (dict, type(None)), None),
            "rng": rng,
        }
    except TypeError as error:  # History or EpochProgress given fields they do not have, or values not lists
        raise CheckpointError(f"{path}: its history or epoch progress metadata does not fit ({error})") from None
