"""In-place ops and .data: add_/mul_/clamp_/zero_, x[i] = v, parameter updates through .data, torch.max(out.data, 1)."""

import numpy as np
import torch

x = torch.zeros(3, 4)
x.add_(1.5)
x.mul_(2)
x[0] = 7.0
x[1, 2] = -1.0
x[:, 3] = torch.tensor([10.0, 20.0, 30.0])
print("x", x.tolist())
x.clamp_(min=0.0, max=15.0)
print("clamped", x.tolist())
x[x > 5] = 0.0
print("masked", x.tolist(), "sum", x.sum().item())
y = x.clone()
x.zero_()
print("clone kept", y.sum().item(), "zeroed", x.sum().item())

rng = np.random.default_rng(13)
w = torch.tensor(rng.standard_normal((3, 2)), dtype=torch.float32, requires_grad=True)
inputs = torch.tensor(rng.standard_normal((5, 3)), dtype=torch.float32)
lr = 0.1
for step in range(3):
    out = inputs @ w
    loss = out.pow(2).mean()
    loss.backward()
    w.data -= lr * w.grad.data
    w.grad.data.zero_()
    print(f"step {step} loss {loss.item():.6f}")
print("still a leaf", w.is_leaf, "grad zeroed", w.grad.abs().sum().item())

d = w.data
d[0, 0] = 100.0
print("data shares memory", w[0, 0].item(), "data requires grad", d.requires_grad)

out = inputs @ w
values, predicted = torch.max(out.data, 1)
print("predicted", predicted.tolist(), "values", [round(v, 6) for v in values.tolist()])

counts = torch.zeros(5, dtype=torch.int64)
for i in [0, 3, 3, 1, 3]:
    counts[i] += 1
print("counts", counts.tolist(), counts.dtype == torch.int64)
v = torch.ones(4)
v.sub_(torch.tensor([1.0, 2.0, 3.0, 4.0]), alpha=0.5).div_(2)
print("sub div", v.tolist())
v.copy_(torch.arange(4))
print("copy", v.tolist(), v.dtype == torch.float32)
v.fill_(3)
print("fill", v.tolist())
