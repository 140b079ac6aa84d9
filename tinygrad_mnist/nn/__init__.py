"""Neural-network building blocks with PyTorch's names: modules, layers, losses, initialisation."""

from . import functional, init, utils
from .container import Sequential
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import Dropout, Flatten, Linear, ReLU, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss
from .module import IncompatibleKeys, Module, RemovableHandle
from .parameter import Parameter
from .registry import module_from_config, module_to_config, register_module, registered_modules
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "AvgPool2d",
    "Conv2d",
    "MaxPool2d",
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
    "utils",
    "module_from_config",
    "module_to_config",
    "register_module",
    "registered_modules",
]
