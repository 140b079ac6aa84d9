"""Derivatives of whole functions, PyTorch's ``torch.autograd.functional``: vjp, jvp, jacobian, hessian, hvp, vhp.

Each takes a function of Tensors and the point to evaluate it at, a Tensor or a tuple of
them, and returns what PyTorch returns, nested as PyTorch nests it. All are built on
``grad``: a Jacobian row by row (one ``grad`` per output element), a Jacobian-vector
product by the double-vjp trick (the vjp ``u -> J^T u`` is linear in ``u``, so its own vjp
at ``v`` is ``J v``), a Hessian as the Jacobian of the gradient. The function runs on new
leaf tensors that share the inputs' data (``detach()``), so the caller's tensors gain no
graph and no ``.grad``; with ``create_graph=True``, inputs that require grad are passed
through a recorded view instead, so the results can be differentiated back to them.

``strict=True`` raises where PyTorch raises: when an output (or a gradient) is independent
of an input, instead of returning the zeros that are mathematically right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, stack
from .engine import grad
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

Tensors = Tensor | tuple[Tensor, ...]
Nested = Tensor | tuple[Any, ...]


def vjp(
    func: Callable[..., Tensors],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensors, Tensors]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product, shaped like the inputs (one backward pass).

    ``v`` is shaped like the outputs; it may be left out for a single one-element output.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            v = _grad_preprocess(_as_tuple(v, "v", "vjp")[1], create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single Tensor "
                "with a single element."
            )
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grads, inputs, strict, create_graph, "back")
    return (
        _unpack(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
        _unpack(_grad_postprocess(result, create_graph), is_inputs_tuple),
    )


def jvp(
    func: Callable[..., Tensors],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensors, Tensors]:
    """``(func(inputs), J v)``: the Jacobian-vector product, shaped like the outputs.

    By the double-vjp trick, as PyTorch does (there is no forward mode): two backward passes.
    ``v`` is shaped like the inputs; it may be left out for a single one-element input.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        if v is not None:
            v = _grad_preprocess(_as_tuple(v, "v", "jvp")[1], create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a single Tensor "
                "with a single element."
            )
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # u -> J^T u is linear, so the value of u is irrelevant (zeros): only its graph is used.
        cotangents = tuple(Tensor(np.zeros_like(out._data), requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, cotangents, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _autograd_grad(grad_inputs, cotangents, v, create_graph=create_graph)
        result = _fill_in_zeros(grads, outputs, strict, create_graph, "back_trick")
    return (
        _unpack(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
        _unpack(_grad_postprocess(result, create_graph), is_outputs_tuple),
    )


def jacobian(
    func: Callable[..., Tensors],
    inputs: Tensors,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Nested:
    """The Jacobian of ``func`` at ``inputs``, one ``grad`` per output element (reverse mode).

    Block ``[i][j]`` has shape ``outputs[i].shape + inputs[j].shape``. One input and one output
    give one Tensor; a tuple on one side gives a tuple, on both sides a tuple of tuples
    (outputs outside). ``vectorize`` and ``strategy="forward-mode"`` are not supported.
    """
    _check_strategy("jacobian", "strategy", strategy, vectorize)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        blocks = tuple(_jacobian_of_output(i, out, inputs, create_graph, strict) for i, out in enumerate(outputs))
    blocks = _grad_postprocess(blocks, create_graph)
    if not is_inputs_tuple:
        blocks = tuple(row[0] for row in blocks)
    return blocks if is_outputs_tuple else blocks[0]


def hessian(
    func: Callable[..., Tensor],
    inputs: Tensors,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Nested:
    """The Hessian of the scalar function ``func`` at ``inputs``: the Jacobian of its gradient.

    One input gives one Tensor of shape ``input.shape + input.shape``; a tuple of inputs gives a
    tuple of tuples, block ``[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``.
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    _check_strategy("hessian", "outer_jacobian_strategy", outer_jacobian_strategy, vectorize)

    def single_output(*xs: Tensor) -> Tensor:
        out = func(*xs)
        is_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outputs, "outputs", strict)
        if is_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.reshape(())

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        jac = jacobian(single_output, xs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    blocks = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return blocks if is_inputs_tuple else blocks[0][0]


def vhp(
    func: Callable[..., Tensor],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensor, Tensors]:
    """``(func(inputs), v^T H)``: the vector-Hessian product of a scalar function (two backward passes)."""
    with enable_grad():
        is_inputs_tuple, inputs, v, outputs = _scalar_function_at(func, inputs, v, create_graph, strict, "vhp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grads, inputs, strict, create_graph, "double_back")
    return (
        _unpack(_grad_postprocess(outputs, create_graph), False),
        _unpack(_grad_postprocess(result, create_graph), is_inputs_tuple),
    )


def hvp(
    func: Callable[..., Tensor],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensor, Tensors]:
    """``(func(inputs), H v)``: the Hessian-vector product of a scalar function.

    By the double-vjp trick on the gradient, as PyTorch does: three backward passes. For a twice
    continuously differentiable function H is symmetric and ``vhp`` gives the same, with one fewer.
    """
    with enable_grad():
        is_inputs_tuple, inputs, v, outputs = _scalar_function_at(func, inputs, v, create_graph, strict, "hvp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        cotangents = tuple(Tensor(np.zeros_like(x._data), requires_grad=True) for x in inputs)
        double_back = _autograd_grad(jac, inputs, cotangents, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _autograd_grad(double_back, cotangents, v, create_graph=create_graph)
        result = _fill_in_zeros(grads, inputs, strict, create_graph, "double_back_trick")
    return (
        _unpack(_grad_postprocess(outputs, create_graph), False),
        _unpack(_grad_postprocess(result, create_graph), is_inputs_tuple),
    )


# ----- PyTorch's helpers, in this engine's terms -----------------------------------------


def _scalar_function_at(
    func: Callable[..., Tensor], inputs: Tensors, v: Tensors | None, create_graph: bool, strict: bool, caller: str
) -> tuple[bool, tuple[Tensor, ...], tuple[Tensor, ...] | None, tuple[Tensor]]:
    """What ``vhp`` and ``hvp`` share: the inputs and ``v`` prepared and checked, and ``func`` run on the
    inputs, checked to return a single one-element Tensor (as a 1-tuple)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", caller)
    inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
    if v is not None:
        v = _grad_preprocess(_as_tuple(v, "v", caller)[1], create_graph, need_graph=False)
        _validate_v(v, inputs, is_inputs_tuple)
    elif len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError(
            "The vector v can only be None if the input to the user-provided function is a single Tensor "
            "with a single element."
        )
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", caller)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple:
        raise RuntimeError(f"The function given to {caller} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {caller} should contain a single element")
    return is_inputs_tuple, inputs, v, outputs


def _as_tuple(value: Any, what: str, caller: str) -> tuple[bool, tuple[Tensor, ...]]:
    """Whether ``value`` was a tuple, and it as a tuple of Tensors; PyTorch's TypeError for anything else."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for index, item in enumerate(values):
        if not isinstance(item, Tensor):
            where = f"the value at index {index} has type" if is_tuple else f"the given {what} has type"
            raise TypeError(
                f"The {what} given to {caller} must be either a Tensor or a tuple of Tensors but {where} "
                f"{type(item).__name__}."
            )
    return is_tuple, values


def _unpack(values: tuple[Any, ...], is_tuple: bool) -> Any:
    return values if is_tuple else values[0]


def _grad_preprocess(tensors: tuple[Tensor, ...], create_graph: bool, need_graph: bool) -> tuple[Tensor, ...]:
    """New Tensor objects for ``tensors``, so the function's inputs are told apart from tensors it captured.

    A recorded view where the results must be differentiable back to a tensor that requires grad;
    otherwise a detached leaf on the same data, requiring grad if ``need_graph``.
    """
    fresh = []
    for tensor in tensors:
        if create_graph and tensor.requires_grad:
            fresh.append(tensor.reshape(tensor.shape))
        else:
            fresh.append(tensor.detach().requires_grad_(need_graph))
    return tuple(fresh)


def _grad_postprocess(values: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
    """Without ``create_graph``, the results detached (nested tuples too), so they hold no graph."""
    if create_graph:
        return values
    return tuple(value.detach() if isinstance(value, Tensor) else _grad_postprocess(value, False) for value in values)


def _validate_v(v: tuple[Tensor, ...], other: tuple[Tensor, ...], is_other_tuple: bool) -> None:
    if len(v) != len(other):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (vector, reference) in enumerate(zip(v, other, strict=True)):
        if vector.shape != reference.shape:
            prefix = f"Entry {index} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {reference.shape} but got {vector.shape}.")


def _check_requires_grad(values: Sequence[Tensor | None], kind: str, strict: bool) -> None:
    """In strict mode, PyTorch's errors for a missing gradient or one that is constant (carries no graph)."""
    if not strict:
        return
    for i, value in enumerate(values):
        if value is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode."
            )
        if value.requires_grad:
            continue
        if kind == "hessian":
            raise RuntimeError(
                f"The hessian of the user-provided function with respect to input {i} is independent of the input. "
                "This is not allowed in strict mode. You should ensure that your function is thrice differentiable "
                "and that the hessian depends on the inputs."
            )
        if kind == "jacobian":
            raise RuntimeError(
                f"While computing the hessian, found that the jacobian of the user-provided function with respect "
                f"to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is twice differentiable and that the jacobian depends on the inputs (this would "
                "be violated by a linear function for example)."
            )
        if kind == "grad_inputs":
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the user-provided "
                "function. This is not allowed in strict mode."
            )
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients. The outputs must be computed "
            "in a differentiable manner from the input when running in strict mode."
        )


def _autograd_grad(
    outputs: Sequence[Tensor | None],
    inputs: tuple[Tensor, ...],
    grad_outputs: Sequence[Tensor | None] | None = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> tuple[Tensor | None, ...]:
    """``grad`` over the outputs that have a graph (the others contribute nothing); ``None`` for unreached inputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(out, g) for out, g in zip(outputs, grad_outputs, strict=True) if out is not None and out.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    roots, seeds = [out for out, _ in pairs], [g for _, g in pairs]
    return grad(roots, inputs, seeds, retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


#: ``_fill_in_zeros``'s strict-mode errors, by the backward pass that found no gradient.
_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
    "back_trick": (
        "The gradient with respect to the input is independent of entry {i} in the grad_outputs when using the "
        "double backward trick to compute forward mode gradients. This is not allowed in strict mode."
    ),
    "double_back": (
        "The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict mode."
    ),
    "double_back_trick": (
        "The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. This is not "
        "allowed in strict mode as it prevents from using the double backward trick to replace forward mode AD."
    ),
}


def _fill_in_zeros(
    grads: tuple[Tensor | None, ...], refs: tuple[Tensor, ...], strict: bool, create_graph: bool, stage: str
) -> tuple[Tensor, ...]:
    """Zeros (shaped like ``refs``) for the missing gradients; in strict mode, PyTorch's errors instead."""
    filled = []
    for i, gradient in enumerate(grads):
        if gradient is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i))
            gradient = Tensor(np.zeros_like(refs[i]._data))
        elif strict and create_graph and not gradient.requires_grad:
            which = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {which} of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        filled.append(gradient)
    return tuple(filled)


def _check_strategy(caller: str, name: str, strategy: str, vectorize: bool) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f'{caller}: {name} must be "forward-mode" or "reverse-mode", got {strategy!r}')
    if strategy == "forward-mode":
        raise NotImplementedError(f"{caller}: this engine has no forward mode; use {name}='reverse-mode'")
    if vectorize:
        raise NotImplementedError(f"{caller}: vectorize=True needs vmap, which this engine lacks; use vectorize=False")


def _jacobian_of_output(
    i: int, out: Tensor, inputs: tuple[Tensor, ...], create_graph: bool, strict: bool
) -> tuple[Tensor, ...]:
    """Output ``i``'s blocks of the Jacobian, one per input: one ``grad`` per element of ``out``, rows stacked."""
    rows: list[list[Tensor]] = [[] for _ in inputs]
    for j in range(out.numel()):
        basis = np.zeros(out.numel(), dtype=out.dtype)
        basis[j] = 1
        found = _autograd_grad((out,), inputs, (Tensor(basis.reshape(out.shape)),), create_graph, retain_graph=True)
        for k, (gradient, x) in enumerate(zip(found, inputs, strict=True)):
            if gradient is None:
                if strict:
                    raise RuntimeError(
                        f"Output {i} of the user-provided function is independent of input {k}. "
                        "This is not allowed in strict mode."
                    )
                gradient = Tensor(np.zeros_like(x._data))
            elif strict and create_graph and not gradient.requires_grad:
                raise RuntimeError(
                    f"The jacobian of the user-provided function is independent of input {k}. "
                    "This is not allowed in strict mode when create_graph=True."
                )
            rows[k].append(gradient)
    return tuple(_stack(block, out.shape + x.shape, x.dtype) for block, x in zip(rows, inputs, strict=True))


def _stack(rows: list[Tensor], shape: tuple[int, ...], dtype: np.dtype) -> Tensor:
    """The rows of a Jacobian block as one Tensor of ``shape``, recorded so it can be differentiated again."""
    if not rows:
        return Tensor(np.zeros(shape, dtype=dtype))
    return stack(rows).reshape(shape)
