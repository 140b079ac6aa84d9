"""Differentiable operations, each an ``autograd.Function``: forward (NumPy) and backward (Tensor ops) side by side."""

from .conv import avg_pool2d, conv2d, max_pool2d
from .elementwise import Add, Div, Exp, Log, Mul, Neg, Pow, ReLU, Sigmoid, Sub, Tanh
from .loss import CrossEntropy, CrossEntropyBackward, LogSoftmax, Softmax
from .matmul import Linear, LinearBackward, MatMul
from .movement import Cast, Clone, Concat, Flip, Narrow, Pad, Permute, Reshape
from .reduce import Expand, Max, Sum

__all__ = [
    "Add",
    "Cast",
    "Clone",
    "Concat",
    "CrossEntropy",
    "CrossEntropyBackward",
    "Div",
    "Exp",
    "Expand",
    "Flip",
    "Linear",
    "LinearBackward",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "Mul",
    "Narrow",
    "Neg",
    "Pad",
    "Permute",
    "Pow",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Sub",
    "Sum",
    "Tanh",
    "avg_pool2d",
    "conv2d",
    "max_pool2d",
]
