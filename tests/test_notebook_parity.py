"""Notebook parity: nn + optim + fit reproduce the notebook's own training, number for number.

On the first 5,000 rows of the sample, unnormalised pixels, float64, the notebook's
initialisation and full-batch gradient descent: our ``Sequential`` ends with the
notebook's weights, costs and predictions (its code kept as plain NumPy in
``notebook_reference``). Our layout is batch-first, the notebook's features x examples:
W is (out, in) in both; b is (out, 1) there, (out,) here.
"""

import numpy as np
import pandas as pd
import pytest

import notebook_reference as nb
from tinygrad_mnist import nn
from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.optim import SGD
from tinygrad_mnist.train import fit, predict

pytestmark = pytest.mark.slow

TRAIN_ROWS, NEXT_ROWS = 5000, 2000


@pytest.fixture(scope="module")
def digits(mnist_dir):
    """Raw pixels as float64 (the notebook computes in float64) and labels: first 5,000 rows, next 2,000."""
    table = pd.read_csv(mnist_dir / "train.csv.gz").to_numpy()
    pixels, labels = table[:, 1:].astype(np.float64), table[:, 0]
    stop = TRAIN_ROWS + NEXT_ROWS
    return pixels[:TRAIN_ROWS], labels[:TRAIN_ROWS], pixels[TRAIN_ROWS:stop]


def assert_same_array(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    """Equal within 1e-9 relative to the array's largest entry (entries near 0 have no relative scale)."""
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max(), err_msg=what)


def notebook_network(dims: list[int]) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(dims[0], dims[1]), nn.ReLU(), nn.Linear(dims[1], dims[2])).to(np.float64)
    return nn.init.notebook_(model)


def train_both(digits, dims, learning_rate, iterations, cost_every):
    x, labels, _ = digits
    with np.errstate(all="ignore"):  # the notebook's log(AL) may meet log(0)
        reference, costs = nb.train(x.T, np.eye(10)[labels].T, dims, learning_rate, iterations, cost_every)
    model = notebook_network(dims)
    loader = DataLoader(x, labels, batch_size=None)
    history = fit(model, SGD(model.parameters(), lr=learning_rate), loader, iterations, progress=False)
    return model, history, reference, costs


@pytest.fixture(scope="module")
def narrow_run(digits):
    return train_both(digits, [784, 10, 10], 0.001, 500, cost_every=100)


@pytest.fixture(scope="module")
def wide_run(digits):
    return train_both(digits, [784, 785, 10], 0.002, 50, cost_every=10)


RUNS = ["narrow_run", "wide_run"]


@pytest.mark.parametrize("run", RUNS)
def test_weights_end_equal_to_the_notebooks(run, request):
    model, _, reference, _ = request.getfixturevalue(run)
    for layer, linear in enumerate([model[0], model[2]], start=1):
        assert_same_array(linear.weight.numpy(), reference[f"W{layer}"], f"W{layer}")
        assert_same_array(linear.bias.numpy(), reference[f"b{layer}"][:, 0], f"b{layer}")


@pytest.mark.parametrize("run", RUNS)
def test_costs_equal_the_notebooks_wherever_it_is_finite(run, request):
    _, history, _, costs = request.getfixturevalue(run)
    assert history.step == list(range(len(history.loss)))
    assert all(np.isfinite(history.loss))
    finite = {i: cost for i, cost in costs.items() if np.isfinite(cost)}
    assert finite, "no finite notebook cost to compare with"
    for i, cost in finite.items():
        assert history.loss[i] == pytest.approx(cost, rel=1e-9), f"iteration {i}"


@pytest.mark.parametrize("run", RUNS)
def test_predictions_on_the_next_rows_equal_the_notebooks(run, request, digits):
    model, _, reference, _ = request.getfixturevalue(run)
    unseen = digits[2]
    classes, probabilities = predict(model, unseen)
    np.testing.assert_array_equal(classes, nb.predict(unseen.T, reference))
    assert probabilities.dtype == np.float64


def test_where_the_notebooks_cost_is_nan_ours_is_the_exact_finite_cost(digits):
    """At twice the notebook's learning rate the wide network's unshifted softmax underflows at
    iteration 1: AL holds exact zeros, so Y * log(AL) meets 0 * -inf = nan, while its gradients
    (AL - Y) stay finite. Our log-sum-exp loss is finite there and equals the cost of the
    notebook's own logits computed stably in float64."""
    x, labels, _ = digits
    onehot = np.eye(10)[labels].T
    dims, learning_rate, iterations = [784, 785, 10], 0.004, 2
    with np.errstate(all="ignore"):
        reference, costs, logits = nb.train_with_logits(x.T, onehot, dims, learning_rate, iterations, cost_every=1)
    model = notebook_network(dims)
    history = fit(model, SGD(model.parameters(), lr=learning_rate), DataLoader(x, labels, batch_size=None), iterations)

    not_finite = [i for i, cost in costs.items() if not np.isfinite(cost)]
    assert not_finite, "the notebook's cost was expected to be non-finite at some iteration here"
    assert all(np.isfinite(array).all() for array in reference.values())  # its gradients stayed fine
    for i in costs:
        assert np.isfinite(history.loss[i])
        assert history.loss[i] == pytest.approx(nb.stable_cost(logits[i], onehot), rel=1e-9), f"iteration {i}"
    assert_same_array(model[2].weight.numpy(), reference["W2"], "W2")
