"""``save`` and ``load``, PyTorch's ``torch.save``/``torch.load``, without pickles.

A file is a plain safetensors file: every tensor (and NumPy array) of the saved object is a
safetensors tensor, and the object's shape around them (which containers, which keys, which
numbers and strings) is JSON in the header's string metadata (``"structure"``). Tensors are named
by where they sit, keys joined with dots, so a flat state dict's tensors are named as its keys
(``0.weight``...) and ``safetensors.torch.load_file`` hands PyTorch's ``load_state_dict`` exactly
what it wants; ``{"model": state_dict}`` gives ``model.0.weight``.

What round-trips, types included: Tensors (every dtype, ``requires_grad``, ``nn.Parameter``),
NumPy arrays and scalars, ``None``, bools, ints, floats (``nan`` and ``inf`` too, by their bits), strings,
lists, tuples, ``Size``, dicts and ``OrderedDict`` s (key order kept; keys may be strings,
ints, floats, bools or None), nested to any depth. So do a model's and an optimizer's
``state_dict()``. One Tensor (or array) saved twice loads as one object, seen twice; two
Tensors that share memory (views) load as two copies.

Loading never runs code and never unpickles, so ``weights_only`` changes nothing: it is always
as safe as PyTorch's ``weights_only=True``. A PyTorch ``.pt`` file (a pickle) is refused with
how to convert it; a plain safetensors file without our structure loads as a dict of Tensors.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from .device import check_device, device
from .files import atomic_write
from .tensor import Size, Tensor

__all__ = ["SerializationError", "load", "save"]

FORMAT = "tinygrad_mnist.save.v1"
#: NumPy dtype -> safetensors' name, for the dtypes a Tensor can have (NumPy has no bfloat16).
SAFETENSORS_DTYPES = {
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.uint8): "U8",
    np.dtype(np.int8): "I8",
    np.dtype(np.int16): "I16",
    np.dtype(np.int32): "I32",
    np.dtype(np.int64): "I64",
    np.dtype(np.float16): "F16",
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
}
NUMPY_NAMES = {dtype.name for dtype in SAFETENSORS_DTYPES}
FileLike = str | os.PathLike | IO[bytes]
#: How a container type is named in the structure.
CONTAINERS: dict[type, str] = {list: "list", tuple: "tuple", Size: "Size", dict: "dict", OrderedDict: "OrderedDict"}
#: Name -> the type, which builds the container from its items (dicts from (key, value) pairs).
BUILDERS: dict[str, Callable[[Any], Any]] = {name: kind for kind, name in CONTAINERS.items()}
KEY_TYPES = (str, int, float, type(None))  # bool is an int
HEADER_SIZE = struct.Struct("<Q")


FLOAT_BITS = struct.Struct(">d")


class SerializationError(RuntimeError):
    """A file ``load`` cannot read: not ours, damaged, or a pickle. The message names the file."""


def _parameter() -> type[Tensor]:
    """``nn.Parameter``, imported when first needed: ``nn`` sits above the engine, which imports this module."""
    from .nn.parameter import Parameter

    return Parameter


def _float(value: float) -> float | str:
    """A float as JSON: itself, or (JSON has no nan or inf) its IEEE-754 bits in hex, so a NaN's sign survives."""
    return value if math.isfinite(value) else FLOAT_BITS.pack(value).hex()


def _unfloat(content: Any) -> float | None:
    """The float ``_float`` wrote, or None if ``content`` is not one."""
    if type(content) in (int, float):
        return float(content)
    if isinstance(content, str) and len(content) == 16 and all(c in "0123456789abcdef" for c in content):
        return FLOAT_BITS.unpack(bytes.fromhex(content))[0]
    return None


class _Encoder:
    """Walks an object, collecting its tensors by dotted name and describing the rest as JSON nodes."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}  # id of a saved Tensor/array (alive: obj holds it) -> its tensor name
        self.open: set[int] = set()  # ids of the containers being walked, to refuse cycles

    def node(self, value: Any, where: list[str]) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return {"int": value}
        if isinstance(value, float):
            return {"float": _float(value)}
        if isinstance(value, str):
            return {"str": value}
        if isinstance(value, Tensor):
            kind = {"tensor": self.array(value, value.numpy(), where), "requires_grad": value.requires_grad}
            return kind | ({"parameter": True} if isinstance(value, _parameter()) else {})
        if isinstance(value, np.ndarray):
            return {"ndarray": self.array(value, value, where)}
        if isinstance(value, np.generic) and value.dtype in SAFETENSORS_DTYPES:
            return {"numpy": value.dtype.name, "value": self.node(value.item(), where)}
        kind = CONTAINERS.get(type(value))
        if kind is None:
            raise TypeError(
                f"save: cannot store {_where(where)}, a {type(value).__name__}; save Tensors, NumPy arrays, numbers, "
                "strings, None, and lists, tuples and dicts of them (a model: save model.state_dict())"
            )
        if id(value) in self.open:
            raise ValueError(f"save: {_where(where)} contains itself")
        self.open.add(id(value))
        if isinstance(value, dict):
            items = [[self.key(key, where), self.node(item, [*where, str(key)])] for key, item in value.items()]
        else:
            items = [self.node(item, [*where, str(index)]) for index, item in enumerate(value)]
        self.open.remove(id(value))
        return {kind: items}

    def key(self, key: Any, where: list[str]) -> Any:
        if not isinstance(key, KEY_TYPES):
            raise TypeError(
                f"save: {_where(where)} has a key of type {type(key).__name__}; keys must be strings, numbers or None"
            )
        return self.node(key, where)

    def array(self, owner: Any, array: np.ndarray, where: list[str]) -> str:
        """The name the array of ``owner`` is stored under: a new one from ``where``, or its earlier one."""
        if id(owner) in self.names:
            return self.names[id(owner)]
        if array.dtype not in SAFETENSORS_DTYPES:
            raise TypeError(f"save: {_where(where)} holds {array.dtype} values, which a file cannot hold")
        name = _unused(".".join(where) or "tensor", self.tensors)
        self.tensors[name] = np.asarray(array, order="C")  # ascontiguousarray makes 0-d 1-d
        self.names[id(owner)] = name
        return name


def _unused(name: str, taken: dict[str, Any]) -> str:
    """``name``, or ``name#2``, ``name#3``... if taken (``{"a.b": x, "a": {"b": y}}`` has two ``a.b``)."""
    suffix = 1
    while (candidate := name if suffix == 1 else f"{name}#{suffix}") in taken:
        suffix += 1
    return candidate


def _where(where: list[str]) -> str:
    return "obj" + "".join(f"[{part!r}]" for part in where)


def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` (Tensors, state dicts, nested containers of tensors and numbers) to ``f``.

    ``f`` is a path (written atomically: readers see the old file or the whole new one) or a
    binary file object (written in one call, after everything has been encoded). Refuses, by
    where it sits, anything it cannot store, before writing a byte.
    """
    encoder = _Encoder()
    structure = json.dumps(encoder.node(obj, []), allow_nan=False)
    data = save_tensors(encoder.tensors, metadata={"format": FORMAT, "structure": structure})
    if isinstance(f, str | os.PathLike):
        with atomic_write(f) as temporary:
            temporary.write_bytes(data)
    else:
        _check_binary(f, "save", "wb").write(data)


def _check_binary(f: IO[bytes], caller: str, mode: str) -> IO[bytes]:
    """``f``, unless it is a text file (whose bytes would be decoded as text)."""
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{caller}: f is a text file; open it in binary mode, open(path, {mode!r})")
    return f


def _check_map_location(map_location: Any) -> None:
    """Accept what puts everything on the CPU: None, 'cpu', a CPU device; name anything else."""
    if isinstance(map_location, str | device):
        check_device(map_location)
    elif map_location is not None:
        raise TypeError(
            f"load: map_location={map_location!r}: tinygrad_mnist loads everything onto the CPU; "
            "pass None, 'cpu' or torch.device('cpu')"
        )


def _read(f: FileLike) -> tuple[str, bytes]:
    """The file's name (for messages) and its bytes."""
    if isinstance(f, str | os.PathLike):
        path = Path(f)
        if not path.is_file():
            raise FileNotFoundError(f"load: no file at {path}")
        return str(path), path.read_bytes()
    data = _check_binary(f, "load", "rb").read()
    return str(getattr(f, "name", "the file object")), data


def _not_ours(name: str, data: bytes) -> SerializationError:
    """Why ``data`` is not a safetensors file, in words: a PyTorch pickle, another zip, or just not one."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:  # lists the names only
                pickled = any(entry.endswith("data.pkl") for entry in archive.namelist())
        except zipfile.BadZipFile:
            pickled = False
        if not pickled:
            return SerializationError(f"load: {name} is a zip archive, not a file written by tinygrad_mnist.save")
    elif data[:1] != b"\x80":
        return SerializationError(
            f"load: {name} is not a file written by tinygrad_mnist.save (nor a safetensors file): "
            f"its first bytes are {data[:16]!r}"
        )
    return SerializationError(
        f"load: {name} is a pickle (PyTorch's torch.save format); tinygrad_mnist never unpickles, since "
        "unpickling can run any code. Convert it once in PyTorch: "
        "safetensors.torch.save_file(torch.load(path), 'model.safetensors') for a state dict of tensors, "
        "then load that file here"
    )


def _header(name: str, data: bytes) -> dict[str, Any]:
    """The safetensors header as a dict, after checking the file is long enough to hold what it claims."""
    if len(data) < HEADER_SIZE.size:
        raise SerializationError(f"load: {name} has {len(data)} bytes, too few for a safetensors file")
    (size,) = HEADER_SIZE.unpack_from(data)
    if data[8:9] != b"{" or size > len(data) - HEADER_SIZE.size:
        if data[8:9] == b"{":
            raise SerializationError(
                f"load: {name}'s header claims {size:,} bytes but the file has {len(data):,}: it is truncated"
            )
        raise _not_ours(name, data)
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise SerializationError(f"load: {name}'s header is not valid JSON ({error})") from None
    for key, entry in header.items():
        if key != "__metadata__" and (
            not isinstance(entry, dict) or entry.get("dtype") not in SAFETENSORS_DTYPES.values()
        ):
            stored = entry.get("dtype") if isinstance(entry, dict) else entry
            raise SerializationError(f"load: {name}: tensor {key!r} is stored as {stored!r}, not a dtype we hold")
    return header


class _Decoder:
    """Builds the object back from its structure's JSON nodes and the file's tensors."""

    def __init__(self, name: str, tensors: dict[str, np.ndarray]) -> None:
        self.name = name
        self.tensors = tensors
        self.built: dict[str, Any] = {}  # tensor name -> the object made from it, so a shared one stays shared

    def fail(self, what: str) -> SerializationError:
        return SerializationError(f"load: {self.name}: its structure metadata {what}; the file is damaged")

    def node(self, node: Any) -> Any:
        if node is None or isinstance(node, bool):
            return node
        if not isinstance(node, dict) or len(node) not in (1, 2, 3):
            raise self.fail(f"has {node!r} where a value was expected")
        kind, content = next(iter(node.items()))
        if kind == "int" and type(content) is int:
            return content
        if kind == "float" and (number := _unfloat(content)) is not None:
            return number
        if kind == "str" and isinstance(content, str):
            return content
        if kind in ("tensor", "ndarray") and isinstance(content, str):
            return self.array(kind, content, node)
        if kind == "numpy" and content in NUMPY_NAMES:
            return np.dtype(content).type(self.node(node.get("value")))
        if kind in ("dict", "OrderedDict") and isinstance(content, list):
            if not all(isinstance(item, list) and len(item) == 2 for item in content):
                raise self.fail(f"has a {kind} whose items are not [key, value] pairs")
            return BUILDERS[kind]((self.key(key), self.node(value)) for key, value in content)
        if kind in BUILDERS and isinstance(content, list):
            return BUILDERS[kind](self.node(item) for item in content)
        raise self.fail(f"has {json.dumps(node)[:80]}, which is no value it knows")

    def key(self, node: Any) -> Any:
        key = self.node(node)
        if not isinstance(key, KEY_TYPES):
            raise self.fail(f"has a dict key of type {type(key).__name__}")
        return key

    def array(self, kind: str, name: str, node: dict[str, Any]) -> Any:
        if name not in self.tensors:
            raise self.fail(f"names tensor {name!r}, which the file does not hold")
        if name not in self.built:
            array = self.tensors[name]
            if kind == "ndarray":
                self.built[name] = array
            elif node.get("parameter"):
                self.built[name] = _parameter()(array, requires_grad=bool(node.get("requires_grad")))
            else:
                self.built[name] = Tensor(array).requires_grad_(bool(node.get("requires_grad")))
        return self.built[name]


def load(f: FileLike, map_location: Any = None, *, weights_only: bool | None = None) -> Any:
    """Load what ``save`` saved from ``f`` (a path or a binary file object), as it was saved.

    ``map_location`` may be None, ``"cpu"`` or a CPU ``device`` (everything lives on the CPU);
    ``weights_only`` is accepted for PyTorch's sake and changes nothing: loading never runs
    code. A plain safetensors file (say from ``safetensors.torch.save_file``) loads as a dict
    of Tensors. Files that are neither, damaged ones and PyTorch's pickles are refused with a
    ``SerializationError`` naming the file.
    """
    _check_map_location(map_location)
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    name, data = _read(f)
    header = _header(name, data)
    try:
        tensors = load_tensors(data)
    except SafetensorError as error:
        raise SerializationError(f"load: {name} is a damaged safetensors file ({error})") from None
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT or "structure" not in metadata:
        return {key: Tensor(tensors[key]) for key in _by_offset(header)}
    try:
        structure = json.loads(metadata["structure"])
    except (TypeError, json.JSONDecodeError, RecursionError) as error:
        raise SerializationError(f"load: {name}: its structure metadata is not valid JSON ({error})") from None
    try:
        return _Decoder(name, tensors).node(structure)
    except RecursionError:
        raise SerializationError(f"load: {name}: its structure metadata is nested too deeply") from None
    except (TypeError, ValueError, OverflowError) as error:  # e.g. an int tensor said to require grad
        raise SerializationError(f"load: {name}: its structure metadata does not fit its tensors ({error})") from None


def _by_offset(header: dict[str, Any]) -> Iterator[str]:
    """The tensor names of a header in the order their bytes sit in the file."""
    entries = {key: entry for key, entry in header.items() if key != "__metadata__"}
    return iter(sorted(entries, key=lambda key: entries[key].get("data_offsets", [0])[0]))
