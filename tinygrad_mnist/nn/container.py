"""Sequential: layers applied one after another, named 0, 1, 2, ..."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .module import Module
from .registry import module_from_config, module_to_config, register_module


@register_module
class Sequential(Module):
    """``Sequential(Linear(784, 785), ReLU(), Linear(785, 10))``: indexable, sliceable, iterable, ``len``.

    Unlike PyTorch, a slice renumbers its layers from 0.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Any:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        try:
            return layers[index]
        except IndexError:
            raise IndexError(f"Sequential index {index} is out of range for {len(layers)} layers") from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def get_config(self) -> dict[str, Any]:
        return {"layers": [module_to_config(module) for module in self]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls(*(module_from_config(layer) for layer in config["layers"]))
