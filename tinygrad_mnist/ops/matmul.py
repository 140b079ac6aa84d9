"""Matrix products: ``matmul`` of 2-D arrays (with BLAS's transpose flags), and the fully connected layer as one op."""

from __future__ import annotations

from ..autograd.function import Function


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
