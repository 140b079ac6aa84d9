"""An autoencoder on MNIST rows: encoder and decoder nn.Sequential inside an nn.Module, MSE by hand, optim.Adam."""

import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn, optim

folder = Path(os.environ.get("MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")
with gzip.open(folder / "train.csv.gz", "rt") as f:
    rows = np.loadtxt(f, delimiter=",", skiprows=1, max_rows=96, dtype=np.float32)
x = torch.from_numpy(rows[:, 1:] / 255.0)


class AutoEncoder(nn.Module):
    def __init__(self, latent=8):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, 32), nn.ReLU(), nn.Linear(32, 784), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AutoEncoder()
rng = np.random.default_rng(10)
with torch.no_grad():
    for param in model.parameters():
        fan_in = param.shape[-1] if param.dim() == 2 else 32
        param.copy_(torch.from_numpy((rng.standard_normal(tuple(param.shape)) / np.sqrt(fan_in)).astype(np.float32)))

optimizer = optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(3):
    for start in range(0, len(x), 32):
        batch = x[start : start + 32]
        recon = model(batch)
        loss = ((recon - batch) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch} loss {loss.item():.6f}")

with torch.no_grad():
    codes = model.encoder(x)
    recon = model(x)
    error = (recon - x).pow(2).mean(dim=1)
print(f"codes {list(codes.shape)} mean {codes.mean().item():.5f} std {codes.std().item():.5f}")
print(f"worst row {error.argmax().item()} error {error.max().item():.6f} best {error.min().item():.6f}")
print(f"code 0 {[round(v, 6) for v in codes[0].tolist()]}")
