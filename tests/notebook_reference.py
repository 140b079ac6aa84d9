"""The notebook's network as plain NumPy, written from its math, kept as the reference.

Features x examples layout, as in ``../shared/seed/mnist_numpy_notebook.txt``:
X is (784, m), Y is one-hot (10, m), W[l] is (n_l, n_{l-1}), b[l] is (n_l, 1).
Nothing here imports tinygrad_mnist: it is what our autodiff must agree with.
"""

from __future__ import annotations

import numpy as np


def initialize_parameters_deep(layer_dims: list[int]) -> dict[str, np.ndarray]:
    np.random.seed(3)
    parameters = {}
    for layer in range(1, len(layer_dims)):
        parameters[f"W{layer}"] = np.random.randn(layer_dims[layer], layer_dims[layer - 1]) * 0.01
        parameters[f"b{layer}"] = np.zeros((layer_dims[layer], 1))
    return parameters


def softmax(z: np.ndarray) -> np.ndarray:
    t = np.exp(z)
    return t / t.sum(axis=0, keepdims=True)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(0, z)


def model_forward(x: np.ndarray, parameters: dict[str, np.ndarray]):
    """L_model_forward: ReLU hidden layers, softmax output; caches (A_prev, W, b, Z)."""
    caches = []
    a = x
    n_layers = len(parameters) // 2
    for layer in range(1, n_layers + 1):
        w, b = parameters[f"W{layer}"], parameters[f"b{layer}"]
        z = np.dot(w, a) + b
        caches.append((a, w, b, z))
        a = softmax(z) if layer == n_layers else relu(z)
    return a, caches


def compute_cost(al: np.ndarray, y: np.ndarray) -> float:
    m = y.shape[1]
    return float(np.squeeze(-1 / m * np.sum(np.multiply(y, np.log(al)))))


def linear_backward(dz, a_prev, w):
    m = a_prev.shape[1]
    dw = 1 / m * np.dot(dz, a_prev.T)
    db = 1 / m * np.sum(dz, axis=1, keepdims=True)
    da_prev = np.dot(w.T, dz)
    return da_prev, dw, db


def model_backward(al: np.ndarray, y: np.ndarray, caches) -> dict[str, np.ndarray]:
    """L_model_backward: dZ = AL - Y at the softmax layer, ReLU masks below."""
    grads = {}
    n_layers = len(caches)
    a_prev, w, _, _ = caches[-1]
    grads[f"dA{n_layers - 1}"], grads[f"dW{n_layers}"], grads[f"db{n_layers}"] = linear_backward(al - y, a_prev, w)
    for layer in reversed(range(n_layers - 1)):
        a_prev, w, _, z = caches[layer]
        dz = np.array(grads[f"dA{layer + 1}"], copy=True)
        dz[z <= 0] = 0
        grads[f"dA{layer}"], grads[f"dW{layer + 1}"], grads[f"db{layer + 1}"] = linear_backward(dz, a_prev, w)
    return grads


def update_parameters(parameters, grads, learning_rate):
    n_layers = len(parameters) // 2
    for layer in range(1, n_layers + 1):
        parameters[f"W{layer}"] = parameters[f"W{layer}"] - learning_rate * grads[f"dW{layer}"]
        parameters[f"b{layer}"] = parameters[f"b{layer}"] - learning_rate * grads[f"db{layer}"]
    return parameters


def predict(x, parameters) -> np.ndarray:
    """Class ids (the notebook's one-hot predictions, argmaxed)."""
    probabilities, _ = model_forward(x, parameters)
    return probabilities.argmax(axis=0)


def train(x, y, layer_dims, learning_rate, num_iterations, cost_every=100):
    """L_layer_model: full-batch gradient descent; returns parameters and {iteration: cost}."""
    np.random.seed(1)
    parameters = initialize_parameters_deep(layer_dims)
    costs = {}
    for i in range(num_iterations):
        al, caches = model_forward(x, parameters)
        if i % cost_every == 0:
            with np.errstate(all="ignore"):
                costs[i] = compute_cost(al, y)
        grads = model_backward(al, y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, costs


def stable_cost(z: np.ndarray, y: np.ndarray) -> float:
    """The notebook's cost computed from the output layer's logits Z by log-sum-exp.

    Equals ``compute_cost(softmax(z), y)`` wherever that is finite, and stays finite
    where the unshifted softmax underflows to 0 and ``log(AL)`` gives -inf.
    """
    shift = z.max(axis=0, keepdims=True)
    log_probabilities = z - shift - np.log(np.exp(z - shift).sum(axis=0, keepdims=True))
    return float(-np.sum(y * log_probabilities) / y.shape[1])


def train_with_logits(x, y, layer_dims, learning_rate, num_iterations, cost_every=100):
    """``train``, also keeping the output layer's logits Z every ``cost_every`` iterations.

    Returns parameters, {iteration: cost} and {iteration: Z}.
    """
    np.random.seed(1)
    parameters = initialize_parameters_deep(layer_dims)
    costs, logits = {}, {}
    for i in range(num_iterations):
        al, caches = model_forward(x, parameters)
        if i % cost_every == 0:
            with np.errstate(all="ignore"):
                costs[i] = compute_cost(al, y)
            logits[i] = caches[-1][3]
        grads = model_backward(al, y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, costs, logits
