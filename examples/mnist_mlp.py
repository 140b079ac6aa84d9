"""The modern recipe on MNIST, PyTorch-style: pixels scaled to [0, 1], He init, batch 128,
Adam lr 1e-3, 784-785-10. Trains on rows 0..6,999 of train.csv.gz, scores rows 7,000..7,999.

    python examples/mnist_mlp.py [path/to/train.csv.gz]      # TINYGRAD_MNIST_EPOCHS=2 for a short run
"""

import os
import sys
from pathlib import Path

import numpy as np

from tinygrad_mnist import nn
from tinygrad_mnist.data import Split, load_kaggle_train, scale_pixels, sequential_split
from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.optim import Adam
from tinygrad_mnist.train import History, fit

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist" / "train.csv.gz"


def load_split(path: Path) -> Split:
    """Pixels scaled to [0, 1] as float32, labels; rows 0..6,999 to train, 7,000..7,999 for dev."""
    pixels, labels = load_kaggle_train(path)
    return sequential_split(scale_pixels(pixels, "unit"), labels, 7000, 1000)


def he_init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def recipe(seed: int = 0) -> tuple[nn.Sequential, Adam]:
    nn.init.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 785), nn.ReLU(), nn.Linear(785, 10)).apply(he_init)
    return model, Adam(model.parameters(), lr=1e-3)


def main() -> None:
    x_train, y_train, x_dev, y_dev = load_split(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE)
    model, optimizer = recipe()
    loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True, seed=0)

    def report(epoch: int, history: History) -> None:
        print(f"epoch {epoch:3d}  loss {history.loss[-1]:.4f}  dev accuracy {history.dev_accuracy[-1]:.4f}")

    epochs = int(os.environ.get("TINYGRAD_MNIST_EPOCHS", "25"))
    history = fit(model, optimizer, loader, epochs, dev=(x_dev, y_dev), on_epoch_end=report)
    print(f"best dev accuracy {max(history.dev_accuracy):.4f} after epoch {np.argmax(history.dev_accuracy) + 1}")


if __name__ == "__main__":
    main()
