"""nn.registry: architectures round-trip through JSON; hostile configs are refused."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.registry import module_from_config, module_to_config


def _every_layer():
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.BatchNorm1d(8, momentum=None),
        nn.ReLU(),
        nn.LeakyReLU(0.2),
        nn.ELU(0.5),
        nn.GELU("tanh"),
        nn.Softplus(2.0, 10.0),
        nn.SiLU(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.LogSigmoid(),
        nn.Dropout(0.3),
        nn.LayerNorm(8, eps=1e-3),
        nn.Identity(),
        nn.Sequential(nn.Linear(8, 3, bias=False), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1)),
        nn.ModuleList([nn.Embedding(10, 3, padding_idx=2), nn.Flatten(0, -1)]),
    )


def test_round_trip_through_json_rebuilds_the_same_architecture():
    model = _every_layer()
    config = json.loads(json.dumps(module_to_config(model)))
    rebuilt = module_from_config(config)
    assert repr(rebuilt) == repr(model)
    state = model.state_dict()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in state.items()
    }
    rebuilt.load_state_dict(state)
    model.eval(), rebuilt.eval()
    x = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(rebuilt[:15](x).data, model[:15](x).data)


def test_dtype_and_custom_names_survive():
    from collections import OrderedDict

    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.Tanh())])).double()
    config = module_to_config(model)
    assert config["names"] == ["hidden", "act"]
    assert config["children"][0]["args"]["dtype"] == "float64"
    rebuilt = module_from_config(config)
    assert list(rebuilt.state_dict()) == ["hidden.weight", "hidden.bias"]
    assert rebuilt.hidden.weight.dtype == np.float64
    tail = module_to_config(nn.Sequential(nn.Linear(1, 1), nn.Tanh())[1:])
    assert tail["names"] == ["1"]
    odd = nn.Sequential(OrderedDict([("layer-1", nn.Tanh())]))
    with pytest.raises(cr.ModelFormatError, match="cannot save child names"):
        module_to_config(odd)


def test_custom_modules_are_not_serialisable():
    class Mine(nn.Module):
        def forward(self, x):
            return x

    class SneakyLinear(nn.Linear):
        pass

    for model in (Mine(), nn.Sequential(nn.Linear(1, 1), Mine()), SneakyLinear(1, 1)):
        with pytest.raises(cr.ModelFormatError, match=r"state_dict\(\)"):
            module_to_config(model)


def _nested(depth):
    config = {"type": "Linear", "args": {"in_features": 1, "out_features": 1}}
    for _ in range(depth):
        config = {"type": "Sequential", "children": [config]}
    return config


LIN = {"type": "Linear", "args": {"in_features": 2, "out_features": 2}}
HOSTILE = [
    ("unknown type", {"type": "Conv9d"}, "unknown layer type 'Conv9d'"),
    ("import", {"type": "__import__", "args": {"name": "os"}}, "unknown layer type '__import__'"),
    ("dunder class", {"type": "__class__"}, "unknown layer type"),
    ("base class", {"type": "Module"}, "unknown layer type 'Module'"),
    ("not a dict", ["Linear"], "expected an object"),
    ("type not str", {"type": ["Linear"]}, "'type' must be a layer name"),
    (
        "negative size",
        {"type": "Linear", "args": {"in_features": -3, "out_features": 2}},
        "in_features",
    ),
    ("float size", {"type": "Linear", "args": {"in_features": 2.5, "out_features": 2}}, "integer"),
    ("bool size", {"type": "Linear", "args": {"in_features": True, "out_features": 2}}, "integer"),
    (
        "huge size",
        {"type": "Linear", "args": {"in_features": 10**9, "out_features": 2}},
        "in_features",
    ),
    (
        "giant int",
        {"type": "Embedding", "args": {"num_embeddings": 10**5000, "embedding_dim": 2}},
        "too large",
    ),
    (
        "huge total",
        {"type": "Linear", "args": {"in_features": 10**8, "out_features": 10**8}},
        "parameters",
    ),
    (
        "unknown arg",
        {"type": "Linear", "args": {"in_features": 2, "out_features": 2, "init": "x"}},
        "unknown arguments",
    ),
    ("missing arg", {"type": "Linear", "args": {"in_features": 2}}, "missing required"),
    ("unknown key", {**LIN, "code": "print(1)"}, "unknown keys"),
    ("args not dict", {"type": "Linear", "args": [2, 2]}, "'args' must be an object"),
    ("nan", {"type": "LeakyReLU", "args": {"negative_slope": float("nan")}}, "finite"),
    ("inf", {"type": "Softplus", "args": {"beta": float("inf")}}, "finite"),
    ("bad p", {"type": "Dropout", "args": {"p": 2.0}}, r"\[0, 1\]"),
    ("bad eps", {"type": "LayerNorm", "args": {"normalized_shape": [3], "eps": -1.0}}, "positive"),
    ("bad shape", {"type": "LayerNorm", "args": {"normalized_shape": 3}}, "list"),
    (
        "bad dtype",
        {"type": "Linear", "args": {"in_features": 1, "out_features": 1, "dtype": "object"}},
        "float32",
    ),
    ("bad choice", {"type": "GELU", "args": {"approximate": "exact"}}, "one of"),
    (
        "children not list",
        {"type": "Sequential", "children": {"0": LIN}},
        "'children' must be a list",
    ),
    ("bad names", {"type": "Sequential", "children": [LIN], "names": ["a.b"]}, "'names'"),
    ("dup names", {"type": "Sequential", "children": [LIN, LIN], "names": ["a", "a"]}, "'names'"),
    ("too deep", _nested(100), "nested more than 64"),
    (
        "bad padding",
        {"type": "Embedding", "args": {"num_embeddings": 3, "embedding_dim": 2, "padding_idx": 7}},
        "padding_idx",
    ),
]


@pytest.mark.parametrize("config, message", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_configs_are_refused_with_a_model_format_error(config, message):
    with pytest.raises(cr.ModelFormatError, match=message):
        module_from_config(config)


def test_max_parameters_limits_what_a_file_may_build():
    config = {"type": "Linear", "args": {"in_features": 100, "out_features": 100}}
    assert module_from_config(config, max_parameters=10_100).weight.shape == (100, 100)
    with pytest.raises(cr.ModelFormatError, match="10,100 parameters"):
        module_from_config(config, max_parameters=10_000)
    assert isinstance(module_from_config(_nested(63)), nn.Sequential)


def test_a_shared_layer_is_saved_once_and_loads_shared(tmp_path):
    shared = nn.Linear(2, 2)
    inner = nn.Sequential(nn.Tanh(), shared)
    model = nn.Sequential(shared, inner, nn.ModuleList([inner, shared]))
    config = json.loads(json.dumps(module_to_config(model)))
    assert config["children"][1]["children"][1] == {"type": "Shared", "path": "0"}
    assert config["children"][2]["children"] == [
        {"type": "Shared", "path": "1"},
        {"type": "Shared", "path": "0"},
    ]
    rebuilt = module_from_config(config)
    assert rebuilt[0] is rebuilt[1][1] is rebuilt[2][1] and rebuilt[2][0] is rebuilt[1]
    # through a file: same outputs, one set of weights that training moves everywhere at once
    cr.save(model, tmp_path / "shared.safetensors")
    loaded = cr.load(tmp_path / "shared.safetensors")
    assert loaded[0] is loaded[1][1] and len(list(loaded.parameters())) == 2
    x = cr.tensor(np.array([[0.5, -1.0]], dtype=np.float32))
    np.testing.assert_array_equal(
        loaded[1](loaded[0](x)).detach().numpy(), inner(shared(x)).detach().numpy()
    )


@pytest.mark.parametrize(
    "children",
    [
        [{"type": "Shared", "path": "1"}, {"type": "Tanh"}],  # refers forward
        [{"type": "Sequential", "children": [{"type": "Shared", "path": "0"}]}],  # to its parent
        [{"type": "Shared", "path": ""}],  # to the root
        [{"type": "Tanh"}, {"type": "Shared", "path": "0", "args": {}}],  # extra key
        [{"type": "Tanh"}, {"type": "Shared", "path": 0}],  # not a string
    ],
)
def test_shared_references_must_point_back_to_a_complete_layer(children):
    with pytest.raises(cr.errors.ModelFormatError, match="shared layer"):
        module_from_config({"type": "Sequential", "children": children})


@pytest.mark.parametrize("norm_type", [1.0, float("inf"), 3])
def test_embedding_options_survive_a_saved_file(tmp_path, norm_type):
    model = nn.Sequential(
        nn.Embedding(
            6, 3, padding_idx=1, max_norm=0.5, norm_type=norm_type, scale_grad_by_freq=True
        )
    )
    cr.save(model, tmp_path / "model.safetensors")
    loaded = cr.load(tmp_path / "model.safetensors")
    assert repr(loaded) == repr(model)
    layer = loaded[0]
    assert (layer.max_norm, layer.norm_type, layer.scale_grad_by_freq) == (0.5, norm_type, True)


def test_an_embedding_norm_type_must_be_a_number_or_infinity():
    config = {
        "type": "Embedding",
        "args": {"num_embeddings": 2, "embedding_dim": 2, "norm_type": "two"},
    }
    with pytest.raises(cr.ModelFormatError, match="finite number"):
        module_from_config(config)


@pytest.mark.parametrize(
    "layer",
    [nn.LayerNorm(8, bias=False), nn.LayerNorm(8, elementwise_affine=False), nn.LayerNorm([2, 3])],
)
def test_a_saved_layer_norm_loads_whatever_its_affine_options(tmp_path, layer):
    # the count checked before building once assumed weight and bias, refusing these files
    cr.save(nn.Sequential(nn.Linear(2, 8), layer), tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(nn.Sequential(nn.Linear(2, 8), layer))
