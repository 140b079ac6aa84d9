"""Matrix products: ``matmul`` of 2-D arrays (with BLAS's transpose flags), and the fully connected layer as one op."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .movement import Permute


class MatMul(Function):
    """``op(a) @ op(b)`` of 2-D arrays, where ``op`` transposes when ``transpose_a``/``transpose_b`` say so.

    The flags are BLAS's: a transposed operand is read in place, never copied, and every
    gradient is one product of the same kind, so backward needs no transpose ops of its own:
    for C = A B, dA = dC B^T and dB = A^T dC.
    """

    @staticmethod
    def forward(ctx, a, b, transpose_a=False, transpose_b=False):
        x = a._data.T if transpose_a else a._data
        y = b._data.T if transpose_b else b._data
        if x.ndim != 2 or y.ndim != 2:
            raise ValueError(f"matmul: {x.shape} @ {y.shape}: only 2-D operands are supported")
        if x.shape[1] != y.shape[0]:
            raise ValueError(f"matmul: {x.shape} @ {y.shape}: inner dimensions {x.shape[1]} and {y.shape[0]} differ")
        needs = ctx.needs_input_grad
        if True in needs:  # dA needs B, dB needs A
            ctx.save_for_backward(b if needs[0] else None, a if needs[1] else None)
            ctx.transposed = transpose_a, transpose_b
        return x @ y

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        ta, tb = ctx.transposed
        needs = ctx.needs_input_grad
        grad_a = grad_b = None
        if needs[0]:  # d op(A) = dC op(B)^T, transposed back when A was
            grad_a = MatMul.apply(b, grad, tb, True) if ta else MatMul.apply(grad, b, False, not tb)
        if needs[1]:  # d op(B) = op(A)^T dC, transposed back when B was
            grad_b = MatMul.apply(grad, a, True, ta) if tb else MatMul.apply(a, grad, not ta, False)
        return grad_a, grad_b


class Linear(Function):
    """``x @ weight.T + bias``, PyTorch's layout: ``x`` (m, in), ``weight`` (out, in), ``bias`` (out,) or None.

    One node instead of three (transpose, matmul, add): one BLAS call with the bias added
    into its output in place, so no second output-sized array, and a third of the per-op
    bookkeeping. Backward is three BLAS-shaped expressions; the weight's gradient
    ``grad.T @ x`` comes out C-contiguous in the weight's own (out, in) layout.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        a, w = x._data, weight._data
        if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[1]:
            raise ValueError(
                f"linear: input {a.shape} and weight {w.shape} do not fit: "
                "need input (batch, in_features) and weight (out_features, in_features)"
            )
        if bias is not None and bias._data.shape != (w.shape[0],):
            raise ValueError(f"linear: bias has shape {bias._data.shape}, expected ({w.shape[0]},)")
        # dx needs the weight, dweight needs x; the bias gradient needs neither.
        needs = ctx.needs_input_grad
        if True in needs:
            ctx.save_for_backward(weight if needs[0] else None, x if needs[1] else None)
        out = a @ w.T
        if bias is None:
            return out
        if bias._data.dtype != out.dtype:
            return out + bias._data  # NumPy's promotion, exactly as the unfused ``x @ weight.T + bias``
        out += bias._data
        return out

    @staticmethod
    def backward(ctx, grad):
        weight, x = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return LinearBackward.apply(grad, weight, x, len(needs) == 3 and needs[2])


class LinearBackward(Function):
    """Linear's gradients as one node with three outputs: ``grad @ weight`` for the input,
    ``grad.T @ x`` for the weight (in its own (out, in) layout) and ``grad.sum(0)`` for the bias;
    ``None`` where a gradient is not wanted (no weight saved means no input gradient, and so on).

    One node instead of three keeps a plain backward's bookkeeping at Linear's old cost; its own
    backward (for third and higher orders) is the same products, transposed the other way.
    """

    @staticmethod
    def forward(ctx, grad, weight, x, bias_wanted):
        g = grad._data
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(grad, weight, x)
        return (
            None if weight is None else g @ weight._data,
            None if x is None else g.T @ x._data,
            g.sum(0) if bias_wanted else None,
        )

    @staticmethod
    def backward(ctx, grad_input, grad_weight, grad_bias):
        grad, weight, x = ctx.saved_tensors
        needs = ctx.needs_input_grad
        # input gradient = g W: d/dg = c W^T, d/dW = g^T c; weight gradient = g^T x: d/dg = x c^T, d/dx = g c;
        # bias gradient = sum_rows g: d/dg = c on every row.
        from_grad = []
        if needs[0]:
            if grad_input is not None:
                from_grad.append(MatMul.apply(grad_input, weight, False, True))
            if grad_weight is not None:
                from_grad.append(MatMul.apply(x, grad_weight, False, True))
            if grad_bias is not None:
                from_grad.append(grad_bias.expand(grad.shape))
        return (
            sum(from_grad[1:], from_grad[0]) if from_grad else None,
            MatMul.apply(grad, grad_input, True) if needs[1] and grad_input is not None else None,
            MatMul.apply(grad, grad_weight) if needs[2] and grad_weight is not None else None,
        )


def _swap_last(x):
    return Permute.apply(x, (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2))


class BatchMatMul(Function):
    """``a @ b`` of operands with 2 or more dims, batch dims broadcast (NumPy's ``matmul``); each gradient is
    a product again, summed over the batch dims its operand was broadcast along."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        if x.shape[-1] != y.shape[-2]:
            raise ValueError(f"matmul: {x.shape} @ {y.shape}: inner dimensions {x.shape[-1]} and {y.shape[-2]} differ")
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: {x.shape} @ {y.shape}: the batch dimensions do not broadcast") from None
        ctx.save_for_backward(a, b)
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            BatchMatMul.apply(grad, _swap_last(b)).sum_to_size(a.shape) if needs[0] else None,
            BatchMatMul.apply(_swap_last(a), grad).sum_to_size(b.shape) if needs[1] else None,
        )


def matmul(a, b):
    """PyTorch's ``a @ b``: 2-D by the fused ``MatMul``; a 1-D operand gets a dim of size 1 (before for ``a``,
    after for ``b``) that the result drops; more dims are batches, broadcast. Both operands share one dtype."""
    if a.dtype != b.dtype:
        got = f"{a._data.dtype} and {b._data.dtype}"
        raise TypeError(f"matmul: expected both operands to have the same dtype, got {got}")
    if a.ndim == 2 and b.ndim == 2:
        return MatMul.apply(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    x = a.reshape(1, -1) if a.ndim == 1 else a
    y = b.reshape(-1, 1) if b.ndim == 1 else b
    out = MatMul.apply(x, y) if x.ndim == y.ndim == 2 else BatchMatMul.apply(x, y)
    shape = out.shape[:-2] + out.shape[-2:-1] * (a.ndim > 1) + out.shape[-1:] * (b.ndim > 1)
    return out if shape == out.shape else out.reshape(shape)


def einsum(equation: str, *operands):
    """PyTorch's ``torch.einsum(equation, *operands)`` (also with the operands as one list), explicit ``->``."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    dtypes = sorted({str(x._data.dtype) for x in operands})
    if len(dtypes) > 1:
        raise TypeError(f"einsum: expected operands of one dtype, got {' and '.join(dtypes)}")
    return Einsum.apply(equation, *operands)


class Einsum(Function):
    """``np.einsum(equation, *operands)`` with explicit ``->``; an operand's gradient is the einsum of the
    output's gradient with the other operands, broadcast over the indices only that operand had."""

    @staticmethod
    def forward(ctx, equation, *operands):
        inputs, _, output = equation.replace(" ", "").partition("->")
        subscripts = inputs.split(",")
        if "->" not in equation or "." in equation or len(subscripts) != len(operands):
            raise ValueError(
                f"einsum: {equation!r} for {len(operands)} operands: write one subscript per operand and the "
                "output after '->' (no '...')"
            )
        for sub, x in zip(subscripts, operands, strict=True):
            if len(set(sub)) != len(sub) and x.requires_grad:
                raise NotImplementedError(f"einsum: no gradient for the repeated index in {sub!r} (a diagonal)")
        ctx.subscripts, ctx.output, ctx.shapes = subscripts, output, [x.shape for x in operands]
        ctx.save_for_backward(*operands)
        return np.einsum(equation, *(x._data for x in operands))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        grads = []
        for k, (sub, shape) in enumerate(zip(ctx.subscripts, ctx.shapes, strict=True)):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            others = [(s, x) for i, (s, x) in enumerate(zip(ctx.subscripts, operands, strict=True)) if i != k]
            seen = set(ctx.output).union(*(s for s, _ in others))
            kept = "".join(c for c in sub if c in seen)
            equation = ",".join([ctx.output, *(s for s, _ in others)]) + "->" + kept
            g = Einsum.apply(equation, grad, *(x for _, x in others))
            sizes = dict(zip(sub, shape, strict=True))
            g = g.reshape(*(sizes[c] if c in seen else 1 for c in sub)).expand(shape)
            grads.append(g)
        return (None, *grads)
