"""Fit y = sin(x) with nn.Sequential(Linear(3, 1), Flatten(0, 1)), a hand-written loss and a hand-written SGD step."""

import math

import numpy as np
import torch
import torch.nn as nn

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
print("xx", list(xx.shape), xx.dtype == torch.float32, p.dtype == torch.int64)

model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
rng = np.random.default_rng(2)
with torch.no_grad():
    model[0].weight.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (1, 3)).astype(np.float32)))
    model[0].bias.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (1,)).astype(np.float32)))

learning_rate = 1e-6
for t in range(400):
    y_pred = model(xx)
    loss = ((y_pred - y) ** 2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.4f}")
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
print(f"y_pred shape {list(y_pred.shape)}")
print(
    f"Result: y = {linear_layer.bias.item():.5f} + {linear_layer.weight[:, 0].item():.5f} x"
    f" + {linear_layer.weight[:, 1].item():.5f} x^2 + {linear_layer.weight[:, 2].item():.5f} x^3"
)
