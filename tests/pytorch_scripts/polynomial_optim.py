"""Fit y = sin(x) with a Linear layer trained by optim.SGD with momentum; the loss is written by hand."""

import math

import numpy as np
import torch
from torch import nn, optim

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
xx = torch.stack([x, x**2, x**3], dim=1)

model = nn.Linear(3, 1)
rng = np.random.default_rng(3)
with torch.no_grad():
    model.weight.copy_(torch.tensor(rng.uniform(-0.5, 0.5, (1, 3)), dtype=torch.float32))
    model.bias.zero_()

optimizer = optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
for t in range(300):
    y_pred = model(xx).squeeze(1)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.4f}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

w = model.weight.detach().numpy()[0]
print(f"Result: y = {model.bias.item():.5f} + {w[0]:.5f} x + {w[1]:.5f} x^2 + {w[2]:.5f} x^3")
