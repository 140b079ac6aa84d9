"""Add your own op, and prove its gradients: Softplus and a broadcasting SquaredDifference.

An op is a subclass of ``autograd.Function`` with two static methods, as in PyTorch.
``forward(ctx, *args)`` computes the output in NumPy from the inputs' arrays (``x.numpy()``)
and saves what backward needs with ``ctx.save_for_backward``. ``backward(ctx, grad)`` gets
the gradient of the output and returns one gradient per input, written in Tensor ops on
``ctx.saved_tensors``; a gradient in the output's shape is fine, the engine sums it back
to its input's shape, so broadcasting comes free. ``Softplus.apply(x)`` runs the op and
records it in the graph.

Because backward is made of Tensor ops, the engine can record it too
(``create_graph=True``): the op has a second derivative without a line of extra code.

The proof is the project's own: ``gradcheck`` compares backward with central finite
differences in float64, ``gradgradcheck`` does the same for the backward of backward, and
the Hypothesis strategies of ``tinygrad_mnist.testing`` draw the shapes and values, so a
gradient that is right for one array but wrong for another (a broadcast, an edge value)
is found. Two deliberately wrong ops show the checks failing: one with the wrong
derivative, which gradcheck catches, and one whose backward leaves the graph (it saves
sigmoid(x) as a NumPy array, a constant), right at first order and caught by
gradgradcheck. Exits 1 if any check fails.

    python examples/custom_op.py
"""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import GradcheckError, Tensor, autograd, gradcheck, gradgradcheck
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.testing import arrays, assert_gradients_match, broadcastable_shapes

EXAMPLES = 100  # per property; Hypothesis stops early if it runs out of distinct cases


class Softplus(Function):
    """``log(1 + exp(x))``, a smooth ReLU; its derivative is ``sigmoid(x)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x.numpy())  # log(exp(0) + exp(x)) without overflow for large x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()  # a Tensor op, so it can be differentiated again


class SquaredDifference(Function):
    """``(a - b) ** 2`` for any two shapes that broadcast together."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)  # the inputs, not a - b: a saved array would be a constant
        difference = a.numpy() - b.numpy()
        return difference * difference

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = 2 * (a - b) * grad  # in the output's shape; the engine sums it back to each input's
        return (
            grad_a if ctx.needs_input_grad[0] else None,
            -grad_a if ctx.needs_input_grad[1] else None,
        )


class WrongSoftplus(Softplus):
    """The derivative of ``exp`` instead of Softplus's: plausible, and wrong."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.exp()


class DetachedSoftplus(Softplus):
    """The right first derivative, from a NumPy array: the backward leaves the graph,
    so its own derivative comes out zero instead of ``sigmoid'(x)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.exp(-np.logaddexp(0, -x.numpy())))  # sigmoid(x) as an array: a constant
        return np.logaddexp(0, x.numpy())

    @staticmethod
    def backward(ctx, grad):
        (sigmoid,) = ctx.saved_tensors
        return grad * sigmoid


def softplus(x: Tensor) -> Tensor:
    return Softplus.apply(x)


def squared_difference(a: Tensor, b: Tensor) -> Tensor:
    return SquaredDifference.apply(a, b)


def wrong_softplus(x: Tensor) -> Tensor:
    return WrongSoftplus.apply(x)


def detached_softplus(x: Tensor) -> Tensor:
    return DetachedSoftplus.apply(x)


@settings(max_examples=EXAMPLES, deadline=None)
@given(arrays(low=-30.0, high=30.0))
def check_softplus(x: np.ndarray) -> None:
    """Any shape (0-d included), values far into both tails; first and second order."""
    assert_gradients_match(softplus, x)
    gradgradcheck(softplus, x)
    assert np.all(softplus(Tensor(x)).numpy() >= np.maximum(x, 0))  # and the forward is a smooth upper bound of ReLU


pairs_of_arrays = broadcastable_shapes().flatmap(lambda shapes: st.tuples(arrays(shapes[0]), arrays(shapes[1])))


@settings(max_examples=EXAMPLES, deadline=None)
@given(pairs_of_arrays)
def check_squared_difference(pair: tuple[np.ndarray, np.ndarray]) -> None:
    """Every way two shapes broadcast: extra leading axes, axes of size 1, 0-d; first and second order."""
    assert_gradients_match(squared_difference, *pair)
    gradgradcheck(squared_difference, *pair)


def main() -> None:
    x = Tensor(np.array([-3.0, 0.0, 3.0]), requires_grad=True)
    (first,) = autograd.grad(softplus(x).sum(), x, create_graph=True)  # recorded: first has a graph
    (second,) = autograd.grad(first.sum(), x)
    print(f"softplus'({x.numpy().tolist()}) = {np.round(first.numpy(), 4).tolist()}  (sigmoid)")
    print(f"softplus''({x.numpy().tolist()}) = {np.round(second.numpy(), 4).tolist()}  (sigmoid * (1 - sigmoid))")
    print(f"gradcheck(softplus, [-3, 0, 3]): {gradcheck(softplus, x)}")
    print(f"gradgradcheck(softplus, [-3, 0, 3]): {gradgradcheck(softplus, x)}")

    failures = 0
    for check in (check_softplus, check_squared_difference):
        try:
            check()
            print(f"{check.__name__}: up to {EXAMPLES} Hypothesis examples, both orders agree with finite differences")
        except (AssertionError, GradcheckError) as error:
            failures += 1
            print(f"{check.__name__}: FAILED: {error}")

    try:
        gradcheck(wrong_softplus, np.array([-1.0, 0.5, 2.0]))
        failures += 1
        print("wrong_softplus: FAILED: the wrong gradient went unnoticed")
    except GradcheckError as error:
        print(f"wrong_softplus: caught, as it should be: {error}")

    points = np.array([-1.0, 0.5, 2.0])
    first_order = gradcheck(detached_softplus, points)
    print(f"detached_softplus: gradcheck passes (its first derivative is right): {first_order}")
    try:
        gradgradcheck(detached_softplus, points)
        failures += 1
        print("detached_softplus: FAILED: the constant second derivative went unnoticed")
    except GradcheckError as error:
        print(f"detached_softplus: caught by gradgradcheck, as it should be: {error}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
