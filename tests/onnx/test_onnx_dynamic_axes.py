"""cr.onnx.export(dynamic_axes=...) and ``chainrule export --dynamic-axis``: more free dimensions
than the batch (a batch-first recurrent model's sequence length), checked with ONNX Runtime."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def _flat(value) -> list:
    if isinstance(value, tuple):
        return [a for item in value for a in _flat(item)]
    return [np.asarray(value)]


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 3), nn.LSTM(3, 5, num_layers=2, batch_first=True))


def _sequences(batch: int, length: int) -> np.ndarray:
    return np.random.default_rng(length).standard_normal((batch, length, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "dynamic_axes, name",
    [({"input": {1: "sequence"}}, "sequence"), ({"input": [1]}, "input_dynamic_axes_1")],
)
def test_a_batch_first_lstm_runs_at_other_sequence_lengths(dynamic_axes, name):
    model = _model()
    proto = cr.onnx.export(model, None, _sequences(2, 4), dynamic_axes=dynamic_axes)
    assert _dims(proto.graph.input[0]) == ["batch", name, 3]
    assert _dims(proto.graph.output[0]) == ["batch", name, 5]
    assert _dims(proto.graph.output[1]) == [2, "batch", 5]  # h_n: no sequence axis
    session = _session(proto)
    for batch, length in ((3, 7), (1, 2)):
        x = _sequences(batch, length)
        got = session.run(None, {"input": x})
        for ours, theirs in zip(_flat(model(cr.tensor(x))), got, strict=True):
            np.testing.assert_allclose(theirs, ours, atol=1e-5)


def test_by_default_only_the_batch_is_free():
    proto = cr.onnx.export(_model(), None, _sequences(2, 4))
    assert _dims(proto.graph.input[0]) == ["batch", 4, 3]
    assert _dims(proto.graph.output[0]) == ["batch", 4, 5]
    with pytest.raises(Exception, match="(?i)dimension|shape"):  # the length is fixed
        _session(proto).run(None, {"input": _sequences(2, 7)})


def test_output_names_can_be_given_and_axis_zero_renamed():
    axes = {"input": {0: "n", 1: "t"}, "seq": {1: "steps"}}
    proto = cr.onnx.export(
        _model(), None, _sequences(2, 4), output_names=["seq", "h", "c"], dynamic_axes=axes
    )
    assert _dims(proto.graph.input[0]) == ["n", "t", 3]
    assert _dims(proto.graph.output[0]) == ["n", "steps", 5]
    assert _dims(proto.graph.output[2]) == [2, "n", 5]


@pytest.mark.parametrize(
    "dynamic_axes, match",
    [
        ({"inputs": {1: "t"}}, "names 'inputs', which is neither the input"),
        ({"input": {3: "t"}}, r"axis 3 does not exist; 'input' has shape \(2, 4, 3\)"),
        ({"h_n": [5]}, "axis 5 does not exist; 'h_n' has shape"),
        ({"input": {-1: "t"}}, "axes are integers >= 0"),
        ({"input": {"1": "t"}}, "axes are integers >= 0"),
        ({"input": {1: ""}}, "must be a non-empty string"),
        ({"input": [1, 1]}, "lists an axis twice"),
        ({"input": "1"}, "must be a dict {axis: name} or a list of axes"),
        ([("input", 1)], "dynamic_axes must be a dict"),
        ({"input": {2: "features"}}, "axis 2 of the input cannot be dynamic"),
    ],
)
def test_bad_dynamic_axes_are_refused_clearly(dynamic_axes, match):
    with pytest.raises(cr.onnx.ExportError, match=match):
        cr.onnx.export(_model(), None, _sequences(2, 4), dynamic_axes=dynamic_axes)


def test_the_cli_exports_a_free_sequence_axis(tmp_path, capsys):
    from chainrule.cli.main import main

    model = _model()
    cr.save(model, tmp_path / "lstm.safetensors")
    out = tmp_path / "lstm.onnx"
    args = ["export", str(tmp_path / "lstm.safetensors"), "--onnx", str(out)]
    assert main([*args, "--input-shape", "4,3", "--dynamic-axis", "1=sequence"]) == 0
    proto = onnx.load(str(out))
    assert _dims(proto.graph.input[0]) == ["batch", "sequence", 3]
    x = _sequences(2, 9)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    np.testing.assert_allclose(got[0], np.asarray(model(cr.tensor(x))[0]), atol=1e-5)
    assert main([*args, "--input-shape", "4,3", "--dynamic-axis", "one=sequence"]) != 0
    assert "expected AXIS=NAME" in capsys.readouterr().err
