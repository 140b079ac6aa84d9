"""Neural-network building blocks with PyTorch's names: modules, layers, losses, initialisation."""

from . import functional, init
from .container import Sequential
from .layers import Dropout, Flatten, Linear, ReLU, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss
from .module import IncompatibleKeys, Module, RemovableHandle
from .parameter import Parameter
from .registry import module_from_config, module_to_config, register_module, registered_modules

__all__ = [
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "IncompatibleKeys",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
    "module_from_config",
    "module_to_config",
    "register_module",
    "registered_modules",
]
