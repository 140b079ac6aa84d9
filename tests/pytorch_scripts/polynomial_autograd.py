"""Fit y = sin(x) with a polynomial whose coefficients require grad: autograd computes the gradients."""

import math

import numpy as np
import torch

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

init = np.random.default_rng(1).standard_normal(4).astype(np.float32)
a = torch.tensor(init[0], requires_grad=True)
b = torch.tensor(init[1], requires_grad=True)
c = torch.tensor(init[2], requires_grad=True)
d = torch.tensor(init[3], requires_grad=True)

learning_rate = 1e-6
for t in range(400):
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.4f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"requires_grad {a.requires_grad} {y_pred.requires_grad} {loss.grad_fn is not None}")
print(f"Result: y = {a.item():.5f} + {b.item():.5f} x + {c.item():.5f} x^2 + {d.item():.5f} x^3")
