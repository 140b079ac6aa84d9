"""Reductions with dim and keepdim: var/std, norm, max/min named tuples, topk, sort, cumsum, logsumexp, softmax."""

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(15)
x = torch.tensor(rng.standard_normal((4, 5)), dtype=torch.float32)


def show(name, t):
    print(name, [round(v, 6) for v in t.flatten().tolist()])


show("sum dim 1", x.sum(dim=1))
show("sum dims", x.sum(dim=(0, 1), keepdim=True))
show("mean keepdim", x.mean(dim=-1, keepdim=True))
show("var", x.var(dim=0))
show("var biased", x.var(dim=0, unbiased=False))
show("std", x.std(dim=1, keepdim=True))
print(f"norm {x.norm().item():.5f} {x.norm(p=1).item():.5f} rows {[round(v, 6) for v in x.norm(dim=1).tolist()]}")
print(f"prod {x[0].prod().item():.6f} amax {x.amax(dim=0).tolist() == x.max(dim=0).values.tolist()}")

result = x.max(dim=1)
print("max values", [round(v, 6) for v in result.values.tolist()], "indices", result.indices.tolist())
mins, argmins = x.min(dim=0, keepdim=True)
print("min", list(mins.shape), argmins.tolist(), x.argmin(dim=0).tolist())

top = torch.topk(x[0], 3)
show("topk values", top.values)
print("topk indices", top.indices.tolist())
sorted_values, order = torch.sort(x[1], descending=True)
show("sorted", sorted_values)
print("order", order.tolist(), "argsort", torch.argsort(x[1]).tolist())

show("cumsum", torch.cumsum(x[2], dim=0))
show("logsumexp", torch.logsumexp(x, dim=1))
show("softmax", F.softmax(x[3], dim=0))
show("log_softmax", torch.log_softmax(x, dim=1)[0])
print("all/any", (x > -5).all().item(), (x > 2).any(dim=1).tolist())

y = torch.tensor(rng.standard_normal((3, 4)), dtype=torch.float32, requires_grad=True)
loss = y.max(dim=1).values.sum() + y.logsumexp(dim=0).sum() + y.std()
loss.backward()
print(f"loss {loss.item():.5f}")
show("grad", y.grad)
