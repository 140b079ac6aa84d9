"""Matrix product of two 2-D arrays."""

from __future__ import annotations

from .op import Op


class MatMul(Op):
    returns_new_arrays = True

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: only 2-D operands are supported")
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[1]} and {b.shape[0]} differ")
        # Save only what the wanted gradients need: dA needs B, dB needs A.
        self.save(b if self.needs_input_grad[0] else None, a if self.needs_input_grad[1] else None)
        return a @ b

    def backward(self, grad):
        b, a = self.saved
        return (
            grad @ b.T if self.needs_input_grad[0] else None,
            a.T @ grad if self.needs_input_grad[1] else None,
        )
