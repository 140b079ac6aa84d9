"""The recipe networks as ONNX models: onnx.checker, ONNX Runtime next to ours on drawn batches and on
the 2,000 test rows, and ``tinygrad-mnist export`` with its one-line errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_mnist import Tensor, no_grad
from tinygrad_mnist.checkpoint import save_checkpoint
from tinygrad_mnist.cli import main
from tinygrad_mnist.data import load_kaggle_test, load_kaggle_train
from tinygrad_mnist.data.loader import DataLoader
from tinygrad_mnist.recipes import RECIPES, build_model, build_optimizer, prepare_inputs
from tinygrad_mnist.train import fit

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from test_onnx import RTOL, run_onnx_runtime  # noqa: E402

from tinygrad_mnist.onnx import export, load  # noqa: E402

#: The absolute floor for logits that cancel to near 0: a dense layer sums 3,136 products in float32,
#: in another order in ONNX Runtime than in OpenBLAS (torch.testing's float32 default, too).
ATOL = 1e-5
#: Each recipe, and how many training rows its one brief epoch sees (batches of 128).
TRAINING_ROWS = {"modern": 2560, "cnn": 1280}


def exported(model, preprocessing) -> bytes:
    buffer = io.BytesIO()
    export(model, np.zeros((1, *preprocessing["input_shape"]), next(model.parameters()).dtype), buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def recipe_models():
    """Every recipe's network with its initial weights, and its export: built once for the module."""
    models = {}
    for name, recipe in RECIPES.items():
        model = build_model(recipe)
        models[name] = (model, recipe.preprocessing(), exported(model, recipe.preprocessing()))
    return models


@pytest.mark.parametrize("name", sorted(RECIPES))
@settings(max_examples=5)
@given(pixels=hnp.arrays(np.uint8, st.tuples(st.integers(1, 6), st.just(784))))
def test_every_recipe_network_passes_the_checker_and_matches_onnx_runtime(recipe_models, name, pixels):
    model, preprocessing, proto = recipe_models[name]
    onnx.checker.check_model(onnx.load_model_from_string(proto), full_check=True)
    x = prepare_inputs(pixels, preprocessing)
    with no_grad():
        ours = model(Tensor(x)).numpy()
    (theirs,) = run_onnx_runtime(proto, x)
    assert theirs.dtype == ours.dtype == np.dtype(RECIPES[name].dtype)
    np.testing.assert_allclose(theirs, ours, rtol=RTOL, atol=ATOL)


@pytest.fixture(scope="module")
def trained(mnist_dir):
    """The MLP (20 steps) and the CNN (10 steps) trained briefly on the sample; the dev rows; the test rows."""
    images, labels = load_kaggle_train(mnist_dir / "train.csv.gz")
    models = {}
    for name, rows in TRAINING_ROWS.items():
        recipe = RECIPES[name]
        model = build_model(recipe)
        x = prepare_inputs(images[:rows], recipe.preprocessing())
        loader = DataLoader(x, labels[:rows], batch_size=128, shuffle=True, seed=0)
        fit(model, build_optimizer(recipe, model.parameters()), loader, epochs=1, progress=False)
        models[name] = (model.eval(), recipe.preprocessing())
    return models, (images[7000:], labels[7000:]), load_kaggle_test(mnist_dir / "test.csv.gz")


@pytest.mark.parametrize("name", sorted(TRAINING_ROWS))
def test_trained_networks_predict_the_2000_test_rows_alike_in_onnx_runtime_and_loaded_back(trained, name):
    models, (dev_images, dev_labels), test_images = trained
    model, preprocessing = models[name]
    proto = exported(model, preprocessing)
    x = prepare_inputs(test_images, preprocessing)
    assert len(x) == 2000
    with no_grad():
        ours = model(Tensor(x)).numpy()
        loaded = load(io.BytesIO(proto))(x).numpy()
    (theirs,) = run_onnx_runtime(proto, x)
    np.testing.assert_allclose(theirs, ours, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(theirs.argmax(1), ours.argmax(1))
    np.testing.assert_array_equal(loaded, ours)
    # Trained, if briefly: ONNX Runtime's predictions of the 1,000 dev rows are mostly right.
    (dev_logits,) = run_onnx_runtime(proto, prepare_inputs(dev_images, preprocessing))
    assert np.mean(dev_logits.argmax(1) == dev_labels) > 0.6


# ----- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["modern", "cnn"])
def test_cli_export_writes_the_checkpoint_network(recipe_models, tmp_path, capsys, name):
    model, preprocessing, _ = recipe_models[name]
    checkpoint = save_checkpoint(tmp_path / "model.safetensors", model, preprocessing=preprocessing)
    out = tmp_path / "exported" / "model.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "-o", str(out)]) == 0
    assert f"wrote {out}: input [batch, {', '.join(map(str, preprocessing['input_shape']))}] float32" in (
        capsys.readouterr().out
    )
    proto = onnx.load(out)
    onnx.checker.check_model(proto, full_check=True)
    assert json.loads({p.key: p.value for p in proto.metadata_props}["preprocessing"]) == preprocessing
    x = prepare_inputs(np.random.default_rng(0).integers(0, 256, (5, 784), dtype=np.uint8), preprocessing)
    with no_grad():
        ours = model(Tensor(x)).numpy()
    np.testing.assert_allclose(run_onnx_runtime(proto.SerializeToString(), x)[0], ours, rtol=RTOL, atol=ATOL)


def test_cli_export_errors_are_one_line_and_leave_the_checkpoint_alone(recipe_models, tmp_path, capsys):
    model, preprocessing, _ = recipe_models["modern"]
    checkpoint = save_checkpoint(tmp_path / "model.safetensors", model, preprocessing=preprocessing)
    before = checkpoint.read_bytes()
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a checkpoint")
    cases = {
        str(tmp_path / "missing.safetensors"): ("no checkpoint at", tmp_path / "a.onnx"),
        str(checkpoint): ("is the checkpoint itself", tmp_path / "." / "model.safetensors"),
        str(garbage): ("is not a readable safetensors file", tmp_path / "b.onnx"),
    }
    for path, (message, out) in cases.items():
        assert main(["export", "--checkpoint", path, "-o", str(out)]) == 1
        error = capsys.readouterr().err
        assert error.startswith("tinygrad-mnist export: error: ") and message in error
        assert error.count("\n") == 1 and "Traceback" not in error
    assert checkpoint.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.safetensors", "model.safetensors"]
