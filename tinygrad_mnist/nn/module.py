"""Module: the base class of layers and models, with PyTorch's interface.

A module registers the Parameters and Modules assigned to its attributes, in
assignment order; that order gives ``named_parameters()`` its dotted names
(``0.weight``), ``state_dict()`` its keys and checkpoints their layout.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..device import unavailable
from ..tensor import Tensor, to_arguments, zero_grads
from .parameter import Parameter

ForwardHook = Callable[["Module", tuple[Any, ...], Any], Any]

_hook_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: dict[int, ForwardHook], hook_id: int) -> None:
        self._hooks, self.id = hooks, hook_id

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class: subclasses assign layers and Parameters in ``__init__`` and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "training", True)

    # ----- registration -----------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        parameters: dict[str, Parameter] | None = self.__dict__.get("_parameters")
        if parameters is None:
            if isinstance(value, Parameter | Module):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before Module.__init__(); "
                    f"call super().__init__() first in {type(self).__name__}.__init__"
                )
        elif isinstance(value, Parameter):
            self._modules.pop(name, None)
            parameters[name] = value
        elif isinstance(value, Module):
            parameters.pop(name, None)
            self._modules[name] = value
        else:
            parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    # ----- calling ----------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, x)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self.forward(*args, **kwargs)
        if not self._forward_hooks:  # the common case, kept to one check
            return output
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward; a non-None result replaces the output."""
        hook_id = next(_hook_ids)
        self._forward_hooks[hook_id] = hook
        return RemovableHandle(self._forward_hooks, hook_id)

    # ----- traversal --------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``, ``""`` by default) and every submodule, depth first, each once."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack.extend((_join(name, child_name), child) for child_name, child in reversed(module._modules.items()))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs such as ``("0.weight", ...)``; a shared Parameter appears once."""
        seen: set[int] = set()
        owners = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for owner_name, owner in owners:
            for name, param in owner._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield _join(owner_name, name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule, then on this one (e.g. a custom initialisation); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----- modes, gradients, dtype ------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all submodules to training mode (Dropout active); returns self."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (Dropout off); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients (set to None, or to zeros with ``set_to_none=False``)."""
        zero_grads(self.parameters(), set_to_none)

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast every parameter (and its gradient) to a floating dtype, as ``Tensor.to`` takes it:
        ``to(float64)``, ``to("cpu")`` (nothing to do), ``to(device, dtype)``, ``to(tensor)``; returns self."""
        dtype = to_arguments(*args, **kwargs)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"to: parameters must stay floating point, got dtype {dtype}")
        for param in self.parameters():
            param.data = param.numpy().astype(dtype, copy=False)
            if param.grad is not None:
                param.grad.data = param.grad.numpy().astype(dtype, copy=False)
        return self

    def cpu(self) -> Module:
        """This module (it is on the CPU already)."""
        return self

    def cuda(self, device: Any = None) -> Module:
        """Raises: there is no CUDA here."""
        raise unavailable("cuda")

    # ----- state ------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter name -> array, in registration order. The arrays are shared, not copied
        (as in PyTorch): copy them to keep a snapshot while training goes on."""
        return {name: param.numpy() for name, param in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays (or Tensors) into the parameters, cast to their dtypes.

        Refuses, naming every offending entry, when shapes differ or (with ``strict``)
        when entries are missing or unexpected; nothing is copied unless all fit.
        """
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        values = {name: np.asarray(v.numpy() if isinstance(v, Tensor) else v) for name, v in state_dict.items()}
        problems = [
            f"shape mismatch for {name}: the state has {values[name].shape}, the model {param.shape}"
            for name, param in own.items()
            if name in values and values[name].shape != param.shape
        ]
        problems += [
            f"{name} holds {values[name].dtype} values, parameters need floating point"
            for name in own
            if name in values and values[name].dtype.kind != "f"
        ]
        if strict:
            problems += [f"missing: {name}" for name in missing] + [f"unexpected: {name}" for name in unexpected]
        if problems:
            raise RuntimeError(f"load_state_dict: cannot load into {type(self).__name__}:\n  " + "\n  ".join(problems))
        for name, param in own.items():
            if name in values:
                np.copyto(param.numpy(), values[name], casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    # ----- description ------------------------------------------------------------

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr``, e.g. ``in_features=784, out_features=10, bias=True``."""
        return ""

    def label(self) -> str:
        """A short name for pictures and progress lines, e.g. ``Linear(784→10)``."""
        return type(self).__name__

    def get_config(self) -> dict[str, Any]:
        """The JSON-ready constructor arguments that rebuild this module (see ``nn.registry``)."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        """Rebuild a module from ``get_config()``'s output (with fresh weights)."""
        return cls(**config)

    def __repr__(self) -> str:
        """PyTorch's layout: ``Name(extra)``, or one indented ``(name): child`` line per submodule."""
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [self.extra_repr()] if self.extra_repr() else []
        lines += [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
