"""cr.onnx.export of nn.RNN, nn.LSTM and nn.GRU as ONNX's RNN/LSTM/GRU nodes, run by ONNX Runtime
against chainrule's eager outputs (float32), and the settings it refuses."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

CASES = [
    ("rnn-tanh", lambda: nn.RNN(3, 4)),
    ("rnn-relu-2-layers-bi-batch-first", lambda: nn.RNN(3, 4, 2, "relu", batch_first=True,
                                                        bidirectional=True)),
    ("rnn-no-bias", lambda: nn.RNN(3, 4, bias=False)),
    ("lstm", lambda: nn.LSTM(3, 5)),
    ("lstm-3-layers-bi", lambda: nn.LSTM(3, 5, num_layers=3, bidirectional=True)),
    ("lstm-batch-first-no-bias", lambda: nn.LSTM(3, 5, batch_first=True, bias=False)),
    ("lstm-dropout", lambda: nn.LSTM(3, 5, num_layers=2, dropout=0.5, batch_first=True)),
    ("gru", lambda: nn.GRU(3, 6)),
    ("gru-2-layers-bi-batch-first", lambda: nn.GRU(3, 6, 2, batch_first=True, bidirectional=True)),
]  # fmt: skip


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _flat(value) -> list:
    if isinstance(value, tuple):
        return [a for part in value for a in _flat(part)]
    return [np.asarray(value)]


def _assert_matches(model, session, x):
    model.eval()
    want = _flat(model(x))
    got = session.run(None, {"input": x})
    assert [g.shape for g in got] == [w.shape for w in want]
    for ours, theirs in zip(want, got, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_recurrent_layer_matches_onnxruntime(case, opset):
    cr.manual_seed(0)
    layer = case[1]()
    rng = np.random.default_rng(opset)
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    proto = cr.onnx.export(layer, None, x, opset=opset)
    assert layer.training  # the mode is put back
    outputs = [o.name for o in proto.graph.output]
    assert outputs == (
        ["output", "h_n", "c_n"] if isinstance(layer, nn.LSTM) else ["output", "h_n"]
    )
    op = {"RNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[type(layer).__name__]
    assert sum(node.op_type == op for node in proto.graph.node) == layer.num_layers
    session = _session(proto)
    _assert_matches(layer, session, x)
    # another batch: the free axis is the batch, first or (sequence-first) second
    other = (6, 2, 3) if layer.batch_first else (4, 6, 3)
    _assert_matches(layer, session, rng.standard_normal(other).astype(np.float32))
    batch = 0 if layer.batch_first else 1
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[batch] == "batch"
    assert dims[1 - batch] == (4 if batch else 2)  # the sequence, fixed to the example's


def test_gru_uses_linear_before_reset_and_onnx_gate_orders():
    proto = cr.onnx.export(nn.GRU(3, 4), None, np.zeros((2, 1, 3), np.float32))
    (gru,) = [n for n in proto.graph.node if n.op_type == "GRU"]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in gru.attribute}
    assert attributes["linear_before_reset"] == 1 and attributes["direction"] == b"forward"


def test_one_unbatched_sequence():
    cr.manual_seed(1)
    for layer in (nn.LSTM(3, 5, num_layers=2, bidirectional=True), nn.GRU(3, 4, batch_first=True)):
        x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
        _assert_matches(layer, _session(cr.onnx.export(layer, None, x)), x)


def test_a_sequential_ending_in_an_lstm_and_named_outputs():
    cr.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.LSTM(4, 5, batch_first=True))
    x = np.random.default_rng(0).standard_normal((2, 7, 3)).astype(np.float32)
    proto = cr.onnx.export(model, None, x, output_names=["seq", "h", "c"])
    assert [o.name for o in proto.graph.output] == ["seq", "h", "c"]
    dims = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
            for o in proto.graph.output]  # fmt: skip
    assert dims == [["batch", 7, 5], [1, "batch", 5], [1, "batch", 5]]
    _assert_matches(model, _session(proto), x)
    _assert_matches(model, _session(proto), x[:1])
    with pytest.raises(cr.onnx.ExportError, match="the model has 3 output"):
        cr.onnx.export(model, None, x, output_names=["seq"])


class Classifier(nn.Module):
    """The usual pattern: an LSTM's last step into a linear head, in a forward of its own."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def test_a_custom_forward_that_indexes_the_tuple_exports_with_a_converter():
    cr.manual_seed(3)
    model = Classifier()
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    with pytest.raises(cr.onnx.ExportError, match=r"Classifier.*custom forward\(\) cannot be"):
        cr.onnx.export(model, None, x)

    def classifier(g, m, x, out):
        seq, _ = cr.onnx.convert_module(g, m.lstm, x, "lstm")  # (output, (h_n, c_n)) as Values
        last = g.add("Gather", [seq.name, g.scalar(-1, np.int64, "last")], axis=1)  # [:, -1]
        return cr.onnx.convert_module(g, m.fc, cr.onnx.Value(last, seq.array[:, -1]), "fc").name

    cr.onnx.register_converter(Classifier)(classifier)
    try:
        proto = cr.onnx.export(model, None, x)
    finally:
        del cr.onnx.export.__globals__["CONVERTERS"][Classifier]
    assert [o.name for o in proto.graph.output] == ["output"]
    _assert_matches(model, _session(proto), x)
    _assert_matches(model, _session(proto), np.concatenate([x, x]))


@pytest.mark.parametrize(
    "model, x, match",
    [
        (nn.LSTM(3, 5, proj_size=2), np.zeros((2, 1, 3), np.float32), r"proj_size=2\) has no ONNX"),
        (nn.GRU(3, 4, dtype="float64"), np.zeros((2, 1, 3)), "float32 only.*model.to"),
        (nn.Sequential(nn.RNN(3, 4), nn.Linear(4, 2)), np.zeros((2, 1, 3), np.float32),
         r"layer '0' returns a tuple \(output, h_n\)"),
    ],
)  # fmt: skip
def test_what_cannot_be_exported_is_refused_clearly(model, x, match):
    with pytest.raises(cr.onnx.ExportError, match=match):
        cr.onnx.export(model, None, x)


def test_supported_lists_the_recurrent_layers():
    assert {"RNN", "LSTM", "GRU"} <= set(cr.onnx.supported())


def test_a_pipeline_network_that_returns_a_tuple_is_refused():
    from chainrule.onnx._classifier import _network_in_eval_mode
    from chainrule.onnx._graph import Graph

    with pytest.raises(cr.onnx.ExportError, match="returns a tuple"):
        _network_in_eval_mode(Graph(17), nn.GRU(3, 4), "features", (2, 3), np.float32)


def test_a_scalar_constant_stays_a_scalar():
    from chainrule.onnx._graph import Graph

    g = Graph(17)
    g.scalar(-1, np.int64, "index")
    assert list(g.initializers[0].dims) == []


def test_the_cli_exports_a_saved_recurrent_model(tmp_path):
    from tests.cli.cli_helpers import run_cli

    cr.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 4), nn.GRU(4, 5, num_layers=2, batch_first=True))
    cr.save(model, tmp_path / "seq.safetensors")
    done = run_cli(
        "export", tmp_path / "seq.safetensors", "--onnx", tmp_path / "seq.onnx",
        "--input-shape", "6,3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    session = ort.InferenceSession(str(tmp_path / "seq.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output", "h_n"]
    x = np.random.default_rng(0).standard_normal((3, 6, 3)).astype(np.float32)
    _assert_matches(cr.load(tmp_path / "seq.safetensors"), session, x)
