"""A small CNN on MNIST rows (a few steps): an nn.Module subclass, nn.MaxPool2d, F.relu, torch.flatten, optim.Adam."""

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

folder = Path(os.environ.get("MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")
with gzip.open(folder / "train.csv.gz", "rt") as f:
    rows = np.loadtxt(f, delimiter=",", skiprows=1, max_rows=96, dtype=np.int64)

images = torch.tensor(rows[:, 1:], dtype=torch.float32).view(-1, 1, 28, 28) / 255.0
labels = torch.tensor(rows[:, 0])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3)
        self.fc1 = nn.Linear(8 * 5 * 5, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc1(x)


net = Net()
rng = np.random.default_rng(6)
with torch.no_grad():
    for name, param in net.named_parameters():
        fan_in = param[0].numel() if param.dim() > 1 else 10
        param.copy_(torch.from_numpy(rng.normal(0, 1 / np.sqrt(fan_in), tuple(param.shape)).astype(np.float32)))
print("parameters", sum(p.numel() for p in net.parameters()))

optimizer = optim.Adam(net.parameters(), lr=0.01)
for step in range(6):
    batch = slice(16 * step, 16 * step + 16)
    optimizer.zero_grad()
    out = net(images[batch])
    loss = F.cross_entropy(out, labels[batch])
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item():.5f}")

with torch.no_grad():
    logits = net(images)
    pred = logits.argmax(dim=1, keepdim=True)
    accuracy = pred.eq(labels.view_as(pred)).sum().item() / len(labels)
print(f"logits shape {list(logits.shape)} accuracy {accuracy:.4f}")
print(f"first logits {[round(v, 6) for v in logits[0].tolist()]}")
