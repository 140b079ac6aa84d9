"""A map-style Dataset subclass with default and custom collation, and the deterministic nn.init initialisers."""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(11)


class Blobs(Dataset):
    """Samples (features, label) or, as dicts, {"x": features, "y": label, "name": str}."""

    def __init__(self, n, as_dict=False):
        self.points = rng.standard_normal((n, 4)).astype(np.float32)
        self.labels = (self.points.sum(axis=1) > 0).astype(int)
        self.as_dict = as_dict

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        x, y = torch.from_numpy(self.points[index]), int(self.labels[index])
        return {"x": x, "y": y, "name": f"row{index}"} if self.as_dict else (x, y)


pairs = Blobs(50)
loader = DataLoader(pairs, batch_size=8)
x, y = next(iter(loader))
print("batch", len(loader), list(x.shape), x.dtype == torch.float32, list(y.shape), y.dtype == torch.int64)
records = DataLoader(Blobs(20, as_dict=True), batch_size=6, drop_last=True)
first = next(iter(records))
print("dict batch", len(records), sorted(first), list(first["x"].shape), first["y"].dtype == torch.int64)
print("names", first["name"][:3])
numbers = DataLoader([(1.5, 2, True), (2.5, 3, False)], batch_size=2)
f, i, b = next(iter(numbers))
print("numbers", f.dtype == torch.float64, i.dtype == torch.int64, b.dtype == torch.bool, f.tolist(), i.tolist())


def pad_collate(batch):
    """Stacks the features and returns the labels as a float column, as a user's collate_fn might."""
    xs = torch.stack([x for x, _ in batch])
    ys = torch.tensor([[float(y)] for _, y in batch])
    return xs, ys


custom = DataLoader(pairs, batch_size=16, collate_fn=pad_collate)
cx, cy = next(iter(custom))
print("custom", len(custom), list(cx.shape), list(cy.shape), cy.dtype == torch.float32)

model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
with torch.no_grad():
    nn.init.eye_(model[0].weight)
    nn.init.constant_(model[0].bias, 0.1)
    nn.init.ones_(model[2].weight)
    nn.init.zeros_(model[2].bias)
print("gains", nn.init.calculate_gain("relu") ** 2, nn.init.calculate_gain("tanh"), nn.init.calculate_gain("selu"))
print("leaky gain", f"{nn.init.calculate_gain('leaky_relu', 0.2):.6f}")
print("eye", model[0].weight.sum().item(), model[0].bias.tolist())

optimizer = optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    total = 0.0
    for xs, ys in custom:
        optimizer.zero_grad()
        loss = ((torch.sigmoid(model(xs)) - ys) ** 2).mean()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xs)
    print(f"epoch {epoch + 1} loss {total / len(pairs):.6f}")
