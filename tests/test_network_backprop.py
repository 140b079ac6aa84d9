"""Whole networks built from Tensor ops give the notebook's hand-derived gradients."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import notebook_reference as nb
from tinygrad_mnist import Tensor


@st.composite
def networks(draw):
    """Layer sizes (2 to 4 layers), parameters, inputs and one-hot labels, notebook layout."""
    dims = draw(st.lists(st.integers(1, 6), min_size=3, max_size=5))
    dims[-1] = max(dims[-1], 2)
    m = draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = {}
    for layer in range(1, len(dims)):
        params[f"W{layer}"] = rng.standard_normal((dims[layer], dims[layer - 1]))
        params[f"b{layer}"] = rng.standard_normal((dims[layer], 1)) * 0.1
    x = rng.standard_normal((dims[0], m))
    labels = rng.integers(0, dims[-1], size=m)
    return params, x, np.eye(dims[-1])[labels].T


@given(networks())
def test_l_layer_relu_softmax_network_matches_l_model_backward(case):
    params, x, y = case
    n_layers = len(params) // 2
    tensors = {name: Tensor(value, requires_grad=True) for name, value in params.items()}

    a = Tensor(x)
    for layer in range(1, n_layers + 1):
        z = tensors[f"W{layer}"] @ a + tensors[f"b{layer}"]
        a = z if layer == n_layers else z.relu()
    a.T.cross_entropy(y.T).backward()  # features x examples -> batch-first logits

    al, caches = nb.model_forward(x, params)
    expected = nb.model_backward(al, y, caches)
    for layer in range(1, n_layers + 1):
        for kind in "Wb":
            np.testing.assert_allclose(
                tensors[f"{kind}{layer}"].grad.numpy(), expected[f"d{kind}{layer}"], rtol=1e-10, atol=1e-10
            )
