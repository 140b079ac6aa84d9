"""Conv layers and the CNN recipe: PyTorch's layouts, names and numbers, checkpoints that rebuild
a CNN, gradients through one, its picture, and ``tinygrad-mnist train --arch cnn`` end to end."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file

from tinygrad_mnist import Tensor, gradcheck, nn
from tinygrad_mnist.checkpoint import load_checkpoint, save_checkpoint
from tinygrad_mnist.cli import main
from tinygrad_mnist.nn.conv import AvgPool2d, Conv2d, MaxPool2d
from tinygrad_mnist.recipes import RECIPES, Recipe, build_model, prepare_inputs


def tiny_cnn(dtype=np.float32, seed=0) -> nn.Sequential:
    """Two conv blocks on 8x8 images: every layer type of the recipe's CNN, small enough for gradcheck."""
    generator = np.random.default_rng(seed)
    return nn.Sequential(
        Conv2d(1, 2, 3, padding=1, dtype=dtype, generator=generator),
        nn.ReLU(),
        MaxPool2d(2),
        Conv2d(2, 3, 3, stride=2, padding=1, dtype=dtype, generator=generator),
        nn.ReLU(),
        AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(3, 4, dtype=dtype, generator=generator),
    )


def torch_twin(model: nn.Sequential):
    """The same network in torch.nn, built from our layers' configs (no weights copied yet)."""
    torch = pytest.importorskip("torch")
    return torch.nn.Sequential(*(getattr(torch.nn, type(layer).__name__)(**layer.get_config()) for layer in model))


def images(m: int, side: int = 28, seed: int = 0, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).random((m, 1, side, side)).astype(dtype)


# ----- the layers -------------------------------------------------------------------------


@settings(max_examples=25)
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(3, 9),
)
def test_conv2d_output_shape_follows_the_formula(c_in, c_out, kernel, stride, padding, side):
    x = Tensor(images(2, side).repeat(c_in, axis=1))
    out = Conv2d(c_in, c_out, kernel, stride=stride, padding=padding)(x)
    expected_side = (side + 2 * padding - kernel) // stride + 1
    assert out.shape == (2, c_out, expected_side, expected_side) and out.dtype == np.float32


def test_pooling_halves_the_image_and_stride_defaults_to_the_kernel():
    x = Tensor(images(3, 28))
    assert MaxPool2d(2)(x).shape == AvgPool2d(2)(x).shape == (3, 1, 14, 14)
    assert MaxPool2d(3, stride=1, padding=1)(x).shape == (3, 1, 28, 28)
    assert MaxPool2d((2, 4)).stride == (2, 4) and AvgPool2d(2, stride=1).stride == 1


def test_default_initialisation_is_pytorchs_uniform_bound_and_seeded():
    conv = Conv2d(8, 16, 3, generator=0)
    bound = 1 / math.sqrt(8 * 3 * 3)
    assert conv.weight.shape == (16, 8, 3, 3) and conv.bias.shape == (16,)
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert 0.99 * bound < np.abs(conv.weight.numpy()).max() <= bound  # 1,152 draws reach close to the bound
    assert conv.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    np.testing.assert_array_equal(conv.weight.numpy(), Conv2d(8, 16, 3, generator=0).weight.numpy())
    assert Conv2d(1, 2, 3, dtype=np.float64).weight.dtype == np.float64
    assert Conv2d(1, 2, 3, bias=False).bias is None
    assert [name for name, _ in Conv2d(1, 2, 3, bias=False).named_parameters()] == ["weight"]


def test_repr_and_labels_follow_pytorch():
    assert repr(Conv2d(1, 32, 3, padding=1)) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(Conv2d(3, 8, (3, 5), stride=2, bias=False)) == (
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), bias=False)"
    )
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(AvgPool2d((2, 3), 1)) == "AvgPool2d(kernel_size=(2, 3), stride=1, padding=0)"
    assert [Conv2d(1, 32, 3).label(), MaxPool2d(2).label(), AvgPool2d((2, 3)).label()] == [
        "Conv2d(1→32, 3x3)",
        "MaxPool2d(2x2)",
        "AvgPool2d(2x3)",
    ]


def test_repr_equals_torchs_where_torch_prints_the_same_arguments():
    torch = pytest.importorskip("torch")
    for ours, theirs in [
        (Conv2d(1, 32, 3, padding=1), torch.nn.Conv2d(1, 32, 3, padding=1)),
        (Conv2d(3, 8, (3, 5), stride=2, bias=False), torch.nn.Conv2d(3, 8, (3, 5), stride=2, bias=False)),
        (AvgPool2d((2, 3), 1), torch.nn.AvgPool2d((2, 3), 1)),
    ]:
        assert repr(ours) == repr(theirs)
    assert repr(torch.nn.MaxPool2d(2)).startswith(repr(MaxPool2d(2))[:-1])  # torch adds dilation and ceil_mode


@pytest.mark.parametrize("layer", [Conv2d(2, 4, (3, 2), stride=(1, 2), padding=1, bias=False), MaxPool2d(3, 2, 1),
                                   AvgPool2d((2, 3))])  # fmt: skip
def test_each_layer_rebuilds_from_its_json_config(layer):
    config = json.loads(json.dumps(nn.module_to_config(layer)))
    rebuilt = nn.module_from_config(config)
    assert type(rebuilt) is type(layer) and repr(rebuilt) == repr(layer)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in layer.parameters()]


def test_shape_errors_name_the_layer_and_the_shapes():
    conv = Conv2d(1, 32, 5)
    with pytest.raises(ValueError, match=r"Conv2d\(1→32, 5x5\): input has shape \(2, 784\).*reshape"):
        conv(Tensor(np.zeros((2, 784), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(1→32, 5x5\).*\(2, 3, 28, 28\) has 3 channels.*expects 1"):
        conv(Tensor(images(2).repeat(3, axis=1)))
    with pytest.raises(ValueError, match=r"Conv2d\(1→32, 5x5\).*kernel 5x5 is larger than the padded input 4x4"):
        conv(Tensor(images(2, side=4)))
    with pytest.raises(ValueError, match=r"MaxPool2d\(2x2\).*kernel 2x2 is larger than the padded input 1x1"):
        MaxPool2d(2)(Tensor(images(2, side=1)))
    with pytest.raises(ValueError, match=r"AvgPool2d\(2x2\): input has shape \(1, 28, 28\)"):
        AvgPool2d(2)(Tensor(np.zeros((1, 28, 28), np.float32)))


def test_bad_arguments_are_refused_when_the_layer_is_built():
    with pytest.raises(ValueError, match="Conv2d needs positive channel counts"):
        Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match="Conv2d: stride must be an int >= 1"):
        Conv2d(1, 4, 3, stride=0)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be an int >= 1 or a pair"):
        Conv2d(1, 4, (3, 3, 3))
    with pytest.raises(ValueError, match=r"max_pool2d: padding .* at most half the kernel"):
        MaxPool2d(2, padding=2)


def test_layers_compute_what_torch_computes():
    torch = pytest.importorskip("torch")
    model = tiny_cnn()
    twin = torch_twin(model)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = images(5, side=8, seed=3)
    logits = model(Tensor(x))
    logits.cross_entropy(np.arange(5) % 4).backward()
    theirs = twin(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(theirs, torch.arange(5) % 4).backward()
    np.testing.assert_allclose(logits.numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    for (name, param), (their_name, their_param) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        assert name == their_name
        np.testing.assert_allclose(param.grad.numpy(), their_param.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_gradients_through_a_cnn_module_match_finite_differences():
    model = tiny_cnn(np.float64, seed=1)
    names = [name for name, _ in model.named_parameters()]

    def loss(x, *weights):
        for name, weight in zip(names, weights, strict=True):  # gradcheck's copies, so the graph runs through them
            index, attribute = name.split(".")
            setattr(model[int(index)], attribute, weight)
        return model(x).cross_entropy(np.array([1, 3]))

    gradcheck(loss, images(2, side=8, seed=4, dtype=np.float64), *(p.numpy() for p in model.parameters()))


# ----- the CNN recipe ---------------------------------------------------------------------


def test_cnn_recipe_builds_the_planned_network_with_pytorchs_state_dict_names():
    model = build_model(RECIPES["cnn"])
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Linear",
    ]
    shapes = {name: array.shape for name, array in model.state_dict().items()}
    assert shapes == {
        "0.weight": (32, 1, 3, 3),
        "0.bias": (32,),
        "3.weight": (64, 32, 3, 3),
        "3.bias": (64,),
        "7.weight": (128, 3136),
        "7.bias": (128,),
        "9.weight": (10, 128),
        "9.bias": (10,),
    }
    assert model(Tensor(images(2))).shape == (2, 10)
    assert {k: tuple(v.shape) for k, v in torch_twin(model).state_dict().items()} == shapes


def test_cnn_weights_are_he_initialised_and_reproducible():
    model = build_model(RECIPES["cnn"])
    conv = model[3].weight.numpy()
    assert conv.dtype == np.float32 and conv.std() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.05)
    assert not model[3].bias.numpy().any()
    again = build_model(RECIPES["cnn"])
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, again.state_dict()[name], err_msg=name)


def test_cnn_inputs_are_images_and_mlp_inputs_stay_rows():
    pixels = np.random.default_rng(0).integers(0, 256, (3, 784), dtype=np.uint8)
    cnn, mlp = RECIPES["cnn"].preprocessing(), RECIPES["modern"].preprocessing()
    assert cnn["input_shape"] == [1, 28, 28] and mlp["input_shape"] == [784]
    x = prepare_inputs(pixels, cnn)
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x.reshape(3, 784), prepare_inputs(pixels, mlp))
    with pytest.raises(ValueError, match=r"inputs of shape \(1, 28, 28\).*images have shape \(3, 100\)"):
        prepare_inputs(pixels[:, :100], cnn)


def test_changing_the_architecture_takes_its_default_layers():
    assert RECIPES["modern"].replace(arch="cnn").layers == RECIPES["cnn"].layers == (1, 32, 64, 128, 10)
    assert RECIPES["cnn"].replace(arch="mlp").layers == Recipe().layers == (784, 785, 10)
    assert RECIPES["modern"].replace(arch="cnn", layers=(1, 8, 16, 10)).layers == (1, 8, 16, 10)
    narrow = build_model(Recipe(arch="cnn", layers=(1, 4, 8, 16, 32, 10)))
    assert narrow(Tensor(images(1))).shape == (1, 10) and narrow[-3].in_features == 16 * 3 * 3
    with pytest.raises(ValueError, match="cnn layers are the input channels"):
        build_model(Recipe(arch="cnn", layers=(784, 785, 10)))
    with pytest.raises(ValueError, match="shrink a 28x28 image to nothing"):
        build_model(Recipe(arch="cnn", layers=(1, 2, 2, 2, 2, 2, 2, 10)))
    with pytest.raises(ValueError, match="unknown architecture 'rnn'"):
        Recipe(arch="rnn")


# ----- checkpoints, PyTorch, pictures -----------------------------------------------------


def test_a_cnn_checkpoint_rebuilds_the_model_and_its_logits(tmp_path):
    model = build_model(RECIPES["cnn"].replace(seed=5))
    path = save_checkpoint(tmp_path / "cnn.safetensors", model, preprocessing=RECIPES["cnn"].preprocessing())
    ckpt = load_checkpoint(path)
    assert repr(ckpt.model) == repr(model) and ckpt.preprocessing["input_shape"] == [1, 28, 28]
    x = Tensor(images(4, seed=6))
    np.testing.assert_array_equal(ckpt.model(x).numpy(), model(x).numpy())


def test_cnn_weights_load_into_torch_through_safetensors_alone(tmp_path):
    torch = pytest.importorskip("torch")
    model = build_model(RECIPES["cnn"].replace(seed=7))
    path = save_checkpoint(tmp_path / "cnn.safetensors", model)
    twin = torch_twin(model)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in load_file(path).items()})
    x = images(8, seed=8)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(Tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)


# ----- the command line -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_csvs(mnist_dir, tmp_path_factory):
    """400 labelled rows and 50 test rows of the sample, as Kaggle CSVs."""
    folder = tmp_path_factory.mktemp("small")
    pd.read_csv(mnist_dir / "train.csv.gz", nrows=400).to_csv(folder / "train.csv", index=False)
    pd.read_csv(mnist_dir / "test.csv.gz", nrows=50).to_csv(folder / "test.csv", index=False)
    return folder


def test_cli_trains_a_cnn_and_predict_rebuilds_it_from_the_checkpoint(small_csvs, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--arch", "cnn", "--data", str(small_csvs / "train.csv"), "--epochs", "1", "--dev-size", "100"]
    assert main([*argv, "--out", str(out), "--no-plots", "--quiet"]) == 0
    assert "dev accuracy" in capsys.readouterr().out
    metadata = load_checkpoint(out / "model.safetensors").metadata
    assert json.loads(metadata["architecture"])["layers"][0]["type"] == "Conv2d"
    assert json.loads(metadata["preprocessing"])["input_shape"] == [1, 28, 28]
    submission = tmp_path / "submission.csv"
    assert main(["predict", "--checkpoint", str(out / "model.safetensors"), "--test", str(small_csvs / "test.csv"),
                 "--out", str(submission), "--quiet"]) == 0  # fmt: skip
    table = pd.read_csv(submission)
    assert list(table.columns) == ["ImageId", "Label"] and len(table) == 50
    assert table["Label"].between(0, 9).all()


def test_the_cnn_benchmark_runs_in_smoke_mode(mnist_dir):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "cnn.py"
    result = subprocess.run(
        [sys.executable, str(script), "--smoke", "--no-torch", "--data", str(mnist_dir / "train.csv.gz")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    epoch_row = next(line for line in result.stdout.splitlines() if line.startswith("| 1 |"))
    accuracy, peak_mb = float(epoch_row.split("|")[2]), float(epoch_row.split("|")[-2])
    assert 0.1 < accuracy <= 1 and peak_mb > 0
    assert "| ConvMatmul.backward |" in result.stdout and "| MaxPool2d.backward |" in result.stdout
    assert "512 training rows, 256 dev rows" in result.stdout
