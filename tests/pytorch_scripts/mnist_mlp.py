"""An MLP on a few hundred rows of the MNIST sample: nn.Sequential, nn.CrossEntropyLoss, optim.SGD."""

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

folder = Path(os.environ.get("MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")
with gzip.open(folder / "train.csv.gz", "rt") as f:
    rows = np.loadtxt(f, delimiter=",", skiprows=1, max_rows=300, dtype=np.int64)

images = torch.from_numpy(rows[:, 1:]).float() / 255.0
targets = torch.from_numpy(rows[:, 0])
x_train, y_train = images[:256], targets[:256]
x_valid, y_valid = images[256:], targets[256:]
print("train", list(x_train.shape), "valid", list(x_valid.shape), "classes", y_train.max().item() + 1)

model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
rng = np.random.default_rng(5)
with torch.no_grad():
    for layer in (model[0], model[2]):
        bound = 1 / np.sqrt(layer.in_features)
        layer.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(layer.weight.shape)).astype(np.float32)))
        layer.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(layer.bias.shape)).astype(np.float32)))

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
batch_size = 64
for epoch in range(3):
    model.train()
    for i in range(0, len(x_train), batch_size):
        xb, yb = x_train[i : i + batch_size], y_train[i : i + batch_size]
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        outputs = model(x_valid)
        _, predicted = torch.max(outputs.data, 1)
        correct = (predicted == y_valid).sum().item()
    print(f"epoch {epoch} train loss {loss.item():.5f} valid correct {correct} of {y_valid.size(0)}")

print(f"predicted {predicted[:10].tolist()}")
print(f"accuracy {(model(x_train).argmax(dim=1) == y_train).float().mean().item():.4f}")
