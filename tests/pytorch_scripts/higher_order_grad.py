"""Higher-order gradients: autograd.grad(create_graph=True) twice, a Hessian, and one double-backprop training step."""

import numpy as np
import torch
import torch.nn as nn

x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
y = (x**3).sum() + (x[0] * x[1]).sin()
(g,) = torch.autograd.grad(y, x, create_graph=True)
print(f"grad {[round(v, 5) for v in g.tolist()]} requires_grad {g.requires_grad}")
rows = [torch.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(3)]
H = torch.stack(rows)
print(f"hessian {[[round(v, 5) for v in row] for row in H.tolist()]}")
print(f"symmetric {torch.allclose(H, H.T)}")

t = torch.tensor(0.7, requires_grad=True)
f = torch.tanh(t)
derivatives = []
for _ in range(3):
    (f,) = torch.autograd.grad(f, t, create_graph=True)
    derivatives.append(f.item())
print(f"tanh derivatives {[round(v, 6) for v in derivatives]}")

rng = np.random.default_rng(11)
inputs = torch.tensor(rng.standard_normal((16, 4)), dtype=torch.float32, requires_grad=True)
targets = torch.tensor(rng.standard_normal((16, 1)), dtype=torch.float32)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.5, dtype=torch.float32))

loss = ((model(inputs) - targets) ** 2).mean()
(input_grad,) = torch.autograd.grad(loss, inputs, create_graph=True)
penalty = input_grad.pow(2).sum()
total = loss + 10.0 * penalty
model.zero_grad()
total.backward()
print(f"loss {loss.item():.6f} penalty {penalty.item():.8f}")
print(f"weight grad norm {model[0].weight.grad.norm().item():.6f} bias grad sum {model[2].bias.grad.sum().item():.6f}")
