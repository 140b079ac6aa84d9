"""Differentiable operations: each one's forward and backward side by side."""

from .conv import AvgPool2d, Conv2d, MaxPool2d
from .elementwise import Add, Div, Exp, Log, Mul, Neg, Pow, ReLU, Sigmoid, Sub, Tanh
from .linear import Linear
from .loss import CrossEntropy, LogSoftmax, Softmax
from .matmul import MatMul
from .movement import Reshape, Transpose
from .op import Op
from .reduce import Max, Mean, Sum

__all__ = [
    "Add",
    "AvgPool2d",
    "Conv2d",
    "CrossEntropy",
    "Div",
    "Exp",
    "Linear",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool2d",
    "Mean",
    "Mul",
    "Neg",
    "Op",
    "Pow",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
]
