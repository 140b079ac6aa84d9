"""Train a small classifier with Adam, torch.save a checkpoint dict midway, torch.load it into a fresh model and
optimizer, and continue: the losses and final weights are those of the run that never stopped."""

import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

rng = np.random.default_rng(7)
X = torch.from_numpy(rng.standard_normal((64, 4)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, 64))
shapes = {"w1": (8, 4), "b1": (8,), "w2": (3, 8), "b2": (3,)}
start = {name: rng.uniform(-0.5, 0.5, shape) for name, shape in shapes.items()}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def fresh(weights):
    model = Net()
    with torch.no_grad():
        for layer, w, b in ((model.hidden, "w1", "b1"), (model.out, "w2", "b2")):
            layer.weight.copy_(torch.tensor(weights[w], dtype=torch.float32))
            layer.bias.copy_(torch.tensor(weights[b], dtype=torch.float32))
    return model, optim.Adam(model.parameters(), lr=0.05, betas=(0.85, 0.99))


def train(model, optimizer, epochs, label):
    for epoch in epochs:
        for batch in range(4):
            xb, yb = X[batch * 16 : (batch + 1) * 16], y[batch * 16 : (batch + 1) * 16]
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"{label} epoch {epoch} loss {loss.item():.6f}")


model, optimizer = fresh(start)
train(model, optimizer, range(6), "uninterrupted")

first, first_optimizer = fresh(start)
train(first, first_optimizer, range(3), "first")
path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"save_load_resume_{os.getpid()}.pt")
torch.save({"model": first.state_dict(), "optimizer": first_optimizer.state_dict(), "epoch": 3}, path)

checkpoint = torch.load(path)
other = {name: np.zeros_like(value) for name, value in start.items()}
resumed, resumed_optimizer = fresh(other)
resumed.load_state_dict(checkpoint["model"])
resumed_optimizer.load_state_dict(checkpoint["optimizer"])
os.remove(path)
group = checkpoint["optimizer"]["param_groups"][0]
print("saved", sorted(checkpoint), "epoch", checkpoint["epoch"], "params", group["params"], "betas", group["betas"])
print("state of params", sorted(checkpoint["optimizer"]["state"]), "weights", list(checkpoint["model"]))
train(resumed, resumed_optimizer, range(checkpoint["epoch"], 6), "resumed")

difference = max((a - b).abs().max().item() for a, b in zip(model.parameters(), resumed.parameters()))
print(f"largest weight difference {difference:.3g}", "file removed", not os.path.exists(path))
