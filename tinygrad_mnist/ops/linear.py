"""The fully connected layer as one op: ``x @ weight.T + bias``, PyTorch's layout.

One node instead of three (transpose, matmul, add): one BLAS call with the bias
added into its output in place, so no second output-sized array, and a third of
the per-op bookkeeping. Backward is three BLAS-shaped expressions; the weight's
gradient ``grad.T @ x`` comes out C-contiguous in the weight's own (out, in) layout.
"""

from __future__ import annotations

from .op import Op


class Linear(Op):
    """Inputs ``x`` (m, in), ``weight`` (out, in) and optionally ``bias`` (out,)."""

    returns_new_arrays = True

    def forward(self, x, weight, bias=None):
        if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
            raise ValueError(
                f"linear: input {x.shape} and weight {weight.shape} do not fit: "
                "need input (batch, in_features) and weight (out_features, in_features)"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
        # dx needs the weight, dweight needs x; the bias gradient needs neither.
        self.save(weight if self.needs_input_grad[0] else None, x if self.needs_input_grad[1] else None)
        out = x @ weight.T
        if bias is None:
            return out
        if bias.dtype != out.dtype:
            return out + bias  # NumPy's promotion, exactly as the unfused ``x @ weight.T + bias``
        out += bias
        return out

    def backward(self, grad):
        weight, x = self.saved
        needs = self.needs_input_grad
        grads = (grad @ weight if needs[0] else None, grad.T @ x if needs[1] else None)
        if len(needs) == 3:
            grads += (grad.sum(axis=0) if needs[2] else None,)
        return grads
