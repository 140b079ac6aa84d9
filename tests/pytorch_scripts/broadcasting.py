"""Broadcasting: shapes combined by the rules, standardising with keepdim, pairwise distances, reduced gradients."""

import numpy as np
import torch

rng = np.random.default_rng(12)
x = torch.tensor(rng.standard_normal((5, 3)), dtype=torch.float32)

col = torch.arange(4.0).unsqueeze(1)
row = torch.arange(3.0).unsqueeze(0)
print("outer", list((col * row).shape), (col * row).tolist())
print("add", (torch.ones(2, 1, 3) + torch.ones(4, 1)).shape == (2, 4, 3))

mean = x.mean(dim=0, keepdim=True)
std = x.std(dim=0, keepdim=True)
z = (x - mean) / std
print(f"standardised mean {z.mean(dim=0).abs().max().item() < 1e-6} std {[round(v, 5) for v in z.std(dim=0).tolist()]}")

points = torch.tensor(rng.standard_normal((4, 2)), dtype=torch.float32)
diff = points.unsqueeze(1) - points.unsqueeze(0)
dist = (diff**2).sum(-1).sqrt()
print(f"distances {[[round(v, 5) for v in r] for r in dist.tolist()]}")
print(f"nearest {(dist + torch.eye(4) * 1e9).argmin(dim=1).tolist()}")

w = torch.tensor(rng.standard_normal(3), dtype=torch.float32, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
out = (x * w + b).pow(2).sum()
out.backward()
print(f"grad shapes {list(w.grad.shape)} {list(b.grad.shape)}")
print(f"grad w {[round(v, 6) for v in w.grad.tolist()]} grad b {b.grad.item():.4f}")

scale = torch.tensor([[2.0], [0.5]])
img = torch.ones(2, 3, 3)
print("scaled", (img * scale.unsqueeze(-1)).sum(dim=(1, 2)).tolist())
print("scalar", (x + 1).shape == x.shape, (2 * x - x).sub(x).abs().max().item())
