"""A small MLP trained over TensorDataset + DataLoader, with random_split for the lengths and gradient clipping."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Subset, TensorDataset, random_split

rng = np.random.default_rng(7)
n, features, classes = 300, 6, 3
points = rng.standard_normal((n, features)).astype(np.float32)
labels = (points[:, 0] + 2 * points[:, 1] > 0).astype(np.int64) + (points[:, 2] > 1)

dataset = TensorDataset(torch.from_numpy(points), torch.from_numpy(labels))
print("dataset", len(dataset), list(dataset[0][0].shape), dataset[0][1].dtype == torch.int64)
train_split, dev_split = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
print("split lengths", len(train_split), len(dev_split), len(random_split(dataset, [0.33, 0.33, 0.34])[2]))

order = rng.permutation(n)
train = Subset(dataset, order[:240])
dev = Subset(dataset, order[240:])
loader = DataLoader(train, batch_size=32, shuffle=False)
print("batches", len(loader), len(DataLoader(train, batch_size=32, drop_last=True)))

model = nn.Sequential(nn.Linear(features, 16), nn.ReLU(), nn.Linear(16, classes))
with torch.no_grad():
    for layer in (model[0], model[2]):
        layer.weight.copy_(torch.from_numpy(rng.standard_normal(tuple(layer.weight.shape)).astype(np.float32) * 0.5))
        layer.bias.copy_(torch.from_numpy(np.zeros(tuple(layer.bias.shape), dtype=np.float32)))
optimizer = optim.SGD(model.parameters(), lr=0.2)

for epoch in range(4):
    norms, total = [], 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
        optimizer.step()
        total += loss.item() * len(y)
    print(f"epoch {epoch + 1} loss {total / len(train):.6f} first norm {norms[0]:.6f} last norm {norms[-1]:.6f}")

with torch.no_grad():
    x_dev, y_dev = next(iter(DataLoader(dev, batch_size=len(dev))))
    accuracy = (model(x_dev).argmax(dim=1) == y_dev).float().mean().item()
    print("dev", list(x_dev.shape), f"accuracy {accuracy:.4f}")
    nn.utils.clip_grad_value_(model.parameters(), 0.01)
    print("clip value max", f"{model[0].weight.grad.abs().max().item():.6f}")
