"""Architectures as data: layer type name <-> class, so a checkpoint rebuilds its model.

A layer's config is its type name plus its constructor arguments, e.g.
``{"type": "Linear", "in_features": 784, "out_features": 785, "bias": true}``.
New layers join with ``@register_module``, defining ``get_config`` (and, if their
constructor differs from their config, ``from_config``); nothing else changes.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .module import Module

M = TypeVar("M", bound=type[Module])

_LAYERS: dict[str, type[Module]] = {}


def register_module(cls: M) -> M:
    """Class decorator: make ``cls`` buildable from its config under its class name."""
    name = cls.__name__
    if name in _LAYERS and _LAYERS[name] is not cls:
        raise ValueError(f"register_module: another class is already registered as {name!r}")
    _LAYERS[name] = cls
    return cls


def registered_modules() -> dict[str, type[Module]]:
    """A copy of the registry: type name -> class."""
    return dict(_LAYERS)


def module_to_config(module: Module) -> dict[str, Any]:
    """``{"type": name, **module.get_config()}``; refuses modules that are not registered."""
    name = type(module).__name__
    if _LAYERS.get(name) is not type(module):
        raise TypeError(
            f"{name} is not a registered module type, so a checkpoint could not rebuild it; "
            f"decorate the class with @tinygrad_mnist.nn.register_module and define get_config()"
        )
    return {"type": name, **module.get_config()}


def module_from_config(config: dict[str, Any]) -> Module:
    """Build the module a config describes (with fresh weights)."""
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"a module config must be a dict with a 'type' key, got {config!r}")
    arguments = dict(config)
    name = arguments.pop("type")
    if name not in _LAYERS:
        raise ValueError(f"unknown module type {name!r}; registered types: {', '.join(sorted(_LAYERS))}")
    try:
        return _LAYERS[name].from_config(arguments)
    except (TypeError, KeyError) as error:
        raise ValueError(f"cannot build {name} from config {config}: {error}") from None
