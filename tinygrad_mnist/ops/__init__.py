"""Differentiable operations, each an ``autograd.Function``: forward (NumPy) and backward (Tensor ops) side by side."""

from .conv import avg_pool2d, conv2d, max_pool2d
from .elementwise import Add, Div, Exp, Log, Mul, Neg, Pow, ReLU, Sigmoid, Sub, Tanh
from .loss import CrossEntropy, CrossEntropyBackward, LogSoftmax, Softmax
from .matmul import BatchMatMul, Einsum, Linear, LinearBackward, MatMul
from .movement import Cast, Clone, Reshape, Transpose
from .reduce import (
    CumSum,
    Expand,
    Max,
    Prod,
    PutAlong,
    Sum,
    TakeAlong,
)

__all__ = [
    "BatchMatMul",
    "CumSum",
    "Einsum",
    "Prod",
    "PutAlong",
    "TakeAlong",
    "Add",
    "Cast",
    "Clone",
    "CrossEntropy",
    "CrossEntropyBackward",
    "Div",
    "Exp",
    "Expand",
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
    "Sigmoid",
    "Softmax",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "avg_pool2d",
    "conv2d",
    "max_pool2d",
]
