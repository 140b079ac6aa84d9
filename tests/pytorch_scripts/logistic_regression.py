"""Logistic regression on two Gaussian blobs: raw weight tensors, sigmoid, a hand-written BCE, manual SGD."""

import numpy as np
import torch

rng = np.random.default_rng(4)
n = 200
centers = np.array([[-1.0, -1.0], [1.0, 1.0]])
labels = rng.integers(0, 2, n)
points = centers[labels] + rng.standard_normal((n, 2))

X = torch.tensor(points, dtype=torch.float32)
y = torch.from_numpy(labels).float()
print("data", list(X.shape), X.dtype == torch.float32, torch.from_numpy(labels).dtype == torch.int64)

w = torch.zeros(2, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.5
for epoch in range(50):
    p = torch.sigmoid(X @ w + b)
    p = p.clamp(1e-7, 1 - 1e-7)
    loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
    if epoch % 10 == 9:
        print(f"epoch {epoch + 1} loss {loss.item():.6f}")

with torch.no_grad():
    pred = (torch.sigmoid(X @ w + b) > 0.5).float()
    accuracy = (pred == y).float().mean()
print(f"weights {w[0].item():.5f} {w[1].item():.5f} bias {b.item():.5f}")
print(f"accuracy {accuracy.item():.4f} correct {int((pred == y).sum())} of {len(y)}")
