"""'What is torch.nn really?': MNIST logistic regression from raw tensors, then refactored with nn.Module and optim."""

import gzip
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim

folder = Path(os.environ.get("MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")
with gzip.open(folder / "train.csv.gz", "rt") as f:
    rows = np.loadtxt(f, delimiter=",", skiprows=1, max_rows=320, dtype=np.float32)
x_train, y_train = map(torch.tensor, (rows[:, 1:] / 255.0, rows[:, 0].astype(np.int64)))
n, c = x_train.shape
print(n, c, y_train.min().item(), y_train.max().item())

rng = np.random.default_rng(14)
weights = torch.from_numpy((rng.standard_normal((784, 10)) / math.sqrt(784)).astype(np.float32))
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


bs = 64
xb, yb = x_train[0:bs], y_train[0:bs]
preds = model(xb)
print(f"before loss {nll(preds, yb).item():.5f} accuracy {accuracy(preds, yb).item():.4f}")

lr = 0.5
for epoch in range(2):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        loss = nll(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(f"scratch loss {loss.item():.5f} accuracy {accuracy(model(xb), yb).item():.4f}")


class MnistLogistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


net = MnistLogistic()
with torch.no_grad():
    net.lin.weight.copy_(torch.from_numpy((rng.standard_normal((10, 784)) / math.sqrt(784)).astype(np.float32)))
    net.lin.bias.zero_()
opt = optim.SGD(net.parameters(), lr=lr)
for epoch in range(2):
    for i in range((n - 1) // bs + 1):
        xb = x_train[i * bs : i * bs + bs]
        yb = y_train[i * bs : i * bs + bs]
        loss = F.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    print(f"epoch {epoch} nn loss {loss.item():.5f}")
print(f"nn accuracy {accuracy(net(x_train), y_train).item():.4f}")
