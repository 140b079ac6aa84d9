"""``autograd.functional`` against PyTorch's ``torch.autograd.functional`` (float64, to 1e-10) where torch is
installed, and against hand-derived derivatives everywhere: vjp, jvp, jacobian, hessian, hvp, vhp on functions
of one and of two inputs, tuple outputs, ``create_graph``, ``strict``, and Newton's step on a quadratic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_mnist import Tensor, no_grad
from tinygrad_mnist.autograd import grad
from tinygrad_mnist.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

TOLERANCE = {"rtol": 1e-10, "atol": 1e-10}


# The functions are written with operators and methods that Tensor and torch.Tensor share, so each one runs on both.
def cubic_tanh(x):
    return x.tanh() * x**2


def two_inputs(a, b):
    return (a @ b).tanh() + a.sum() * b.exp().sum()


def tuple_output(a, b):
    return a.sigmoid() * b.sum(), (a**2).sum() * b.tanh().sum()


def scalar_one_input(x):
    return (x.sigmoid() * x**3).sum()


def scalar_two_inputs(a, b):
    return ((a @ b).exp()).sum() + (a**2).sum() * b.tanh().sum()


#: name -> (function, input shapes, whether the output is one-element); the inputs are drawn from a seeded normal.
CASES: dict[str, tuple[Callable[..., Any], tuple[tuple[int, ...], ...]]] = {
    "one input": (cubic_tanh, ((3,),)),
    "one input, one scalar output": (scalar_one_input, ((2, 2),)),
    "two inputs": (two_inputs, ((2, 3), (3, 2))),
    "two inputs, tuple output": (tuple_output, ((3,), (2,))),
    "two inputs, one scalar output": (scalar_two_inputs, ((2, 3), (3, 2))),
}
SCALAR_CASES = [name for name in CASES if "scalar" in name]


def draw(shapes: tuple[tuple[int, ...], ...], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * 0.5 for shape in shapes]


def ours(arrays: list[np.ndarray], requires_grad: bool = False) -> Tensor | tuple[Tensor, ...]:
    """One Tensor for one array (the form that unpacks the results), else a tuple of them."""
    tensors = tuple(Tensor(a.copy(), requires_grad=requires_grad) for a in arrays)
    return tensors[0] if len(tensors) == 1 else tensors


def theirs(torch: Any, arrays: list[np.ndarray], requires_grad: bool = False) -> Any:
    tensors = tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrays)
    return tensors[0] if len(tensors) == 1 else tensors


def assert_nested_close(mine: Any, reference: Any, **tolerance: float) -> None:
    """The same nesting of tuples, and at the leaves Tensors equal to torch's (or NumPy's) arrays, in float64."""
    if isinstance(reference, tuple):
        assert isinstance(mine, tuple) and len(mine) == len(reference), f"{type(mine)} vs a tuple of {len(reference)}"
        for a, b in zip(mine, reference, strict=True):
            assert_nested_close(a, b, **tolerance)
        return
    assert isinstance(mine, Tensor), f"expected a Tensor, got {type(mine).__name__}"
    expected = reference.detach().numpy() if hasattr(reference, "detach") else np.asarray(reference)
    assert mine.dtype == np.float64 and mine.shape == expected.shape, (mine.dtype, mine.shape, expected.shape)
    np.testing.assert_allclose(mine.numpy(), expected, **(tolerance or TOLERANCE))


def output_shapes(func: Callable[..., Any], arrays: list[np.ndarray]) -> list[tuple[int, ...]]:
    out = func(*(Tensor(a) for a in arrays))
    return [o.shape for o in (out if isinstance(out, tuple) else (out,))]


def as_input_form(arrays: list[np.ndarray], tensors: list[Any]) -> Any:
    return tensors[0] if len(arrays) == 1 else tuple(tensors)


# ----- against PyTorch ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacobian_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    func, shapes = CASES[name]
    arrays = draw(shapes)
    expected = torch.autograd.functional.jacobian(func, theirs(torch, arrays))
    assert_nested_close(jacobian(func, ours(arrays)), expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vjp_and_jvp_match_pytorch(name):
    torch = pytest.importorskip("torch")
    func, shapes = CASES[name]
    arrays = draw(shapes)
    out_vectors, in_vectors = draw(tuple(output_shapes(func, arrays)), seed=1), draw(shapes, seed=2)
    tuple_output = isinstance(func(*map(Tensor, arrays)), tuple)
    v_out_ours = tuple(map(Tensor, out_vectors)) if tuple_output else Tensor(out_vectors[0])
    v_out_theirs = tuple(map(torch.tensor, out_vectors)) if tuple_output else torch.tensor(out_vectors[0])
    v_in_ours = as_input_form(arrays, [Tensor(v) for v in in_vectors])
    v_in_theirs = as_input_form(arrays, [torch.tensor(v) for v in in_vectors])

    expected = torch.autograd.functional.vjp(func, theirs(torch, arrays), v_out_theirs)
    assert_nested_close(vjp(func, ours(arrays), v_out_ours), expected)
    expected = torch.autograd.functional.jvp(func, theirs(torch, arrays), v_in_theirs)
    assert_nested_close(jvp(func, ours(arrays), v_in_ours), expected)


@pytest.mark.parametrize("name", SCALAR_CASES)
def test_hessian_hvp_and_vhp_match_pytorch(name):
    torch = pytest.importorskip("torch")
    functional = torch.autograd.functional
    func, shapes = CASES[name]
    arrays, vectors = draw(shapes), draw(shapes, seed=3)
    v_ours = as_input_form(arrays, [Tensor(v) for v in vectors])
    v_theirs = as_input_form(arrays, [torch.tensor(v) for v in vectors])

    assert_nested_close(hessian(func, ours(arrays)), functional.hessian(func, theirs(torch, arrays)))
    assert_nested_close(hvp(func, ours(arrays), v_ours), functional.hvp(func, theirs(torch, arrays), v_theirs))
    assert_nested_close(vhp(func, ours(arrays), v_ours), functional.vhp(func, theirs(torch, arrays), v_theirs))


def test_vjp_of_a_one_element_output_needs_no_v_and_matches_pytorch():
    torch = pytest.importorskip("torch")
    arrays = draw(((2, 3), (3, 2)))
    expected = torch.autograd.functional.vjp(scalar_two_inputs, theirs(torch, arrays))
    assert_nested_close(vjp(scalar_two_inputs, ours(arrays)), expected)


@pytest.mark.parametrize("name", ["one input", "two inputs, tuple output"])
def test_a_jacobian_with_create_graph_differentiates_back_to_the_inputs_like_pytorchs(name):
    torch = pytest.importorskip("torch")
    func, shapes = CASES[name]
    arrays = draw(shapes)
    mine, reference = ours(arrays, requires_grad=True), theirs(torch, arrays, requires_grad=True)
    mine_t, reference_t = ((mine,), (reference,)) if len(arrays) == 1 else (mine, reference)

    def total(blocks: Any) -> Any:
        if not isinstance(blocks, tuple):
            return (blocks * blocks).sum()
        return sum(total(block) for block in blocks)

    mine_jacobian = jacobian(func, mine, create_graph=True)
    reference_jacobian = torch.autograd.functional.jacobian(func, reference, create_graph=True)
    assert_nested_close(grad(total(mine_jacobian), mine_t), torch.autograd.grad(total(reference_jacobian), reference_t))


def test_hessian_with_create_graph_gives_third_derivatives_like_pytorchs():
    torch = pytest.importorskip("torch")
    (x,) = draw(((3,),))
    mine, reference = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (mine_third,) = grad(hessian(scalar_one_input, mine, create_graph=True).sum(), mine)
    (reference_third,) = torch.autograd.grad(
        torch.autograd.functional.hessian(scalar_one_input, reference, create_graph=True).sum(), reference
    )
    assert_nested_close(mine_third, reference_third)


def independent_of_b(a, b):
    return a**2


def constant(x):
    return Tensor(np.ones(2)) if isinstance(x, Tensor) else x.new_ones(2)


def linear_function(x):
    return (x * 3).sum()


def sum_of_separate_squares(a, b):
    return (a**2).sum() + (b**2).sum()


#: (call, the arguments after the function: "x" one input (3,), "ab" two inputs (3,), "v..." the vectors).
STRICT_CASES = {
    "vjp, unused input": ("vjp", independent_of_b, "ab", "out"),
    "vjp, constant output": ("vjp", constant, "x", "out2"),
    "jvp, unused input": ("jvp", independent_of_b, "ab", "in"),
    "jacobian, unused input": ("jacobian", independent_of_b, "ab", None),
    "jacobian, constant output": ("jacobian", constant, "x", None),
    "hessian, linear function": ("hessian", linear_function, "x", None),
    "hessian, a zero block": ("hessian", sum_of_separate_squares, "ab", None),
    "hvp, linear function": ("hvp", linear_function, "x", "in"),
    "vhp, linear function": ("vhp", linear_function, "x", "in"),
}
FUNCTIONALS = {"vjp": vjp, "jvp": jvp, "jacobian": jacobian, "hessian": hessian, "hvp": hvp, "vhp": vhp}


def strict_arguments(inputs: str, vector: str | None, wrap: Callable[[np.ndarray], Any]) -> list[Any]:
    x, y = draw(((3,), (3,)))
    arguments: list[Any] = [wrap(x) if inputs == "x" else (wrap(x), wrap(y))]
    if vector == "out":
        arguments.append(wrap(y))
    elif vector == "out2":
        arguments.append(wrap(np.ones(2)))
    elif vector == "in":
        arguments.append(wrap(y) if inputs == "x" else (wrap(y), wrap(x)))
    return arguments


@pytest.mark.parametrize("name", sorted(STRICT_CASES))
def test_strict_raises_pytorchs_error_where_pytorch_raises(name):
    torch = pytest.importorskip("torch")
    call, func, inputs, vector = STRICT_CASES[name]
    with pytest.raises(RuntimeError) as expected:
        getattr(torch.autograd.functional, call)(func, *strict_arguments(inputs, vector, torch.tensor), strict=True)
    with pytest.raises(RuntimeError) as raised:
        FUNCTIONALS[call](func, *strict_arguments(inputs, vector, Tensor), strict=True)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("name", sorted(STRICT_CASES))
def test_without_strict_the_independent_parts_are_zeros_like_pytorchs(name):
    torch = pytest.importorskip("torch")
    call, func, inputs, vector = STRICT_CASES[name]
    expected = getattr(torch.autograd.functional, call)(func, *strict_arguments(inputs, vector, torch.tensor))
    assert_nested_close(FUNCTIONALS[call](func, *strict_arguments(inputs, vector, Tensor)), expected)


# ----- hand-derived, with or without torch ----------------------------------------------------------------


def test_jacobian_and_hessian_of_cubes_by_hand():
    x = np.array([0.5, -1.0, 2.0])
    assert_nested_close(jacobian(lambda t: t**3, Tensor(x)), np.diag(3 * x**2))
    assert_nested_close(hessian(lambda t: (t**3).sum(), Tensor(x)), np.diag(6 * x))
    # f(a, b) = sum(a * b): the Jacobian is (b, a), the Hessian [[0, I], [I, 0]].
    a, b = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    assert_nested_close(jacobian(lambda s, t: (s * t).sum(), (Tensor(a), Tensor(b))), (b, a))
    eye, zero = np.eye(2), np.zeros((2, 2))
    assert_nested_close(hessian(lambda s, t: (s * t).sum(), (Tensor(a), Tensor(b))), ((zero, eye), (eye, zero)))


def test_jacobian_nests_tuples_of_outputs_outside_tuples_of_inputs():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0])
    blocks = jacobian(lambda s, t: (s * 2, (s**2).sum() + (t**2).sum()), (Tensor(a), Tensor(b)))
    assert_nested_close(blocks, ((2 * np.eye(3), np.zeros((3, 2))), (2 * a, 2 * b)))
    assert_nested_close(jacobian(lambda s: (s * 2, s.sum()), Tensor(a)), (2 * np.eye(3), np.ones(3)))
    expected = (np.eye(3) * b.sum(), np.outer(a, [1, 1]))
    assert_nested_close(jacobian(lambda s, t: s * t.sum(), (Tensor(a), Tensor(b))), expected)
    x = np.arange(6.0).reshape(2, 3)
    assert jacobian(lambda s: s * 1.0, Tensor(x)).shape == (2, 3, 2, 3)


def test_products_by_hand():
    x, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -1.0])
    out, product = vjp(lambda t: t**3, Tensor(x), Tensor(v))
    assert_nested_close((out, product), (x**3, 3 * x**2 * v))
    assert_nested_close(jvp(lambda t: t**3, Tensor(x), Tensor(v)), (x**3, 3 * x**2 * v))
    cube = lambda t: (t**3).sum()  # noqa: E731
    assert_nested_close(hvp(cube, Tensor(x), Tensor(v)), (np.sum(x**3), 6 * x * v))
    assert_nested_close(vhp(cube, Tensor(x), Tensor(v)), (np.sum(x**3), 6 * x * v))
    # jvp of a non-square Jacobian: f(a, b) = a * sum(b), J v = v_a * sum(b) + a * sum(v_b).
    a, b, va, vb = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.array([1.0, -1.0]), np.array([0.5, 0.5, 1.0])
    _, product = jvp(lambda s, t: s * t.sum(), (Tensor(a), Tensor(b)), (Tensor(va), Tensor(vb)))
    assert_nested_close(product, va * b.sum() + a * vb.sum())


def test_a_single_element_input_or_output_needs_no_v():
    x = Tensor(np.array(2.0))
    assert_nested_close(jvp(lambda t: t**3, x), (8.0, 12.0))
    assert_nested_close(vjp(lambda t: t**3, x), (8.0, 12.0))
    assert_nested_close(hvp(lambda t: t**3, x), (8.0, 12.0))
    assert_nested_close(vhp(lambda t: t**3, x), (8.0, 12.0))


def test_the_callers_tensors_gain_no_graph_and_no_grad():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    seen = []
    out, product = vjp(lambda t: seen.append(t) or (t**2).sum(), x)
    assert seen[0] is not x and seen[0].requires_grad
    assert x.grad is None and np.array_equal(x.numpy(), [0.5, -1.0, 2.0])
    assert not out.requires_grad and not product.requires_grad
    cube = lambda t: (t**3).sum()  # noqa: E731
    for result in (jacobian(lambda t: t**2, x), hessian(cube, x), hvp(cube, x, x)[1], jvp(cube, x, x)[1]):
        assert not result.requires_grad
    assert x.grad is None


def test_create_graph_keeps_the_graph_to_inputs_that_require_grad():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    out, product = vjp(lambda t: (t**3).sum(), x, create_graph=True)
    assert out.requires_grad and product.requires_grad
    (second,) = grad(product.sum(), x)  # d/dx sum(3 x^2) = 6 x
    assert_nested_close(second, 6 * x.numpy())


def test_functionals_work_inside_no_grad():
    x = Tensor(np.array([0.5, -1.0, 2.0]))
    with no_grad():
        assert_nested_close(hessian(lambda t: (t**3).sum(), x), np.diag(6 * x.numpy()))
        assert_nested_close(jvp(lambda t: t**3, x, x)[1], 3 * x.numpy()**3)


def test_strict_raises_for_an_unused_input_and_otherwise_gives_zeros():
    a, b = Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0]))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda s, t: (s**2).sum(), (a, b), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        jacobian(lambda s, t: s**2, (a, b), strict=True)
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0"):
        hessian(lambda s: (s * 3).sum(), a, strict=True)
    _, (_, zeros) = vjp(lambda s, t: (s**2).sum(), (a, b))
    assert_nested_close(zeros, np.zeros(1))


def test_bad_arguments_raise_pytorchs_errors():
    x = Tensor(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        jacobian(lambda t: t, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="value at index 1"):
        jacobian(lambda s, t: s, (x, [1.0]))
    with pytest.raises(RuntimeError, match="v can only be None"):
        vjp(lambda t: t**2, x)
    with pytest.raises(RuntimeError, match="v has invalid size"):
        vjp(lambda t: t**2, x, Tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length"):
        jvp(lambda s, t: s * t, (x, x), (x,))
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        hessian(lambda t: (t.sum(), t.sum()), x)
    with pytest.raises(RuntimeError, match="should contain a single element"):
        hvp(lambda t: t**2, x, x)
    with pytest.raises(NotImplementedError, match="vectorize"):
        jacobian(lambda t: t**2, x, vectorize=True)
    with pytest.raises(NotImplementedError, match="forward mode"):
        hessian(lambda t: (t**3).sum(), x, outer_jacobian_strategy="forward-mode")
    with pytest.raises(ValueError, match="reverse-mode"):
        jacobian(lambda t: t**2, x, strategy="sideways")


def test_newtons_step_on_a_quadratic_lands_on_its_minimum():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 4))
    a, b = m @ m.T + 4 * np.eye(4), rng.standard_normal(4)  # symmetric positive definite

    def quadratic(t: Tensor) -> Tensor:  # 1/2 x^T A x - b^T x, whose minimum is A^-1 b
        return 0.5 * (t.reshape(1, 4) @ Tensor(a) @ t.reshape(4, 1)).sum() - (Tensor(b) * t).sum()

    x = Tensor(rng.standard_normal(4))
    _, gradient = vjp(quadratic, x)
    x_next = x.numpy() - np.linalg.solve(hessian(quadratic, x).numpy(), gradient.numpy())
    np.testing.assert_allclose(x_next, np.linalg.solve(a, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(vjp(quadratic, Tensor(x_next))[1].numpy(), 0.0, atol=1e-12)
