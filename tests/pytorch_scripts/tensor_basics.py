"""Tensor basics: creation, dtypes, shape and size(), indexing and slicing, cat/stack, reductions, comparisons."""

import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
x_np = torch.from_numpy(np.array(data))
x_float = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
print("dtypes", x_data.dtype == torch.int64, x_np.dtype == torch.int64, x_float.dtype == torch.float32)
print("bool", torch.tensor([True, False]).dtype == torch.bool, "int/float", (x_data / 2).dtype == torch.float32)

shape = (2, 3)
ones = torch.ones(shape)
zeros = torch.zeros(shape)
print("ones", ones.tolist(), "zeros sum", zeros.sum().item())
print("like", torch.ones_like(x_data).tolist(), torch.zeros_like(x_float).dtype == torch.float32)
print("full", torch.full((2, 2), 7.0).tolist(), "eye", torch.eye(3).tolist())
print("arange", torch.arange(5).tolist(), torch.arange(1, 2, 0.25).tolist())
print("linspace", torch.linspace(0, 1, 5).tolist())

t = torch.from_numpy(np.arange(24, dtype=np.float32)).reshape(2, 3, 4)
print("shape", list(t.shape), "size", list(t.size()), "size(1)", t.size(1), "dim", t.dim(), "numel", t.numel())
print("shape is a tuple", t.shape == (2, 3, 4), t.size() == torch.Size([2, 3, 4]), len(t))
print("first row", t[0, 0].tolist(), "last column", t[..., -1].tolist())
print("slice", t[:, 1:, ::2].tolist())
print("item", t[1, 2, 3].item(), "negative", t[-1, -1, -1].item(), "None", list(t[None, 0].shape))
mask = t[0] > 5
print("mask", mask.tolist(), "masked", t[0][mask].tolist())
print("fancy", t[0, [0, 2], [1, 3]].tolist(), "rows", t[1, torch.tensor([2, 0])].tolist())

a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
b = torch.tensor([[5.0, 6.0]])
print("cat 0", torch.cat([a, b], dim=0).tolist())
print("cat 1", torch.cat((a, a), 1).tolist())
print("stack", list(torch.stack([a, a, a]).shape), list(torch.stack([a, a], dim=2).shape))

print("sum", a.sum().item(), a.sum(dim=0).tolist(), a.sum(1, keepdim=True).tolist())
print("mean", a.mean().item(), a.mean(dim=1).tolist(), list(a.mean(dim=0, keepdim=True).shape))
print("max", a.max().item(), "argmax", a.argmax().item(), a.argmax(dim=1).tolist())
values, indices = torch.max(a, dim=0)
print("max dim", values.tolist(), indices.tolist())

pred = torch.tensor([0, 2, 1, 1, 0])
y = torch.tensor([0, 1, 1, 1, 2])
print("eq", (pred == y).tolist(), "accuracy", (pred == y).float().mean().item(), "count", (pred == y).sum().item())
print("compare", (a > 2).tolist(), (a <= 2).sum().item(), (a != 1).all().item(), (a == 4).any().item())
print("matmul", (a @ a).tolist(), a.T.tolist(), a.matmul(torch.tensor([1.0, -1.0])).tolist())
print("numpy", a.numpy().sum(), a.numpy().dtype == np.float32, float(a[0, 1]), int(x_data[1, 1]))
