"""nn: modules register and name their parts like PyTorch, layers compute what PyTorch's do."""

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import notebook_reference as nb
from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.nn import functional
from tinygrad_mnist.testing import arrays, assert_gradients_match


def mlp(dims=(784, 785, 10), **kwargs) -> nn.Sequential:
    layers = []
    for fan_in, fan_out in itertools.pairwise(dims):
        layers += [nn.Linear(fan_in, fan_out, **kwargs), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class Residual(nn.Module):
    """A hand-written module: a block with a shared layer and a raw Parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.body = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        self.head = nn.Linear(3, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x) * self.scale + x)


# ----- registration and traversal -----------------------------------------------------


def test_named_parameters_use_pytorch_dotted_names_in_registration_order():
    names = [name for name, _ in mlp((4, 5, 6, 2)).named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert [name for name, _ in Residual().named_parameters()] == [
        "scale",
        "body.0.weight",
        "body.0.bias",
        "head.weight",
        "head.bias",
    ]


def test_named_modules_lists_the_root_first_as_empty_name_then_depth_first():
    model = Residual()
    assert [name for name, _ in model.named_modules()] == ["", "body", "body.0", "body.1", "head"]
    assert next(model.named_modules())[1] is model
    assert [name for name, _ in model.named_children()] == ["body", "head"]
    assert list(model.children()) == [model.body, model.head]


def test_a_shared_layer_is_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [name for name, _ in model.named_modules()] == ["", "0", "1"]
    assert len(list(model.parameters())) == 2


def test_reassigning_or_deleting_attributes_updates_the_registry():
    layer = nn.Linear(3, 2)
    layer.weight = nn.Parameter(np.zeros((2, 3), dtype=np.float32))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    model = Residual()
    del model.head
    assert [name for name, _ in model.named_children()] == ["body"]


def test_assigning_a_parameter_before_init_says_to_call_super_init():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.weight = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_parameter_data_is_the_array_itself_and_replaceable():
    layer = nn.Linear(3, 2)
    array = layer.weight.numpy()
    array[0, 0] = 7.0
    assert layer.state_dict()["weight"][0, 0] == 7.0
    layer.weight.data = np.ones((2, 3), dtype=np.float32)
    out = layer(Tensor(np.ones((1, 3), dtype=np.float32)))
    np.testing.assert_allclose(out.numpy(), 3.0 + layer.bias.numpy()[None, :])


def test_forward_hooks_see_inputs_and_output_and_can_be_removed():
    model = mlp((4, 3, 2))
    calls = []
    handle = model[0].register_forward_hook(lambda module, inputs, output: calls.append((module, inputs, output)))
    x = Tensor(np.ones((5, 4), dtype=np.float32))
    model(x)
    ((module, inputs, output),) = calls
    assert module is model[0] and inputs[0] is x and output.shape == (5, 3)
    handle.remove()
    model(x)
    assert len(calls) == 1


def test_a_hook_returning_a_value_replaces_the_output():
    layer = nn.Linear(2, 2)
    with layer.register_forward_hook(lambda module, inputs, output: output * 0.0):
        assert np.all(layer(Tensor(np.ones((1, 2), dtype=np.float32))).numpy() == 0)
    assert np.any(layer(Tensor(np.ones((1, 2), dtype=np.float32))).numpy() != 0)


def test_train_and_eval_reach_every_submodule():
    model = Residual()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_every_gradient():
    model = mlp((3, 4, 2))
    model(Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ----- dtype --------------------------------------------------------------------------


def test_parameters_are_float32_by_default_and_float64_on_request():
    assert {p.dtype for p in mlp().parameters()} == {np.dtype(np.float32)}
    assert {p.dtype for p in mlp((3, 4, 2), dtype=np.float64).parameters()} == {np.dtype(np.float64)}
    model = mlp((3, 4, 2))
    weights = [p.numpy().copy() for p in model.parameters()]
    assert model.to(np.float64) is model
    for param, weight in zip(model.parameters(), weights, strict=True):
        assert param.dtype == np.float64 and np.array_equal(param.numpy(), weight)
    with pytest.raises(TypeError, match="floating"):
        model.to(np.int32)


def test_float32_model_keeps_float32_through_forward_and_backward():
    model = mlp((6, 5, 3))
    loss = nn.CrossEntropyLoss()(model(Tensor(np.ones((4, 6), dtype=np.float32))), np.array([0, 1, 2, 0]))
    loss.backward()
    assert loss.dtype == np.float32
    assert {p.grad.dtype for p in model.parameters()} == {np.dtype(np.float32)}


def test_linear_refuses_an_input_of_another_dtype_or_width_with_a_clear_message():
    layer = nn.Linear(4, 2)
    with pytest.raises(TypeError, match=r"input is float64 but the weight is float32"):
        layer(Tensor(np.ones((3, 4))))
    with pytest.raises(ValueError, match=r"Linear\(4→2\): input has shape \(3, 5\), expected \(batch, 4\)"):
        layer(Tensor(np.ones((3, 5), dtype=np.float32)))


# ----- state_dict ---------------------------------------------------------------------


def test_state_dict_round_trips_into_a_fresh_model():
    source, target = mlp((5, 4, 3)), mlp((5, 4, 3))
    target.load_state_dict(source.state_dict())
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy()), name
        assert a.numpy() is not b.numpy()


def test_load_state_dict_names_every_missing_unexpected_and_misshaped_entry_and_changes_nothing():
    model = mlp((5, 4, 3))
    before = {name: array.copy() for name, array in model.state_dict().items()}
    state = dict(mlp((5, 4, 3)).state_dict())
    del state["2.bias"]
    state["0.weight"] = np.zeros((4, 6), dtype=np.float32)
    state["9.weight"] = np.zeros(1, dtype=np.float32)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing: 2.bias" in message and "unexpected: 9.weight" in message
    assert "shape mismatch for 0.weight: the state has (4, 6), the model (4, 5)" in message
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())


def test_load_state_dict_non_strict_reports_what_it_skipped():
    model = mlp((5, 4, 3))
    state = {"0.weight": np.ones((4, 5)), "extra": np.ones(2)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias"] and result.unexpected_keys == ["extra"]
    assert model[0].weight.dtype == np.float32 and np.all(model[0].weight.numpy() == 1)


# ----- description and configs --------------------------------------------------------


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Flatten(), nn.Linear(784, 785), nn.ReLU(), nn.Dropout(0.2), nn.Linear(785, 10))
    theirs = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 785),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(785, 10),
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))


def test_labels_are_short():
    assert nn.Linear(784, 10).label() == "Linear(784→10)"
    assert nn.ReLU().label() == "ReLU"
    assert nn.Dropout(0.25).label() == "Dropout(p=0.25)"


LAYERS = [
    nn.Linear(3, 4),
    nn.Linear(3, 4, bias=False),
    nn.ReLU(),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.Softmax(dim=1),
    nn.Dropout(0.3),
    nn.Flatten(1, 2),
    nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1))),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: type(layer).__name__)
def test_every_layer_config_is_json_and_rebuilds_the_same_architecture(layer):
    config = nn.module_to_config(layer)
    rebuilt = nn.module_from_config(json.loads(json.dumps(config)))
    assert repr(rebuilt) == repr(layer)
    assert nn.module_to_config(rebuilt) == config
    assert [(n, p.shape) for n, p in rebuilt.named_parameters()] == [(n, p.shape) for n, p in layer.named_parameters()]


def test_linear_config_is_the_documented_dict():
    config = nn.module_to_config(nn.Linear(784, 785))
    assert config == {"type": "Linear", "in_features": 784, "out_features": 785, "bias": True}


def test_registering_a_new_layer_type_makes_it_rebuildable():
    @nn.register_module
    class Scale(nn.Module):
        def __init__(self, factor: float) -> None:
            super().__init__()
            self.factor = factor

        def forward(self, x: Tensor) -> Tensor:
            return x * self.factor

        def get_config(self) -> dict:
            return {"factor": self.factor}

    rebuilt = nn.module_from_config(nn.module_to_config(nn.Sequential(Scale(2.5))))
    assert isinstance(rebuilt[0], Scale) and rebuilt[0].factor == 2.5


def test_unregistered_and_unknown_types_are_refused_by_name():
    with pytest.raises(TypeError, match="Residual is not a registered module type"):
        nn.module_to_config(Residual())
    with pytest.raises(ValueError, match="unknown module type 'Conv9d'"):
        nn.module_from_config({"type": "Conv9d"})
    with pytest.raises(ValueError, match="cannot build Linear"):
        nn.module_from_config({"type": "Linear", "in_features": 3})


# ----- Sequential ---------------------------------------------------------------------


def test_sequential_indexes_slices_iterates_and_appends():
    model = mlp((4, 5, 6, 2))
    assert len(model) == 5
    assert isinstance(model[-1], nn.Linear) and model[-1].out_features == 2
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    head = model[:2]
    assert len(head) == 2 and head[0] is model[0]
    x = Tensor(np.ones((3, 4), dtype=np.float32))
    np.testing.assert_array_equal(model[2:](head(x)).numpy(), model(x).numpy())
    with pytest.raises(IndexError, match="out of range for 5 layers"):
        model[5]
    assert len(model.append(nn.Softmax())) == 6


# ----- layers against PyTorch and against finite differences -------------------------


def test_mlp_forward_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(6, 5, dtype=np.float64), nn.Tanh(), nn.Linear(5, 4, dtype=np.float64))
    reference = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4)).double()
    reference.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 4, 7)
    loss = nn.CrossEntropyLoss()(model(Tensor(x)), y)
    loss.backward()
    expected = torch.nn.CrossEntropyLoss()(reference(torch.from_numpy(x)), torch.from_numpy(y))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


@given(arrays(st.tuples(st.integers(1, 4), st.just(3))), st.booleans())
def test_linear_gradients_match_finite_differences(x, bias):
    layer = nn.Linear(3, 2, bias=bias, dtype=np.float64, generator=0)
    params = [layer.weight.numpy(), layer.bias.numpy()] if bias else [layer.weight.numpy()]
    assert_gradients_match(lambda x, w, *b: functional.linear(x, w, *b), x, *params)


@given(arrays(st.tuples(st.integers(1, 4), st.integers(2, 5))))
def test_activation_modules_equal_their_functions(x):
    t = Tensor(x)
    np.testing.assert_array_equal(nn.ReLU()(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(nn.Sigmoid()(t).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.Tanh()(t).numpy(), np.tanh(x), rtol=1e-12)
    probabilities = nn.Softmax(dim=1)(t).numpy()
    np.testing.assert_allclose(probabilities, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(functional.log_softmax(t, 1).numpy(), np.log(probabilities), rtol=1e-9, atol=1e-12)


def test_flatten_merges_the_chosen_axes():
    x = Tensor(np.zeros((2, 1, 28, 28), dtype=np.float32))
    assert nn.Flatten()(x).shape == (2, 784)
    assert nn.Flatten(0, 1)(x).shape == (2, 28, 28)
    assert nn.Flatten(2)(x).shape == (2, 1, 784)
    with pytest.raises(ValueError, match="comes after"):
        nn.Flatten(2, 1)(x)


# ----- Dropout ------------------------------------------------------------------------


def test_dropout_is_identity_in_eval_mode_and_keeps_the_mean_in_training():
    layer = nn.Dropout(0.25, generator=0)
    x = Tensor(np.ones((200, 500)))
    out = layer(x).numpy()
    kept = out != 0
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    assert abs(kept.mean() - 0.75) < 0.01
    layer.eval()
    assert layer(x) is x


def test_dropout_backward_masks_the_gradient_like_the_forward():
    x = Tensor(np.ones((4, 6)), requires_grad=True)
    out = nn.Dropout(0.5, generator=1)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())


def test_dropout_masks_are_reproducible_from_a_seed_and_differ_between_layers():
    nn.init.manual_seed(5)
    first = [nn.Dropout(0.5), nn.Dropout(0.5)]
    nn.init.manual_seed(5)
    again = [nn.Dropout(0.5), nn.Dropout(0.5)]
    x = Tensor(np.ones((8, 8)))
    masks = [layer(x).numpy() for layer in first]
    assert np.array_equal(masks[0], again[0](x).numpy()) and np.array_equal(masks[1], again[1](x).numpy())
    assert not np.array_equal(masks[0], masks[1])


def test_dropout_edge_probabilities():
    x = Tensor(np.ones((3, 3)))
    assert np.all(nn.Dropout(1.0)(x).numpy() == 0)
    assert nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match=r"\[0, 1\], got 1.5"):
        nn.Dropout(1.5)


# ----- init ---------------------------------------------------------------------------


def test_notebook_init_reproduces_initialize_parameters_deep_bit_for_bit():
    dims = [784, 4, 3, 2, 10]
    model = mlp(dims).to(np.float64)
    state = np.random.get_state()
    nn.init.notebook_(model)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # global RNG untouched
    expected = nb.initialize_parameters_deep(dims)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for layer, module in enumerate(linears, start=1):
        assert np.array_equal(module.weight.numpy(), expected[f"W{layer}"])
        assert np.array_equal(module.bias.numpy(), expected[f"b{layer}"][:, 0])


def test_same_seed_same_weights_bitwise_and_different_seed_different_weights():
    def build(seed):
        nn.init.manual_seed(seed)
        return np.concatenate([p.numpy().ravel() for p in mlp((20, 30, 10)).parameters()])

    assert np.array_equal(build(3), build(3))
    assert not np.array_equal(build(3), build(4))
    assert np.array_equal(nn.Linear(5, 4, generator=9).weight.numpy(), nn.Linear(5, 4, generator=9).weight.numpy())


def test_linear_default_init_is_pytorchs_bound():
    layer = nn.Linear(400, 300, generator=0)
    bound = 1 / math.sqrt(400)
    for param in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(param).max() <= bound
        assert np.abs(param).max() > 0.95 * bound
    assert abs(layer.weight.numpy().std() - bound / math.sqrt(3)) < 0.02 * bound


@settings(max_examples=10)
@given(st.integers(100, 400), st.integers(100, 400), st.integers(0, 2**31))
def test_he_and_xavier_have_their_documented_spread(fan_in, fan_out, seed):
    weight = Tensor(np.empty((fan_out, fan_in)))
    spreads = {
        "kaiming_normal": (nn.init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / fan_in)),
        "kaiming_uniform": (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / fan_in)),
        "xavier_normal": (nn.init.xavier_normal_, {}, math.sqrt(2 / (fan_in + fan_out))),
        "xavier_uniform": (nn.init.xavier_uniform_, {}, math.sqrt(2 / (fan_in + fan_out))),
    }
    for name, (initialise, options, std) in spreads.items():
        initialise(weight, generator=seed, **options)
        # the sample std of n >= 10,000 draws is off by 0.7% (one sd): 5% is 7 sd
        assert abs(weight.numpy().std() / std - 1) < 0.05, name


def test_init_functions_keep_the_tensor_dtype():
    weight = Tensor(np.empty((30, 20), dtype=np.float32))
    nn.init.kaiming_normal_(weight, generator=0)
    assert weight.dtype == np.float32
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(Tensor(np.empty(5)))
