"""ONNX export, proven by ONNX Runtime: every mapped op on Hypothesis-drawn batches, and the way back.

Each op case is a small function recording one op (or conv2d's three). It is exported at one
batch size and run by ONNX Runtime at another (the batch axis is symbolic), whose outputs must
equal ours to rtol 1e-5; the exported file loaded back (``tinygrad_mnist.onnx.load``) must give
our outputs bit for bit, since each ONNX operator maps back onto the op it came from.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_mnist import Tensor, nn, ops
from tinygrad_mnist.autograd import Function

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinygrad_mnist.onnx import OnnxError, UnsupportedOperatorError, export, load  # noqa: E402
from tinygrad_mnist.onnx.mapping import EXPORTERS  # noqa: E402

#: ONNX Runtime against NumPy in float32: relative 1e-5, and an absolute floor for results that
#: cancel to near 0 (a sum of terms of size ~1 carries an absolute error of ~1e-7 per term).
RTOL, ATOL = 1e-5, 1e-6


def session(model: bytes) -> Any:
    """An ONNX Runtime session on one thread (the tests share two cores)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run_onnx_runtime(model: bytes, *inputs: np.ndarray) -> list[np.ndarray]:
    runner = session(model)
    return runner.run(None, {spec.name: x for spec, x in zip(runner.get_inputs(), inputs, strict=True)})


def exported(fn: Any, args: Any, **options: Any) -> bytes:
    buffer = io.BytesIO()
    export(fn, args, buffer, **options)
    return buffer.getvalue()


# ----- one case per mapped op -------------------------------------------------------------------


def values(draw: st.DrawFn, shape: tuple[int, ...], low: float = -3.0, high: float = 3.0) -> np.ndarray:
    """A float32 array of ``shape`` with Hypothesis-drawn elements in [low, high]."""
    elements = st.floats(low, high, width=32, allow_subnormal=False)
    return draw(hnp.arrays(np.float32, shape, elements=elements))


def weight(draw: st.DrawFn, shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> Tensor:
    """A parameter-like leaf (requires grad, so it is exported as an initializer)."""
    return Tensor(values(draw, shape, low, high), requires_grad=True)


@dataclass(frozen=True)
class OpCase:
    """``draw(draw) -> (fn, feature shape)``: a function recording ``op`` on a batch of that feature shape."""

    op: str
    draw: Callable[[st.DrawFn], tuple[Callable[[Tensor], Any], tuple[int, ...]]]
    low: float = -3.0


def _features(draw: st.DrawFn, ndim: int = 1) -> tuple[int, ...]:
    return tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))


def _elementwise_with(method: Callable[[Tensor, Tensor], Tensor]) -> Callable[[st.DrawFn], Any]:
    def draw_case(draw: st.DrawFn) -> Any:
        features = _features(draw, draw(st.integers(1, 2)))
        other = weight(draw, draw(st.sampled_from([features, features[-1:], ()])), 0.5, 2.0)
        return (lambda x: method(x, other)), features

    return draw_case


def _unary(method: Callable[[Tensor], Tensor]) -> Callable[[st.DrawFn], Any]:
    return lambda draw: (method, _features(draw, draw(st.integers(1, 3))))


def _pow_case(draw: st.DrawFn) -> Any:
    exponent = draw(st.sampled_from([2, 3, 0.5, -1.5]))
    return (lambda x: x**exponent), _features(draw)


def _matmul_case(draw: st.DrawFn) -> Any:
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    w = weight(draw, (n, k))
    return draw(
        st.sampled_from(
            [
                lambda x: x @ w,
                lambda x: ops.MatMul.apply(x, Tensor(w.numpy().T.copy(), requires_grad=True), False, True),
                lambda x: ops.MatMul.apply(w, x, True, True),  # (k, batch): the batch on axis 1
            ]
        )
    ), (n,)


def _linear_case(draw: st.DrawFn) -> Any:
    n, k = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    w, b = weight(draw, (k, n)), draw(st.none() | st.just((k,)))
    bias = None if b is None else weight(draw, b)
    return (lambda x: nn.functional.linear(x, w, bias)), (n,)


def _reshape_case(draw: st.DrawFn) -> Any:
    features = _features(draw, 2)
    flats = [lambda x: x.flatten(1), lambda x: x.reshape(-1), lambda x: x.reshape(-1, 1)]
    return draw(st.sampled_from(flats)), features


def _transpose_case(draw: st.DrawFn) -> Any:
    features = _features(draw, 2)
    axes = draw(st.permutations(range(3)))
    return draw(st.sampled_from([lambda x: x.permute(*axes), lambda x: x.T])), features


def _reduce_case(method: str) -> Callable[[st.DrawFn], Any]:
    def draw_case(draw: st.DrawFn) -> Any:
        features = _features(draw, draw(st.integers(1, 2)))
        dim = draw(st.none() | st.integers(-1, len(features)) | st.just((0, len(features))))
        keepdim = draw(st.booleans())
        return (lambda x: getattr(x, method)(dim, keepdim)), features

    return draw_case


def _expand_case(draw: st.DrawFn) -> Any:
    features, times = _features(draw, 1), draw(st.integers(1, 3))
    return (lambda x: x.reshape(x.shape[0], 1, *features).expand(x.shape[0], times, *features)), features


def _softmax_case(method: str) -> Callable[[st.DrawFn], Any]:
    def draw_case(draw: st.DrawFn) -> Any:
        features = _features(draw, draw(st.integers(1, 2)))
        axis = draw(st.sampled_from([-1, 1, len(features)]))
        return (lambda x: getattr(x, method)(axis)), features

    return draw_case


def _conv_case(draw: st.DrawFn) -> Any:
    channels, out_channels, size = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(3, 6))
    kernel = draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, kernel // 2))
    w = weight(draw, (out_channels, channels, kernel, kernel))
    bias = weight(draw, (out_channels,)) if draw(st.booleans()) else None
    return (lambda x: x.conv2d(w, bias, stride, padding)), (channels, size, size)


def _pool_case(method: str) -> Callable[[st.DrawFn], Any]:
    def draw_case(draw: st.DrawFn) -> Any:
        channels, size, kernel = draw(st.integers(1, 3)), draw(st.integers(3, 6)), draw(st.integers(1, 3))
        stride, padding = draw(st.none() | st.integers(1, 2)), draw(st.integers(0, kernel // 2))
        return (lambda x: getattr(x, method)(kernel, stride, padding)), (channels, size, size)

    return draw_case


OP_CASES = [
    OpCase("Add", _elementwise_with(lambda x, w: x + w)),
    OpCase("Sub", _elementwise_with(lambda x, w: 1.5 - x - w)),
    OpCase("Mul", _elementwise_with(lambda x, w: x * w * 0.5)),
    OpCase("Div", _elementwise_with(lambda x, w: x / w)),
    OpCase("Neg", _unary(lambda x: -x)),
    OpCase("Pow", _pow_case, 0.125),
    OpCase("Exp", _unary(lambda x: x.exp())),
    OpCase("Log", _unary(lambda x: x.log()), 0.015625),
    OpCase("ReLU", _unary(lambda x: x.relu())),
    OpCase("Sigmoid", _unary(lambda x: x.sigmoid())),
    OpCase("Tanh", _unary(lambda x: x.tanh())),
    OpCase("Clone", _unary(lambda x: x.clone())),
    OpCase("Cast", _unary(lambda x: x.double() * 2)),
    OpCase("MatMul", _matmul_case),
    OpCase("Linear", _linear_case),
    OpCase("Reshape", _reshape_case),
    OpCase("Permute", _transpose_case),
    OpCase("Sum", _reduce_case("sum")),
    OpCase("Max", _reduce_case("amax")),
    OpCase("Expand", _expand_case),
    OpCase("Softmax", _softmax_case("softmax")),
    OpCase("LogSoftmax", _softmax_case("log_softmax")),
    OpCase("conv2d", _conv_case),
    OpCase("MaxPool2d", _pool_case("max_pool2d")),
    OpCase("AvgPool2d", _pool_case("avg_pool2d")),
]


def test_every_mapped_op_has_a_case():
    mapped = {op.__name__ for op in EXPORTERS} | {"conv2d"}
    assert {case.op for case in OP_CASES} == mapped


@pytest.mark.parametrize("case", OP_CASES, ids=lambda case: case.op)
@settings(max_examples=20)
@given(data=st.data())
def test_op_matches_onnx_runtime_at_another_batch_size_and_loads_back_exactly(case, data):
    fn, features = case.draw(data.draw)
    example_rows, rows = data.draw(st.integers(1, 3), label="example rows"), data.draw(st.integers(1, 4), label="rows")
    example = values(data.draw, (example_rows, *features), case.low)
    x = values(data.draw, (rows, *features), case.low)
    model = exported(fn, example)
    ours = fn(Tensor(x))
    (theirs,) = run_onnx_runtime(model, x)
    assert theirs.dtype == ours.dtype and theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours.numpy(), rtol=RTOL, atol=ATOL)
    loaded = load(io.BytesIO(model))(x)
    np.testing.assert_array_equal(loaded.numpy(), ours.numpy())


# ----- what export writes ---------------------------------------------------------------------


def small_cnn() -> nn.Sequential:
    nn.init.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.5),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 10),
    )


def test_parameters_are_initializers_under_their_names_and_the_batch_is_symbolic(tmp_path):
    model = small_cnn()
    path = tmp_path / "cnn.onnx"
    proto = export(model, np.zeros((2, 1, 8, 8), np.float32), path)
    assert onnx.load(path) == proto
    onnx.checker.check_model(proto, full_check=True)
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    assert initializers.keys() == dict(model.named_parameters()).keys()
    for name, param in model.named_parameters():
        np.testing.assert_array_equal(initializers[name], param.numpy())
    assert [n.op_type for n in proto.graph.node if n.op_type != "Constant"] == [
        "Conv", "Relu", "MaxPool", "Reshape", "Gemm",
    ]  # fmt: skip
    (graph_input,), (graph_output,) = proto.graph.input, proto.graph.output
    assert [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim] == ["batch", 1, 8, 8]
    assert [d.dim_param or d.dim_value for d in graph_output.type.tensor_type.shape.dim] == ["batch", 10]
    assert (graph_input.name, graph_output.name) == ("input", "output")


def test_dynamic_batch_false_fixes_every_size_and_allows_a_mean_over_the_batch():
    def centred(x):
        return x - x.mean(0)

    with pytest.raises(OnnxError, match=r"changes with the batch size.*dynamic_batch=False"):
        exported(centred, np.ones((3, 2), np.float32))
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    model = exported(centred, x, dynamic_batch=False)
    shape = onnx.load_model_from_string(model).graph.input[0].type.tensor_type.shape
    assert [d.dim_value for d in shape.dim] == [3, 2]
    np.testing.assert_allclose(run_onnx_runtime(model, x)[0], centred(Tensor(x)).numpy(), rtol=RTOL)


def test_export_leaves_the_model_in_its_mode_with_its_flags():
    model = small_cnn().train()
    model[0].weight.requires_grad = False
    export(model, np.zeros((1, 1, 8, 8), np.float32), io.BytesIO())
    assert model.training and model[3].training  # Dropout too
    assert not model[0].weight.requires_grad and model[0].bias.requires_grad


class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        return np.logaddexp(0, x.numpy())

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_an_op_without_a_mapping_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous file")
    with pytest.raises(UnsupportedOperatorError, match=r"Softplus has no ONNX mapping \(ops with one: Add, .*Tanh"):
        export(lambda x: Softplus.apply(x.tanh()), np.zeros((1, 3), np.float32), path)
    with pytest.raises(UnsupportedOperatorError, match=r"CrossEntropy has no ONNX mapping.*a loss"):
        loss = lambda x: x.cross_entropy(np.zeros(1, np.int64))  # noqa: E731
        export(loss, np.zeros((1, 3), np.float32), path, dynamic_batch=False)
    assert path.read_bytes() == b"the previous file"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_several_inputs_and_outputs_with_their_names():
    def fn(a, b):
        return a * b, a, (a + b).sum(1)

    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2, np.float32)
    model = exported(fn, (a, b), input_names=["a", "b"], output_names=["product", "a_again", "total"])
    proto = onnx.load_model_from_string(model)
    assert [v.name for v in proto.graph.input] == ["a", "b"]
    assert [v.name for v in proto.graph.output] == ["product", "a_again", "total"]
    for theirs, ours in zip(run_onnx_runtime(model, a, b), fn(Tensor(a), Tensor(b)), strict=True):
        np.testing.assert_array_equal(theirs, ours.numpy())
    with pytest.raises(OnnxError, match="output_names must be 3 distinct non-empty strings"):
        exported(fn, (a, b), output_names=["x", "x", "y"])


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_older_and_newer_opsets(opset):
    def fn(x):
        return x.amax(1, keepdim=True) + x.sum(1, keepdim=True) + x.softmax(1)

    x = np.random.default_rng(opset).standard_normal((3, 4)).astype(np.float32)
    model = exported(fn, x, opset_version=opset)
    assert onnx.load_model_from_string(model).opset_import[0].version == opset
    np.testing.assert_allclose(run_onnx_runtime(model, x)[0], fn(Tensor(x)).numpy(), rtol=RTOL, atol=ATOL)
    with pytest.raises(OnnxError, match="opset_version must be an int from 13"):
        exported(fn, x, opset_version=9)


def test_bad_example_inputs_are_refused_by_name():
    with pytest.raises(OnnxError, match="input 0 is int64"):
        exported(lambda x: x, np.zeros((2, 2), np.int64))
    with pytest.raises(OnnxError, match=r"input 1 has shape \(\), so no batch axis to trace"):
        exported(lambda x, y: x * y, (np.zeros((2, 2), np.float32), np.float32(2)))
    with pytest.raises(OnnxError, match=r"input 0 has shape \(0, 3\), so no batch axis to trace"):
        exported(lambda x: x, np.zeros((0, 3), np.float32))
    with pytest.raises(OnnxError, match="input 0 is a list; give a Tensor or an array per input"):
        exported(lambda x: x, ([[1.0]],))


def test_the_core_imports_neither_onnx_nor_onnxruntime():
    code = (
        "import sys, tinygrad_mnist, tinygrad_mnist.cli, tinygrad_mnist.onnx, tinygrad_mnist.onnx.mapping\n"
        "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_without_onnx_installed_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tinygrad_mnist\[onnx\]'"):
        exported(lambda x: x, np.zeros((1, 1), np.float32))
