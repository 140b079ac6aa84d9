"""Differentiable operations, each an ``autograd.Function``: forward (NumPy) and backward (Tensor ops) side by side."""

from .conv import avg_pool2d, conv2d, max_pool2d
from .elementwise import Add, Div, Exp, Log, Mul, Neg, Pow, ReLU, Sigmoid, Sub, Tanh
from .indexing import Index, IndexAdd, SetIndex, Where
from .loss import CrossEntropy, CrossEntropyBackward, LogSoftmax, Softmax
from .matmul import Linear, LinearBackward, MatMul
from .movement import Cast, Clone, Reshape, Transpose
from .reduce import Expand, Max, Sum

__all__ = [
    "Add",
    "Cast",
    "Clone",
    "CrossEntropy",
    "CrossEntropyBackward",
    "Div",
    "Exp",
    "Expand",
    "Index",
    "IndexAdd",
    "Linear",
    "LinearBackward",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "Mul",
    "Neg",
    "Pow",
    "ReLU",
    "Reshape",
    "SetIndex",
    "Sigmoid",
    "Softmax",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Where",
    "avg_pool2d",
    "conv2d",
    "max_pool2d",
]
