"""The op registry: one entry per differentiable op, and the battery of properties every entry must pass.

An entry says how to call the op (``fn``), what valid inputs look like (``samples``, a
Hypothesis strategy of ``Sample``), what its forward should give (``reference``, NumPy),
and how PyTorch spells it (``torch``). ``check_op(name)`` runs the battery on it::

    register_op(
        "softplus",
        fn=lambda x: Softplus.apply(x),
        samples=unary(),
        reference=lambda x: np.logaddexp(0, x),
        torch=lambda torch, x: torch.nn.functional.softplus(x),
    )
    check_op("softplus")  # inside a pytest test

Every property draws its own examples and fails with the op's name, the property, and the
inputs that Hypothesis shrank the failure to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ..autograd import Function, grad
from ..autograd.gradcheck import gradcheck, gradgradcheck
from ..ops.promotion import result_type, standing
from ..tensor import Tensor
from .failure import gap_picture, gradient_gaps


@dataclass(frozen=True)
class Sample:
    """One call of an op: the tensor inputs (float64 arrays) and the other arguments."""

    inputs: tuple[np.ndarray, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        arrays = ", ".join(np.array2string(x, precision=4, separator=", ") for x in self.inputs)
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"Sample({arrays}{extra})"


@dataclass(frozen=True)
class OpEntry:
    """How the battery calls and judges one op."""

    name: str
    fn: Callable[..., Tensor]
    samples: st.SearchStrategy[Sample]
    reference: Callable[..., np.ndarray]
    torch: Callable[..., Any] | None = None
    #: False for ops whose second derivative is not defined in the sense finite differences see.
    second_order: bool = True
    #: False for ops whose output dtype is not their inputs' (casts).
    keeps_float32: bool = True
    #: False for ops that refuse float32 mixed with float64 (as PyTorch's linear and conv2d do) instead of promoting.
    mixes_dtypes: bool = True
    #: The public names this entry stands for (``Tensor.exp``, ``nn.functional.relu``, ...).
    covers: tuple[str, ...] = ()
    #: Examples per property (before the Hypothesis profile's own settings); conv-sized ops take fewer.
    examples: int = 12
    #: False for ops with no gradient (comparisons, rounding, indices): the battery checks their forward,
    #: dtypes and layouts, and that no gradient but zeros flows through them.
    differentiable: bool = True


#: Every registered op, by name.
REGISTRY: dict[str, OpEntry] = {}


def register_op(
    name: str,
    fn: Callable[..., Tensor],
    samples: st.SearchStrategy[Sample],
    reference: Callable[..., np.ndarray],
    torch: Callable[..., Any] | None = None,
    second_order: bool = True,
    keeps_float32: bool = True,
    mixes_dtypes: bool = True,
    covers: Iterable[str] = (),
    examples: int = 12,
    differentiable: bool = True,
) -> OpEntry:
    """Add an op to the registry (a name registered twice is an error) and return its entry."""
    if name in REGISTRY:
        raise ValueError(f"register_op: {name!r} is already registered")
    entry = OpEntry(
        name, fn, samples, reference, torch, second_order, keeps_float32, mixes_dtypes, tuple(covers), examples,
        differentiable,
    )  # fmt: skip
    REGISTRY[name] = entry
    return entry


def registered_ops() -> list[str]:
    """The names of every registered op, sorted."""
    return sorted(REGISTRY)


def check_op(name: str, properties: Iterable[str] | None = None, max_examples: int | None = None) -> None:
    """Run the battery (or the named ``properties`` of it) on a registered op; raises on the first failure."""
    entry = REGISTRY[name]
    # A profile with more examples than Hypothesis's default 100 (``thorough``: 1000) scales every entry's count.
    scale = max(1, settings.default.max_examples // 100)
    for prop in properties or PROPERTIES:
        _battery_run(entry, prop, max_examples or entry.examples * scale)()


def _battery_run(entry: OpEntry, prop: str, max_examples: int) -> Callable[[], None]:
    """One property of the battery as a Hypothesis test over the entry's samples."""
    check = PROPERTIES[prop]

    @settings(max_examples=max_examples)
    @given(entry.samples)
    def run(sample: Sample) -> None:
        try:
            check(entry, sample)
        except AssertionError as error:
            message = f"op {entry.name!r}, property {prop!r}, inputs {sample!r}:\n{error}"
            if prop == "gradient":
                message += f"\npicture of each value's gradient gap: {op_failure_picture(entry, sample)}"
            raise AssertionError(message) from None

    return run


def op_failure_picture(entry: OpEntry, sample: Sample) -> Path:
    """An SVG of one call of the op, its inputs and output coloured by their gradient gaps."""
    count = len(sample.inputs)
    out = _call(entry, _tensors(sample), sample)
    labels = [f"input {i} {x.shape}" for i, x in enumerate(sample.inputs)] + [f"{entry.name} {out.shape}"]
    edges = [(i, count) for i in range(count)]
    gaps = gradient_gaps(sample.inputs, [lambda values: _call(entry, values[:count], sample)])
    return gap_picture(labels, edges, gaps, entry.name)


def check_grads(fn: Callable[..., Tensor], args: Any, order: int = 2, seed: int = 0) -> None:
    """JAX's ``check_grads`` for ours: first (and, with ``order=2``, second) derivatives of ``fn`` at
    ``args`` against central differences in float64, at random cotangents; raises ``GradcheckError``."""
    args = args if isinstance(args, tuple) else (args,)
    gradcheck(fn, *args, seed=seed)
    if order >= 2:
        gradgradcheck(fn, *args, seed=seed)


# ----- the properties ----------------------------------------------------------------------


def _tensors(sample: Sample, dtype: Any = np.float64, layout: Callable[[np.ndarray], np.ndarray] | None = None):
    arrays = [np.asarray(x, dtype=dtype) for x in sample.inputs]
    if layout is not None:
        arrays = [layout(x) for x in arrays]
    return [Tensor(x, requires_grad=True) for x in arrays]


def _call(entry: OpEntry, tensors: list[Tensor], sample: Sample) -> Tensor:
    return entry.fn(*tensors, **sample.kwargs)


def _cotangent(out: Tensor, seed: int = 1) -> Tensor:
    return Tensor(np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype))


def forward_matches_references(entry: OpEntry, sample: Sample) -> None:
    """Forward equals the NumPy reference (and PyTorch's, when installed) in float64."""
    out = _call(entry, _tensors(sample), sample)
    expected = np.asarray(entry.reference(*sample.inputs, **sample.kwargs))
    assert out.shape == expected.shape, f"forward shape {out.shape}, NumPy reference {expected.shape}"
    _assert_same_values(out.numpy(), expected, "forward vs NumPy reference")
    torch = _torch()
    if torch is not None and entry.torch is not None:
        theirs = entry.torch(torch, *[torch.from_numpy(np.array(x)) for x in sample.inputs], **sample.kwargs)
        _assert_same_values(out.numpy(), theirs.numpy(), "forward vs PyTorch")


def _assert_same_values(found: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Floats to 1e-10; integers and booleans exactly, and in the expected dtype."""
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(found, expected, rtol=1e-10, atol=1e-12, err_msg=what)
    else:
        assert found.dtype == expected.dtype, f"{what}: dtype {found.dtype}, expected {expected.dtype}"
        np.testing.assert_array_equal(found, expected, err_msg=what)


def gradient_matches_finite_differences(entry: OpEntry, sample: Sample) -> None:
    """First derivatives at a random cotangent equal central differences (float64); for an op
    with no gradient, nothing but zeros flows back, and a non-float output requires no grad."""
    if not entry.differentiable:
        tensors = _tensors(sample)
        out = _call(entry, tensors, sample)
        if out.numpy().dtype.kind not in "fc":
            assert not out.requires_grad, f"a {out.dtype} output requires grad"
        elif out.requires_grad:
            for i, g in enumerate(grad(out, tensors, _cotangent(out), allow_unused=True)):
                assert g is None or not np.any(g.numpy()), f"input {i}: a nonzero gradient through an op with none"
        return
    gradcheck(lambda *t: _call(entry, list(t), sample), *sample.inputs)


def second_order_matches_finite_differences(entry: OpEntry, sample: Sample) -> None:
    """Second derivatives (the backward of the backward) at random cotangents equal central differences."""
    if entry.second_order and entry.differentiable:
        gradgradcheck(lambda *t: _call(entry, list(t), sample), *sample.inputs)


def float32_stays_float32(entry: OpEntry, sample: Sample) -> None:
    """float32 in gives float32 out and float32 gradients, close to the float64 result."""
    if not entry.keeps_float32:
        return
    tensors = _tensors(sample, np.float32)
    out = _call(entry, tensors, sample)
    expected = np.asarray(entry.reference(*[np.float32(x).astype(np.float64) for x in sample.inputs], **sample.kwargs))
    if expected.dtype.kind not in "fc":
        _assert_same_values(out.numpy(), expected, "float32 forward vs float64 reference")
        return
    assert out.dtype == np.float32, f"float32 inputs gave a {out.dtype} output"
    np.testing.assert_allclose(
        out.numpy(), expected, rtol=1e-4, atol=1e-5, err_msg="float32 forward vs float64 reference"
    )
    for t, g in zip(tensors, grad(out, tensors, _cotangent(out), allow_unused=True), strict=True):
        assert g is None or g.dtype == np.float32, f"input of shape {t.shape}: a {g.dtype} gradient for float32"


def mixed_floats_promote(entry: OpEntry, sample: Sample) -> None:
    """PyTorch's promotion for several inputs: float32 with float64 gives float64 (float32 when only the float64
    is 0-d), and each input's gradient comes back in that input's own dtype; or, for ops that refuse the mix,
    a TypeError naming both."""
    if len(sample.inputs) < 2 or not entry.keeps_float32:
        return
    tensors = [Tensor(np.asarray(x, dtype=np.float32 if i == 0 else np.float64), requires_grad=True)
               for i, x in enumerate(sample.inputs)]  # fmt: skip
    if not entry.mixes_dtypes:
        try:
            _call(entry, tensors, sample)
        except TypeError as error:
            assert "float32" in str(error) and "float64" in str(error), f"the refusal names no dtypes: {error}"
            return
        raise AssertionError("float32 mixed with float64 was not refused")
    out = _call(entry, tensors, sample)
    if out.numpy().dtype.kind not in "fc":
        return
    expected = result_type(*[(t.numpy().dtype, standing(t.numpy())) for t in tensors])  # a 0-d float64 loses to float32
    assert out.dtype == expected, f"float32 with float64 inputs gave a {out.dtype} output, PyTorch gives {expected}"
    for i, (t, g) in enumerate(zip(tensors, grad(out, tensors, _cotangent(out), allow_unused=True), strict=True)):
        assert g is None or g.dtype == t.dtype, f"input {i} is {t.dtype}, its gradient {g.dtype}"


def gradients_have_input_shapes(entry: OpEntry, sample: Sample) -> None:
    """Each gradient has its input's shape and dtype: broadcasting is summed back."""
    if not entry.differentiable:
        return
    tensors = _tensors(sample)
    out = _call(entry, tensors, sample)
    for i, (t, g) in enumerate(zip(tensors, grad(out, tensors, _cotangent(out), allow_unused=True), strict=True)):
        if g is not None:
            assert g.shape == t.shape and g.dtype == t.dtype, (
                f"input {i}: gradient {g.shape} {g.dtype}, input {t.shape}"
            )


def inputs_are_not_mutated(entry: OpEntry, sample: Sample) -> None:
    """Forward, backward and double backward leave the input arrays as they were."""
    tensors = _tensors(sample)
    before = [t.numpy().copy() for t in tensors]
    out = _call(entry, tensors, sample)
    grads = grad(out, tensors, _cotangent(out), create_graph=True, allow_unused=True) if out.requires_grad else ()
    used = [g for g in grads if g is not None and g.requires_grad]
    if used:
        total = sum((g * _cotangent(g, seed=2)).sum() for g in used)
        grad(total, tensors, allow_unused=True)
    for i, (t, original) in enumerate(zip(tensors, before, strict=True)):
        np.testing.assert_array_equal(t.numpy(), original, err_msg=f"input {i} was changed")


def layouts_do_not_matter(entry: OpEntry, sample: Sample) -> None:
    """Transposed (Fortran-order) and strided inputs give the same output and gradients as contiguous ones."""

    def strided(x: np.ndarray) -> np.ndarray:
        if x.ndim == 0:
            return x
        wide = np.repeat(x, 2, axis=-1)
        return np.asfortranarray(wide[..., ::2]) if x.ndim > 1 else wide[::2]

    plain, odd = _tensors(sample), _tensors(sample, layout=strided)
    out, odd_out = _call(entry, plain, sample), _call(entry, odd, sample)
    _assert_same_values(odd_out.numpy(), out.numpy(), "forward on strided inputs")
    if not entry.differentiable:
        return
    cotangent = _cotangent(out)
    for i, (g, h) in enumerate(
        zip(
            grad(out, plain, cotangent, allow_unused=True),
            grad(odd_out, odd, cotangent, allow_unused=True),
            strict=True,
        )
    ):
        assert (g is None) == (h is None), f"input {i}: a gradient for one layout only"
        if g is not None:
            np.testing.assert_allclose(
                h.numpy(), g.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"gradient {i}, strided inputs"
            )


def reuse_in_a_graph(entry: OpEntry, sample: Sample) -> None:
    """The op's output used three times (fan-out) and its inputs used again: still the right gradient."""
    if not entry.differentiable:
        return
    rng = np.random.default_rng(3)

    def reused(*t: Tensor) -> Tensor:
        h = _call(entry, list(t), sample)
        a, b = Tensor(rng.standard_normal(h.shape)), Tensor(rng.standard_normal(h.shape))
        total = (h * a).sum() + (h * h * b).sum()
        for x in t:
            total = total + (x * x).sum()
        return total

    state = rng.bit_generator.state

    def replay(*t: Tensor) -> Tensor:
        rng.bit_generator.state = state  # the same constants on every call
        return reused(*t)

    gradcheck(replay, *sample.inputs)


#: The battery, by name: each takes an entry and one drawn sample.
PROPERTIES: dict[str, Callable[[OpEntry, Sample], None]] = {
    "forward": forward_matches_references,
    "gradient": gradient_matches_finite_differences,
    "second_order": second_order_matches_finite_differences,
    "float32": float32_stays_float32,
    "promotion": mixed_floats_promote,
    "gradient_shapes": gradients_have_input_shapes,
    "no_mutation": inputs_are_not_mutated,
    "layouts": layouts_do_not_matter,
    "reuse": reuse_in_a_graph,
}


def recorded_functions(entry: OpEntry, sample: Sample) -> set[type[Function]]:
    """The Function classes one call records, in float64 and float32: forward, its backward and the
    backward of that under ``create_graph=True`` (the cotangent requires grad, so linear ops record too)."""
    from ..autograd import topological_order

    seen: set[type[Function]] = set()
    for dtype in (np.float64, np.float32):
        tensors = _tensors(sample, dtype)
        out = _call(entry, tensors, sample)
        if not out.requires_grad:  # an op with no gradient records nothing
            continue
        cotangent = _cotangent(out).requires_grad_()
        grads = [g for g in grad(out, tensors, cotangent, create_graph=True, allow_unused=True) if g is not None]
        recorded = [g for g in grads if g.requires_grad]
        if recorded:  # and the backward of the backward: what a third order would go through
            weights = [_cotangent(g, seed=2).requires_grad_() for g in recorded]
            total = sum((g * w).sum() for g, w in zip(recorded, weights, strict=True))
            wrt = [*tensors, cotangent, *weights]
            grads += [g for g in grad(total, wrt, create_graph=True, allow_unused=True) if g is not None]
        roots = [t.grad_fn for t in (out, *grads) if t.grad_fn is not None]
        seen |= {type(node) for node in topological_order(*roots)}
    return seen


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch
