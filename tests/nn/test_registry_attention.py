"""nn.registry knows MultiheadAttention and the Transformer layers: models with them round-trip
through cr.save / cr.load with every constructor option, and bad configs are refused clearly."""

import copy
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.registry import module_from_config, module_to_config

ATTENTIONS = [
    lambda: nn.MultiheadAttention(8, 2),
    lambda: nn.MultiheadAttention(8, 4, dropout=0.25, bias=False, batch_first=True),
    lambda: nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True),
    lambda: nn.MultiheadAttention(6, 3, add_bias_kv=True, dtype="float64"),
]
_SMALL = dict(dim_feedforward=16)
ENCODER_LAYERS = [
    lambda: nn.TransformerEncoderLayer(8, 2, **_SMALL),
    lambda: nn.TransformerEncoderLayer(
        8,
        4,
        dim_feedforward=12,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=1e-3,
        batch_first=True,
        norm_first=True,
        bias=False,
    ),  # fmt: skip
    lambda: nn.TransformerEncoderLayer(8, 2, activation=cr.nn.functional.gelu, **_SMALL),
]
DECODER_LAYERS = [
    lambda: nn.TransformerDecoderLayer(8, 2, **_SMALL),
    lambda: nn.TransformerDecoderLayer(
        8,
        2,
        activation="gelu",
        batch_first=True,
        norm_first=True,
        bias=False,
        dtype="float64",
        **_SMALL,
    ),  # fmt: skip
]


def _round_trip(model, tmp_path):
    path = tmp_path / "model.safetensors"
    cr.save(model, path)
    loaded = cr.load(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    assert module_to_config(loaded) == module_to_config(model)
    model.eval(), loaded.eval()
    return loaded


def _dtype(model):
    return next(model.parameters()).dtype


@pytest.mark.parametrize("make", ATTENTIONS)
def test_multihead_attention_round_trips_with_every_option(tmp_path, make):
    cr.manual_seed(0)
    attention = make()
    loaded = _round_trip(attention, tmp_path)
    for name in ("kdim", "vdim", "batch_first", "dropout", "add_zero_attn", "num_heads"):
        assert getattr(loaded, name) == getattr(attention, name)
    dtype = _dtype(attention)
    q = cr.randn(5, 3, 8 if attention.embed_dim == 8 else 6, dtype=dtype)
    k, v = cr.randn(4, 3, attention.kdim, dtype=dtype), cr.randn(4, 3, attention.vdim, dtype=dtype)
    if attention.batch_first:
        q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
    for ours, theirs in zip(attention(q, k, v), loaded(q, k, v), strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parametrize("make", ENCODER_LAYERS)
def test_encoder_layers_and_stacks_round_trip_with_every_option(tmp_path, make):
    cr.manual_seed(1)
    layer = make()
    x = cr.randn(3, 5, 8)
    for model in (layer, nn.TransformerEncoder(layer, 3, nn.LayerNorm(8, eps=1e-4))):
        loaded = _round_trip(model, tmp_path)
        np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    stack = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False, mask_check=False)
    loaded = _round_trip(stack, tmp_path)
    assert loaded.norm is None and loaded.mask_check is False
    assert loaded.enable_nested_tensor is False


@pytest.mark.parametrize("make", DECODER_LAYERS)
def test_decoder_layers_and_stacks_round_trip_with_every_option(tmp_path, make):
    cr.manual_seed(2)
    layer = make()
    tgt, memory = cr.randn(4, 3, 8, dtype=_dtype(layer)), cr.randn(6, 3, 8, dtype=_dtype(layer))
    if layer.self_attn.batch_first:
        tgt, memory = tgt.swapaxes(0, 1), memory.swapaxes(0, 1)
    for model in (layer, nn.TransformerDecoder(layer, 2, nn.LayerNorm(8, dtype=_dtype(layer)))):
        loaded = _round_trip(model, tmp_path)
        want, got = model(tgt, memory), loaded(tgt, memory)
        np.testing.assert_array_equal(np.asarray(want), np.asarray(got))


def test_a_transformer_inside_sequential_and_module_list_round_trips(tmp_path):
    cr.manual_seed(3)
    transformer = nn.Transformer(
        d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16,
        activation="gelu", batch_first=True, norm_first=True,
    )  # fmt: skip
    model = nn.Sequential(nn.ModuleList([nn.Linear(4, 8), transformer]), nn.Linear(8, 2))
    loaded = _round_trip(model, tmp_path)
    src, tgt = cr.randn(3, 6, 4), cr.randn(3, 5, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5)

    def run(m):
        return m[1](m[0][1](m[0][0](src), tgt, tgt_mask=mask))

    np.testing.assert_array_equal(np.asarray(run(model)), np.asarray(run(loaded)))


def test_a_norm_shared_with_another_layer_stays_shared(tmp_path):
    cr.manual_seed(4)
    norm = nn.LayerNorm(8)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **_SMALL), 1, norm)
    loaded = _round_trip(nn.Sequential(norm, encoder), tmp_path)
    assert loaded[1].norm is loaded[0]


def test_the_loaded_transformer_matches_torch_with_the_same_weights(tmp_path):
    torch = pytest.importorskip("torch")
    cr.manual_seed(5)
    options = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                   dim_feedforward=16, dropout=0.0, batch_first=True)  # fmt: skip
    loaded = _round_trip(nn.Transformer(**options), tmp_path)
    reference = torch.nn.Transformer(**options).eval()
    reference.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in loaded.state_dict().items()}
    )
    rng = np.random.default_rng(0)
    src, tgt = (rng.standard_normal(s).astype(np.float32) for s in ((2, 6, 8), (2, 4, 8)))
    want = reference(torch.from_numpy(src), torch.from_numpy(tgt)).detach().numpy()
    np.testing.assert_allclose(np.asarray(loaded(cr.tensor(src), cr.tensor(tgt))), want, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    ATTENTIONS
    + ENCODER_LAYERS
    + DECODER_LAYERS
    + [
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **_SMALL), 3),
        lambda: nn.Transformer(8, 2, 2, 1, 16, bias=False),
    ],
)
def test_the_parameter_count_checked_before_building_is_the_real_one(make):
    layer = make()
    config = module_to_config(nn.Sequential(layer))
    real = sum(p.numel() for p in layer.parameters())
    module_from_config(config, max_parameters=real)
    with pytest.raises(cr.ModelFormatError, match="parameters, more than the limit"):
        module_from_config(config, max_parameters=real - 1)


# --- models the file cannot describe are refused when saving, with the reason ---------------


def _layer():
    return nn.TransformerEncoderLayer(8, 2, **_SMALL)


def _with(layer, **changes):
    for name, value in changes.items():
        setattr(layer, name, value)
    return layer


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.TransformerEncoderLayer(8, 2, activation=np.tanh), "activation .* not 'relu'"),
        (lambda: nn.TransformerEncoderLayer(8, 2, activation=nn.GELU()), "not 'relu' or 'gelu'"),
        (lambda: _with(_layer(), norm2=nn.LayerNorm(8, eps=0.1)), "its norm2 is not what"),
        (lambda: _with(_layer(), dropout1=nn.Dropout(0.5)), "its dropout1 is not what"),
        (lambda: _with(_layer(), linear2=nn.Linear(16, 8, bias=False)), "its linear2 is not"),
        (lambda: _with(_layer(), extra=nn.ReLU()), "it holds modules"),
        (
            lambda: _with(nn.MultiheadAttention(8, 2), out_proj=nn.Linear(8, 8)),
            "its out_proj is not what",
        ),
        (lambda: _with(nn.TransformerEncoder(_layer(), 2), norm=nn.ReLU()), None),
        (
            lambda: nn.TransformerEncoder(nn.TransformerDecoderLayer(8, 2, **_SMALL), 1),
            "layers must all be TransformerEncoderLayer",
        ),
    ],
)
def test_layers_changed_after_construction_are_refused_when_saving(tmp_path, make, match):
    model = make()
    if match is None:  # a different (registry) norm is fine: the file names it
        _round_trip(model, tmp_path)
        return
    with pytest.raises(cr.ModelFormatError, match=match):
        cr.save(model, tmp_path / "m.safetensors")


def test_stack_layers_that_differ_are_refused_when_saving(tmp_path):
    encoder = nn.TransformerEncoder(_layer(), 2)
    encoder.layers[1].norm_first = True
    with pytest.raises(cr.ModelFormatError, match="its layers differ"):
        cr.save(encoder, tmp_path / "m.safetensors")


def test_sharing_a_part_of_a_rebuilt_layer_is_refused_when_saving(tmp_path):
    encoder = nn.TransformerEncoder(_layer(), 2)
    for model in (
        nn.Sequential(encoder, encoder.layers[0].linear1),
        nn.Sequential(encoder.layers[1].self_attn, encoder),
    ):
        with pytest.raises(cr.ModelFormatError, match="sharing cannot be written|also used at"):
            cr.save(model, tmp_path / "m.safetensors")
    encoder.layers[1] = encoder.layers[0]
    with pytest.raises(cr.ModelFormatError, match="sharing cannot be written"):
        cr.save(encoder, tmp_path / "m.safetensors")


# --- configs from a file are checked before anything is built --------------------------------


def _encoder_config(**layer_args) -> dict:
    config = module_to_config(nn.TransformerEncoder(_layer(), 2, nn.LayerNorm(8)))
    config["args"]["encoder_layer"]["args"] |= layer_args
    return json.loads(json.dumps(config))


def _edit(config: dict, **args) -> dict:
    config = copy.deepcopy(config)
    config["args"] |= args
    return config


@pytest.mark.parametrize(
    "config, match",
    [
        (_encoder_config(activation="tanh"), r"activation: expected one of \['relu', 'gelu'\]"),
        (_encoder_config(nhead=3), "embed_dim must be divisible by num_heads"),
        (_encoder_config(nhead=0), "nhead: expected an integer >= 1"),
        (_encoder_config(layer_norm_eps=0), "layer_norm_eps: expected a positive number"),
        (_encoder_config(dropout=2), r"dropout: expected a number in \[0, 1\]"),
        (_encoder_config(norm_first="yes"), "norm_first: expected true or false"),
        (_encoder_config(kdim=4), r"unknown arguments \['kdim'\]"),
        (_edit(_encoder_config(), encoder_layer=None), "a layer config is required"),
        (_edit(_encoder_config(), num_layers=0), "expected null: num_layers is 0"),
        (
            _edit(_encoder_config(), encoder_layer={"type": "Linear", "args": {}}),
            "expected a TransformerEncoderLayer, got 'Linear'",
        ),
        (_edit(_encoder_config(), norm={"type": "Os"}), "unknown layer type 'Os'"),
        (
            _edit(_encoder_config(), encoder_layer={"type": "Shared", "path": "norm"}),
            "expected a TransformerEncoderLayer, got 'Shared'",
        ),
        (
            {"type": "MultiheadAttention", "args": {"embed_dim": 8, "num_heads": 2, "kdim": 0}},
            "kdim: expected an integer >= 1",
        ),
        (
            {
                "type": "MultiheadAttention",
                "args": {"embed_dim": 8, "num_heads": 2, "add_zero_attn": 1},
            },
            "add_zero_attn: expected true or false",
        ),
        (
            {"type": "MultiheadAttention", "args": {"embed_dim": 8}},
            r"missing required arguments \['num_heads'\]",
        ),
        (
            {"type": "Transformer", "args": {"d_model": 8, "nhead": 2, "custom_encoder": None}},
            r"missing required arguments \['custom_decoder'\]",
        ),
    ],
)
def test_bad_attention_configs_are_refused_clearly(config, match):
    with pytest.raises(cr.ModelFormatError, match=match):
        module_from_config(config)


def test_a_stack_of_zero_layers_round_trips(tmp_path):
    stack = nn.TransformerEncoder(_layer(), 0, nn.LayerNorm(8))
    loaded = _round_trip(stack, tmp_path)
    x = cr.randn(2, 3, 8)
    np.testing.assert_array_equal(np.asarray(stack(x)), np.asarray(loaded(x)))


@pytest.mark.parametrize(
    "config",
    [
        _encoder_config(d_model=10**5, dim_feedforward=10**5, nhead=1),
        _edit(_encoder_config(), num_layers=10**8),
        {"type": "MultiheadAttention", "args": {"embed_dim": 10**6, "num_heads": 1}},
    ],
)
def test_huge_attention_configs_are_refused_before_anything_is_built(config):
    with pytest.raises(cr.ModelFormatError, match="more than the limit|more than 100,000 modules"):
        module_from_config(config)


def test_the_cli_reads_a_saved_transformer_model(tmp_path):
    from tests.cli.cli_helpers import run_cli

    path = tmp_path / "encoder.safetensors"
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    cr.save(nn.Sequential(nn.Linear(3, 8), nn.TransformerEncoder(layer, 2)), path)
    info = run_cli("info", path)
    assert info.returncode == 0, info.stderr
    assert "TransformerEncoder" in info.stdout
