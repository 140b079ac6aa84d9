"""``tinygrad_mnist.onnx.load``: an ONNX graph run with our ops, differentiable, fine-tunable, drawable;
graphs written elsewhere (by hand here, with operators our export never writes) against ONNX Runtime."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, gradcheck, gradgradcheck, nn, optim
from tinygrad_mnist.viz import draw_model

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from test_onnx import RTOL, run_onnx_runtime, small_cnn  # noqa: E402

from tinygrad_mnist.onnx import OnnxError, OnnxModule, UnsupportedOperatorError, export, load  # noqa: E402


def round_trip(model: nn.Module, example: np.ndarray) -> OnnxModule:
    buffer = io.BytesIO()
    export(model, example, buffer)
    buffer.seek(0)
    return load(buffer)


def test_round_trip_keeps_the_parameter_names_and_gives_identical_outputs(tmp_path):
    model = small_cnn().eval()
    export(model, np.zeros((1, 1, 8, 8), np.float32), tmp_path / "cnn.onnx")
    loaded = load(tmp_path / "cnn.onnx")
    assert list(loaded.state_dict()) == list(model.state_dict())
    for (name, theirs), ours in zip(loaded.state_dict().items(), model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(theirs, ours, err_msg=name)
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(Tensor(x)).numpy())
    assert "input [batch, 1, 8, 8] float32 -> output [batch, 10] float32" in repr(loaded)
    model.load_state_dict(loaded.state_dict())  # the names fit the original model's


def test_gradients_through_a_loaded_model_are_the_originals():
    model = small_cnn().eval()
    loaded = round_trip(model, np.zeros((1, 1, 8, 8), np.float32))
    x = np.random.default_rng(1).random((4, 1, 8, 8), dtype=np.float32)
    labels = np.array([3, 1, 4, 1])
    gradients = []
    for net in (model, loaded):
        inputs = Tensor(x, requires_grad=True)
        net(inputs).cross_entropy(labels).backward()
        gradients.append([inputs.grad.numpy(), *(p.grad.numpy() for p in net.parameters())])
    for theirs, ours in zip(*gradients, strict=True):
        np.testing.assert_array_equal(theirs, ours)


def test_a_loaded_model_is_differentiable_to_the_second_order():
    nn.init.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(np.float64)
    loaded = round_trip(model, np.zeros((1, 3)))
    x = np.random.default_rng(2).standard_normal((2, 3))
    assert gradcheck(loaded, x) and gradgradcheck(loaded, x)


def test_a_loaded_model_fine_tunes_and_exports_again():
    nn.init.manual_seed(0)
    loaded = round_trip(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)), np.zeros((1, 6), np.float32))
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    optimizer = optim.Adam(loaded.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        loss = loaded(x).cross_entropy(y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    again = io.BytesIO()
    export(loaded, x[:1], again)
    np.testing.assert_allclose(run_onnx_runtime(again.getvalue(), x)[0], loaded(x).numpy(), rtol=RTOL, atol=1e-6)


def test_a_loaded_model_can_be_drawn():
    loaded = round_trip(small_cnn(), np.zeros((1, 1, 8, 8), np.float32))
    source = draw_model(loaded, Tensor(np.zeros((1, 1, 8, 8), np.float32)), np.zeros(1, np.int64)).source
    assert "0.weight" in source and "CrossEntropy" in source


# ----- graphs written elsewhere ------------------------------------------------------------------


def graph_model(nodes, inputs, output, initializers=(), opset=18) -> bytes:
    """A hand-written ONNX model: ``inputs`` and ``output`` as (name, shape) with the batch as 'batch'."""
    graph = helper.make_graph(
        nodes,
        "handmade",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs],
        [helper.make_tensor_value_info(output[0], TensorProto.FLOAT, output[1])],
        initializer=[numpy_helper.from_array(np.asarray(a), name) for name, a in initializers],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    return model.SerializeToString()


_rng = np.random.default_rng(4)
_W = _rng.standard_normal((5, 6)).astype(np.float32)
_K = _rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
HANDMADE = {
    "Flatten, Gemm with alpha, beta and transA": graph_model(
        [
            helper.make_node("Flatten", ["x"], ["flat"], axis=1),
            helper.make_node("Transpose", ["flat"], ["flat_t"]),
            helper.make_node("Gemm", ["flat_t", "w", "c"], ["y"], alpha=0.5, beta=2.0, transA=1, transB=1),
        ],
        [("x", ["batch", 2, 3])],
        ("y", ["batch", 5]),
        [("w", _W), ("c", np.ones((1, 5), np.float32))],
    ),
    "Conv without bias, auto_pad VALID, GlobalAveragePool": graph_model(
        [
            helper.make_node("Conv", ["x", "k"], ["c"], auto_pad="VALID", strides=[2, 1]),
            helper.make_node("GlobalAveragePool", ["c"], ["y"]),
        ],
        [("x", ["batch", 3, 7, 6])],
        ("y", ["batch", 2, 1, 1]),
        [("k", _K)],
    ),
    "MaxPool with ONNX's default stride 1, AveragePool counting no padding": graph_model(
        [
            helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[2, 2]),
            helper.make_node("AveragePool", ["m"], ["y"], kernel_shape=[2, 3], strides=[1, 2]),
        ],
        [("x", ["batch", 2, 6, 7])],
        ("y", ["batch", 2, 4, 2]),
    ),
    "ReduceMean with axes as an attribute (opset 13), Softmax over a 2-D view (opset 11)": graph_model(
        [
            helper.make_node("ReduceMean", ["x"], ["m"], axes=[2], keepdims=1),
            helper.make_node("Sub", ["x", "m"], ["d"]),
            helper.make_node("Softmax", ["d"], ["y"], axis=1),
        ],
        [("x", ["batch", 3, 4])],
        ("y", ["batch", 3, 4]),
        opset=11,
    ),
    "Reshape copying an axis (0), Expand both ways, Pow and Div by Constants, Cast and back": graph_model(
        [
            helper.make_node("Constant", [], ["shape"], value_ints=[0, 1, -1]),
            helper.make_node("Reshape", ["x", "shape"], ["r"]),
            helper.make_node("Constant", [], ["wide"], value_ints=[1, 3, 1]),
            helper.make_node("Expand", ["r", "wide"], ["e"]),
            helper.make_node("Constant", [], ["two"], value_float=2.0),
            helper.make_node("Pow", ["e", "two"], ["p"]),
            helper.make_node("Div", ["p", "two"], ["h"]),
            helper.make_node("Cast", ["h"], ["h64"], to=TensorProto.DOUBLE),
            helper.make_node("Cast", ["h64"], ["y"], to=TensorProto.FLOAT),
        ],
        [("x", ["batch", 2, 2])],
        ("y", ["batch", 3, 4]),
    ),
    "ReduceSum and ReduceMax with axes as an input, LogSoftmax, Sigmoid, Neg, Identity": graph_model(
        [
            helper.make_node("Constant", [], ["axes"], value_ints=[1]),
            helper.make_node("ReduceMax", ["x", "axes"], ["m"], keepdims=0),
            helper.make_node("ReduceSum", ["x", "axes"], ["s"], keepdims=0),
            helper.make_node("Add", ["m", "s"], ["a"]),
            helper.make_node("LogSoftmax", ["a"], ["l"]),
            helper.make_node("Sigmoid", ["l"], ["g"]),
            helper.make_node("Neg", ["g"], ["n"]),
            helper.make_node("Identity", ["n"], ["y"]),
        ],
        [("x", ["batch", 3, 4])],
        ("y", ["batch", 4]),
    ),
}


@pytest.mark.parametrize("name", list(HANDMADE))
@settings(max_examples=5)
@given(rows=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_graphs_written_elsewhere_run_as_onnx_runtime_runs_them(name, rows, seed):
    model = HANDMADE[name]
    loaded = load(io.BytesIO(model))
    shape = [rows, *loaded.inputs[0].shape[1:]]
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    (theirs,) = run_onnx_runtime(model, x)
    ours = loaded(x)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=RTOL, atol=1e-6)


def test_what_load_cannot_run_is_refused_at_load_time_by_name(tmp_path):
    sine = graph_model([helper.make_node("Sin", ["x"], ["y"])], [("x", ["batch", 2])], ("y", ["batch", 2]))
    with pytest.raises(UnsupportedOperatorError, match=r"uses Sin, which tinygrad_mnist cannot run \(.*Conv, "):
        load(io.BytesIO(sine))
    grouped = graph_model(
        [helper.make_node("Conv", ["x", "k"], ["y"], group=2)],
        [("x", ["batch", 2, 4, 4])],
        ("y", ["batch", 2, 2, 2]),
        [("k", np.ones((2, 1, 3, 3), np.float32))],
    )
    with pytest.raises(UnsupportedOperatorError, match=r"Conv node .*groups"):
        load(io.BytesIO(grouped))
    with pytest.raises(FileNotFoundError, match="no ONNX model at"):
        load(tmp_path / "missing.onnx")
    (tmp_path / "garbage.onnx").write_bytes(b"\xff not protobuf")
    with pytest.raises(OnnxError, match=r"garbage.onnx is not a readable ONNX model"):
        load(tmp_path / "garbage.onnx")


def test_a_loaded_model_refuses_inputs_that_do_not_fit_by_their_expected_shape():
    loaded = round_trip(small_cnn(), np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(OnnxError, match=r"input input \[batch, 1, 8, 8\] float32 does not fit .* \(2, 1, 9, 8\)"):
        loaded(np.zeros((2, 1, 9, 8), np.float32))
    with pytest.raises(OnnxError, match=r"float32 does not fit a tensor of shape .* float64"):
        loaded(np.zeros((2, 1, 8, 8)))
    with pytest.raises(OnnxError, match=r"takes 1 input\(s\)"):
        loaded()
