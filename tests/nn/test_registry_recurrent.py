"""nn.registry knows the recurrent layers: a model with RNN/LSTM/GRU or their cells round-trips
through cr.save / cr.load with every constructor option, and bad configs are refused clearly."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.registry import module_from_config, module_to_config

SEQUENCE_LAYERS = [
    lambda: nn.RNN(3, 5),
    lambda: nn.RNN(3, 5, num_layers=2, nonlinearity="relu", bias=False, batch_first=True),
    lambda: nn.RNN(3, 4, num_layers=3, dropout=0.25, bidirectional=True),
    lambda: nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True, proj_size=2),
    lambda: nn.LSTM(3, 5, bias=False, dtype="float64"),
    lambda: nn.GRU(3, 6, num_layers=2, dropout=0.5, bidirectional=True),
    lambda: nn.GRU(3, 6, batch_first=True),
]
CELLS = [
    lambda: nn.RNNCell(3, 5, nonlinearity="relu"),
    lambda: nn.RNNCell(3, 5, bias=False),
    lambda: nn.LSTMCell(3, 5),
    lambda: nn.GRUCell(3, 5, dtype="float64"),
]


def _outputs(value) -> list:
    """A layer's output (a tensor, or nested tuples of them) as a flat list of arrays."""
    if isinstance(value, tuple):
        return [a for item in value for a in _outputs(item)]
    return [np.asarray(value)]


def _same_architecture_and_outputs(model, loaded, x):
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    assert module_to_config(loaded) == module_to_config(model)
    model.eval(), loaded.eval()
    for ours, theirs in zip(_outputs(model(x)), _outputs(loaded(x)), strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("make", SEQUENCE_LAYERS)
def test_sequence_layers_round_trip_through_save_and_load(tmp_path, make):
    cr.manual_seed(0)
    layer = make()
    path = tmp_path / "rnn.safetensors"
    cr.save(layer, path)
    loaded = cr.load(path)
    for name in ("num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"):
        assert getattr(loaded, name) == getattr(layer, name)
    assert getattr(loaded, "nonlinearity", None) == getattr(layer, "nonlinearity", None)
    dtype = next(layer.parameters()).dtype
    x = cr.randn(4, 2, 3, dtype=dtype)
    _same_architecture_and_outputs(layer, loaded, x)


@pytest.mark.parametrize("make", CELLS)
def test_cells_round_trip_through_save_and_load(tmp_path, make):
    cr.manual_seed(1)
    cell = make()
    cr.save(cell, tmp_path / "cell.safetensors")
    loaded = cr.load(tmp_path / "cell.safetensors")
    x = cr.randn(2, 3, dtype=next(cell.parameters()).dtype)
    _same_architecture_and_outputs(cell, loaded, x)


def test_a_model_with_an_lstm_and_a_linear_head_round_trips(tmp_path):
    cr.manual_seed(2)
    model = nn.Sequential(
        nn.Linear(4, 3),
        nn.Tanh(),
        nn.ModuleList([nn.LSTM(3, 6, batch_first=True), nn.GRUCell(6, 2)]),
    )
    cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    x = cr.randn(2, 5, 4)
    seq_a, (h_a, _) = model[2][0](model[1](model[0](x)))
    seq_b, (h_b, _) = loaded[2][0](loaded[1](loaded[0](x)))
    np.testing.assert_array_equal(np.asarray(seq_a), np.asarray(seq_b))
    np.testing.assert_array_equal(np.asarray(model[2][1](h_a[0])), np.asarray(loaded[2][1](h_b[0])))


def test_the_loaded_lstm_matches_torch_with_the_same_weights(tmp_path):
    torch = pytest.importorskip("torch")
    cr.manual_seed(3)
    layer = nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True, proj_size=2)
    cr.save(layer, tmp_path / "lstm.safetensors")
    loaded = cr.load(tmp_path / "lstm.safetensors")
    reference = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True, proj_size=2)
    reference.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in loaded.state_dict().items()}
    )
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    out, (h, c) = loaded(cr.tensor(x))
    want, (want_h, want_c) = reference(torch.from_numpy(x))
    for ours, theirs in ((out, want), (h, want_h), (c, want_c)):
        np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), atol=1e-5)


def _config(kind: str, **args) -> dict:
    base = {"input_size": 3, "hidden_size": 5}
    return {"type": kind, "args": base | args}


@pytest.mark.parametrize(
    "config, match",
    [
        (
            _config("RNN", nonlinearity="sigmoid"),
            r"nonlinearity: expected one of \['tanh', 'relu'\]",
        ),
        (_config("RNNCell", nonlinearity="gelu"), "nonlinearity: expected one of"),
        (_config("LSTM", dropout=1.5), r"dropout: expected a number in \[0, 1\]"),
        (_config("GRU", num_layers=0), "num_layers: expected an integer >= 1"),
        (_config("GRU", num_layers=2.0), "num_layers: expected an integer"),
        (_config("LSTM", bidirectional="yes"), "bidirectional: expected true or false"),
        (_config("RNN", batch_first=1), "batch_first: expected true or false"),
        (_config("LSTM", proj_size=5), "proj_size has to be smaller than hidden_size"),
        (_config("LSTM", proj_size=-1), "proj_size: expected an integer in"),
        (_config("GRU", proj_size=2), "unknown arguments \\['proj_size'\\]; GRU takes"),
        (_config("LSTM", nonlinearity="relu"), "unknown arguments \\['nonlinearity'\\]"),
        (_config("LSTMCell", num_layers=2), "unknown arguments \\['num_layers'\\]"),
        (_config("GRU", dtype="float16"), "dtype: expected one of"),
        (
            {"type": "LSTM", "args": {"input_size": 3}},
            r"missing required arguments \['hidden_size'\]",
        ),
        (_config("RNN", hidden_size=0), "hidden_size: expected an integer >= 1"),
    ],
)
def test_bad_recurrent_configs_are_refused_clearly(config, match):
    with pytest.raises(cr.ModelFormatError, match=match):
        module_from_config(json.loads(json.dumps(config)))


def test_a_huge_recurrent_layer_is_refused_before_it_is_built():
    config = _config("LSTM", input_size=10**6, hidden_size=10**6, num_layers=10**6)
    with pytest.raises(cr.ModelFormatError, match="parameters, more than the limit"):
        module_from_config(config)


@pytest.mark.parametrize("make", SEQUENCE_LAYERS + CELLS)
def test_the_parameter_count_checked_before_building_is_the_real_one(make):
    layer = make()
    config = module_to_config(nn.Sequential(layer))
    real = sum(p.numel() for p in layer.parameters())
    module_from_config(config, max_parameters=real)
    with pytest.raises(cr.ModelFormatError, match="parameters, more than the limit"):
        module_from_config(config, max_parameters=real - 1)


def test_the_cli_reads_a_saved_recurrent_model(tmp_path):
    from tests.cli.cli_helpers import run_cli

    path = tmp_path / "seq.safetensors"
    cr.save(nn.Sequential(nn.LSTM(3, 4, batch_first=True, bidirectional=True)), path)
    info = run_cli("info", path)
    assert info.returncode == 0, info.stderr
    assert "LSTM(3, 4, batch_first=True, bidirectional=True)" in info.stdout
