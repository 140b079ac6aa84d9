"""Grad mode: no_grad, enable_grad, set_grad_enabled, detach, requires_grad_, gradient accumulation, retain_grad."""

import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
with torch.no_grad():
    y = x * 2
    with torch.enable_grad():
        z = x * 3
    print("inside no_grad", torch.is_grad_enabled())
print("no_grad", y.requires_grad, "enable_grad", z.requires_grad, "after", torch.is_grad_enabled())

with torch.set_grad_enabled(False):
    w = x + 1
print("set_grad_enabled(False)", w.requires_grad)

d = x.detach()
print("detach", d.requires_grad, d.is_leaf, d.tolist())
d[0] = 10.0
print("detach shares memory", x[0].item())
with torch.no_grad():
    x[0] = 1.0

a = torch.ones(2)
print("plain", a.requires_grad, a.is_leaf)
a.requires_grad_()
print("after requires_grad_", a.requires_grad)

loss = (x**2).sum()
loss.backward()
print("first grad", x.grad.tolist())
loss = (x**2).sum()
loss.backward()
print("accumulated", x.grad.tolist())
x.grad.zero_()
print("zeroed", x.grad.tolist())

h = x * x
h.retain_grad()
out = h.sum() * 2
out.backward()
print("retained", h.grad.tolist(), "leaf grad", x.grad.tolist(), "h leaf", h.is_leaf)

frozen = torch.tensor([1.0, 1.0])
trainable = torch.tensor([2.0, 3.0], requires_grad=True)
(frozen * trainable).sum().backward()
print("frozen grad is None", frozen.grad is None, "trainable", trainable.grad.tolist())

k = torch.tensor(3.0, requires_grad=True)
q = k**2
q.backward(retain_graph=True)
q.backward()
print("retain_graph twice", k.grad.item())
