"""Add your own op, and prove its gradient: Softplus and a broadcasting SquaredDifference.

An op is a subclass of ``Op``: ``forward`` maps input arrays to one output array and
saves what ``backward`` needs; ``backward`` maps the gradient of the output to one
gradient per input, in the output's shape (the engine sums each back to its input's
shape, so broadcasting comes free). ``Tensor._apply`` records it in the graph.

The proof is the project's own: ``gradcheck`` compares backward with central finite
differences in float64, and the Hypothesis strategies of ``tinygrad_mnist.testing``
draw the shapes and values, so a gradient that is right for one array but wrong for
another (a broadcast, an edge value) is found. A deliberately wrong op shows the check
failing. Exits 1 if any check fails.

    python examples/custom_op.py
"""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import GradcheckError, Tensor, gradcheck
from tinygrad_mnist.ops import Op
from tinygrad_mnist.testing import arrays, assert_gradients_match, broadcastable_shapes

EXAMPLES = 100  # per property; Hypothesis stops early if it runs out of distinct cases


class Softplus(Op):
    """``log(1 + exp(x))``, a smooth ReLU; its derivative is ``sigmoid(x)``."""

    def forward(self, x):
        self.save(x)
        return np.logaddexp(0, x)  # log(exp(0) + exp(x)) without overflow for large x

    def backward(self, grad):
        (x,) = self.saved
        return (grad * np.exp(-np.logaddexp(0, -x)),)  # sigmoid(x), also without overflow


class SquaredDifference(Op):
    """``(a - b) ** 2`` for any two shapes that broadcast together."""

    def forward(self, a, b):
        difference = a - b
        self.save(difference)
        return difference * difference

    def backward(self, grad):
        (difference,) = self.saved
        grad_a = 2 * difference * grad  # in the output's shape; the engine unbroadcasts it
        return (
            grad_a if self.needs_input_grad[0] else None,
            -grad_a if self.needs_input_grad[1] else None,
        )


class WrongSoftplus(Softplus):
    """The derivative of ``exp`` instead of Softplus's: plausible, and wrong."""

    def backward(self, grad):
        (x,) = self.saved
        return (grad * np.exp(x),)


def softplus(x: Tensor) -> Tensor:
    return Tensor._apply(Softplus(), x)


def squared_difference(a: Tensor, b: Tensor) -> Tensor:
    return Tensor._apply(SquaredDifference(), a, b)


def wrong_softplus(x: Tensor) -> Tensor:
    return Tensor._apply(WrongSoftplus(), x)


@settings(max_examples=EXAMPLES, deadline=None)
@given(arrays(low=-30.0, high=30.0))
def check_softplus(x: np.ndarray) -> None:
    """Any shape (0-d included), values far into both tails."""
    assert_gradients_match(softplus, x)
    assert np.all(softplus(Tensor(x)).data >= np.maximum(x, 0))  # and the forward is a smooth upper bound of ReLU


pairs_of_arrays = broadcastable_shapes().flatmap(lambda shapes: st.tuples(arrays(shapes[0]), arrays(shapes[1])))


@settings(max_examples=EXAMPLES, deadline=None)
@given(pairs_of_arrays)
def check_squared_difference(pair: tuple[np.ndarray, np.ndarray]) -> None:
    """Every way two shapes broadcast: extra leading axes, axes of size 1, 0-d."""
    assert_gradients_match(squared_difference, *pair)


def main() -> None:
    x = Tensor(np.array([-3.0, 0.0, 3.0]), requires_grad=True)
    softplus(x).sum().backward()
    print(f"softplus'({x.data.tolist()}) = {np.round(x.grad.data, 4).tolist()}  (sigmoid)")
    print(f"gradcheck(softplus, [-3, 0, 3]): {gradcheck(softplus, x)}")

    failures = 0
    for check in (check_softplus, check_squared_difference):
        try:
            check()
            print(f"{check.__name__}: up to {EXAMPLES} Hypothesis examples, backward agrees with finite differences")
        except (AssertionError, GradcheckError) as error:
            failures += 1
            print(f"{check.__name__}: FAILED: {error}")

    try:
        gradcheck(wrong_softplus, np.array([-1.0, 0.5, 2.0]))
        failures += 1
        print("wrong_softplus: FAILED: the wrong gradient went unnoticed")
    except GradcheckError as error:
        print(f"wrong_softplus: caught, as it should be: {error}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
