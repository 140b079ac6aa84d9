"""Loss modules."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional
from .module import Module


class CrossEntropyLoss(Module):
    """Mean softmax cross-entropy of (m, C) logits against class ids (m,) or one-hot rows (m, C).

    Fused and stable (log-sum-exp): finite for logits of any size. Its gradient with
    respect to the logits is ``(softmax(logits) - onehot) / m``, the notebook's ``dZ = AL - Y``
    over m.
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.cross_entropy(input, target)
