"""Draw the notebook's network, 784-10-10 with ReLU and cross-entropy, after one backward().

Initialised as the notebook does (``W = randn * 0.01``, ``b = 0``) and run on a seeded
batch of 64 random images, so the picture is the same on every run. Each parameter and
each layer's output shows its gradient norm and is coloured by it. A name ending in
.html writes the interactive explorer instead::

    .venv/bin/python examples/graph.py graph.svg
    .venv/bin/python examples/graph.py graph.html

(The README's picture is the command line's: ``tinygrad-mnist graph --layers 784,10,10 --grad``.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.viz import GraphvizNotFoundError, draw_model, render

BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the file to write: .html, .svg, .png, .pdf, or .dot for the source")
    parser.add_argument("--collapse", action="store_true", help="draw each layer as a single node")
    args = parser.parse_args()

    model = nn.init.notebook_(nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)))
    rng = np.random.default_rng(0)
    images = Tensor(rng.random((BATCH, 784), dtype=np.float32))
    labels = rng.integers(0, 10, BATCH)
    graph = draw_model(model, images, labels, show_grad=True, collapse=args.collapse)
    try:
        print(f"wrote {render(graph, args.output)}")
    except (GraphvizNotFoundError, ValueError) as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()
