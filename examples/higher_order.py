"""Derivatives of derivatives on MNIST: a Hessian-vector product, double backpropagation, Newton's method.

The backward pass is itself made of recorded Tensor ops, so ``autograd.grad(..., create_graph=True)`` gives
gradients that can be differentiated again. Three uses, on the sample beside this checkout:

(a) The Hessian-vector product of the 784-H-10 MLP's loss, by double backward (the gradient of ``<grad, v>``),
    equals the central difference of its gradients ``(g(w + eps v) - g(w - eps v)) / 2 eps``.
(b) Double backpropagation (Drucker & LeCun, 1992): train on the loss plus lambda times the squared norm of the
    loss's gradient with respect to the input batch. The input gradients shrink, the dev accuracy stays.
(c) Newton's method with the exact ``hessian`` fits a logistic regression (4s against 9s on 16 ink features)
    in a few steps: ``w <- w - H^-1 g``.

    python examples/higher_order.py [path/to/train.csv.gz]
    TINYGRAD_MNIST_QUICK=1 python examples/higher_order.py      # smaller network and run: a few seconds
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from tinygrad_mnist import Tensor, autograd, nn, no_grad
from tinygrad_mnist.autograd.functional import hessian, vjp
from tinygrad_mnist.data import DataLoader, load_kaggle_train, scale_pixels, sequential_split
from tinygrad_mnist.optim import Adam
from tinygrad_mnist.train import evaluate

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist" / "train.csv.gz"
QUICK = os.environ.get("TINYGRAD_MNIST_QUICK") == "1"
HIDDEN = 32 if QUICK else 128
#: Training rows and optimizer steps of (b); rows 7,000..7,999 are the dev set.
TRAIN_ROWS, STEPS, BATCH = (2000, 150, 64) if QUICK else (7000, 1100, 128)
LAMBDA = 0.5  # the weight of the input-gradient penalty in (b)
EPS = 1e-5  # the finite-difference step in (a)


def mlp(dtype: type = np.float32, seed: int = 0) -> nn.Sequential:
    """784-HIDDEN-10 with PyTorch's default initialisation, seeded."""
    nn.init.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, HIDDEN, dtype=dtype), nn.ReLU(), nn.Linear(HIDDEN, 10, dtype=dtype))


def hessian_vector_product(x: np.ndarray, y: np.ndarray) -> None:
    """(a) ``H v`` by double backward against the central difference of two gradients, in float64."""
    model = mlp(np.float64)
    params = list(model.parameters())
    inputs = Tensor(x.astype(np.float64))

    def gradients() -> tuple[Tensor, ...]:
        return autograd.grad(nn.functional.cross_entropy(model(inputs), y), params)

    rng = np.random.default_rng(1)
    v = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum(np.sum(d**2) for d in v))
    v = [Tensor(d / norm) for d in v]  # a random unit direction in parameter space

    loss = nn.functional.cross_entropy(model(inputs), y)
    grads = autograd.grad(loss, params, create_graph=True)
    product = autograd.grad(sum((g * d).sum() for g, d in zip(grads, v, strict=True)), params)

    def shift(alpha: float) -> None:
        with no_grad():
            for p, d in zip(params, v, strict=True):
                p.add_(d, alpha=alpha)

    shift(EPS)
    plus = gradients()
    shift(-2 * EPS)
    minus = gradients()
    shift(EPS)
    difference = [(a.numpy() - b.numpy()) / (2 * EPS) for a, b in zip(plus, minus, strict=True)]

    hv = np.concatenate([t.numpy().ravel() for t in product])
    fd = np.concatenate([d.ravel() for d in difference])
    error = np.linalg.norm(hv - fd) / np.linalg.norm(hv)
    print(f"(a) Hessian-vector product of the 784-{HIDDEN}-10 loss on {len(x)} rows, float64, |v| = 1")
    print(f"    |Hv| by double backward: {np.linalg.norm(hv):.8f}")
    print(f"    |(g(w + eps v) - g(w - eps v)) / 2 eps|, eps = {EPS:g}: {np.linalg.norm(fd):.8f}")
    print(f"    relative error: {error:.2e}")


def train(x: np.ndarray, y: np.ndarray, penalty: float) -> nn.Sequential:
    """``STEPS`` Adam steps on the loss plus ``penalty`` times the input-gradient penalty (none for 0)."""
    model = mlp()
    optimizer = Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(x, y, batch_size=BATCH, shuffle=True, seed=0)
    step, epoch = 0, 0
    while step < STEPS:
        loader.set_epoch(epoch)
        for images, labels in loader:
            if step == STEPS:
                break
            images.requires_grad_(penalty > 0)
            loss = nn.functional.cross_entropy(model(images), labels)
            if penalty > 0:
                loss = loss + penalty * input_gradient_penalty(loss, images, create_graph=True)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        epoch += 1
    return model


def input_gradient_penalty(loss: Tensor, images: Tensor, create_graph: bool = False) -> Tensor:
    """The mean over rows of each row's squared input-gradient norm: ``m * |d loss / d images|^2``,
    as ``loss`` is the batch mean. With ``create_graph`` it can be trained on (double backpropagation)."""
    (gradient,) = autograd.grad(loss, images, create_graph=create_graph)
    return (gradient**2).sum() * len(images)


def input_gradient_norm(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """The root mean square over rows of ``|d loss_i / d x_i|``, on ``x``."""
    images = Tensor(x, requires_grad=True)
    return float(np.sqrt(input_gradient_penalty(nn.functional.cross_entropy(model(images), y), images).numpy()))


def double_backpropagation(x: np.ndarray, y: np.ndarray, x_dev: np.ndarray, y_dev: np.ndarray) -> None:
    """(b) Plain training and double backpropagation, same seed, batches and steps."""
    print(f"(b) double backpropagation, lambda = {LAMBDA:g}: {STEPS} Adam steps of {BATCH} rows from {len(x)}")
    for name, penalty in (("plain", 0.0), ("double backprop", LAMBDA)):
        model = train(x, y, penalty)
        norm = input_gradient_norm(model, x_dev, y_dev)
        accuracy = evaluate(model, x_dev, y_dev).accuracy
        print(f"    {name:<16} dev input-gradient norm {norm:.4f}  dev accuracy {accuracy:.4f}")


def ink_features(pixels: np.ndarray) -> np.ndarray:
    """The mean ink in each of the 4 x 4 blocks of 7 x 7 pixels, standardised, and a column of ones (the bias)."""
    blocks = pixels.reshape(-1, 4, 7, 4, 7).mean(axis=(2, 4)).reshape(-1, 16)
    blocks = (blocks - blocks.mean(0)) / blocks.std(0)
    return np.hstack([blocks, np.ones((len(blocks), 1))])


def newton(pixels: np.ndarray, labels: np.ndarray, tolerance: float = 1e-10, max_steps: int = 20) -> None:
    """(c) Logistic regression of "9 rather than 4" by Newton's method with the exact Hessian, in float64."""
    rows = (labels == 4) | (labels == 9)
    features, target = Tensor(ink_features(pixels[rows].astype(np.float64))), (labels[rows] == 9).astype(np.float64)

    def loss(w: Tensor) -> Tensor:
        """Mean logistic loss, with a small ridge so the minimum is unique."""
        p = (features @ w.reshape(-1, 1)).reshape(-1).sigmoid()
        return -(target * p.log() + (1 - target) * (1 - p).log()).mean() + 1e-4 * (w**2).sum()

    size = f"{features.shape[1] - 1} ink features + bias, {len(target)} rows"
    print(f"(c) Newton's method: logistic regression of 9 vs 4 on {size}, float64")
    w = Tensor(np.zeros(features.shape[1]))
    for step in range(max_steps + 1):
        value, gradient = vjp(loss, w)
        norm = np.linalg.norm(gradient.numpy())
        print(f"    step {step}: loss {value.item():.12f}  |gradient| {norm:.3e}")
        if norm < tolerance:
            accuracy = np.mean((features.numpy() @ w.numpy() > 0) == target)
            print(f"    converged after {step} Newton steps; training accuracy {accuracy:.4f}")
            return
        w = Tensor(w.numpy() - np.linalg.solve(hessian(loss, w).numpy(), gradient.numpy()))
    sys.exit(f"Newton's method did not converge in {max_steps} steps")


def main() -> None:
    pixels, labels = load_kaggle_train(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE)
    x_train, y_train, x_dev, y_dev = sequential_split(scale_pixels(pixels, "unit"), labels, 7000, 1000)
    hessian_vector_product(x_train[:256], y_train[:256])
    double_backpropagation(x_train[:TRAIN_ROWS], y_train[:TRAIN_ROWS], x_dev, y_dev)
    newton(pixels, labels)


if __name__ == "__main__":
    main()
