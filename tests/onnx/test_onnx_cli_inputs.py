"""``chainrule export --input-shape``: one flag per input of a model of several (Bilinear,
Transformer, MultiheadAttention), each sample's batch axis where the model reads it, and a
model it cannot size told the flags that fit its first layer."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _export(capsys, model, tmp_path, *shapes):
    cr.save(model, tmp_path / "m.safetensors")
    args = ["export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "m.onnx")]
    for shape in shapes:
        args += ["--input-shape", shape]
    code = main(args)
    return code, capsys.readouterr().err


def _run(tmp_path, feeds: dict):
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(feeds)
    return session.run(None, feeds)[0]


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_a_bilinear_model_takes_one_input_shape_per_input(tmp_path, capsys):
    cr.manual_seed(0)
    model = nn.Bilinear(3, 4, 2)
    code, err = _export(capsys, model, tmp_path, "3", "4")
    assert code == 0, err
    a, b = _rand(5, 3), _rand(5, 4, seed=1)  # another batch size than the example's
    want = model(cr.tensor(a), cr.tensor(b)).detach().numpy()
    np.testing.assert_allclose(_run(tmp_path, {"input1": a, "input2": b}), want, rtol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
def test_a_transformer_takes_src_and_tgt_shapes_with_the_batch_where_it_reads_it(
    tmp_path, capsys, batch_first
):
    cr.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16, batch_first=batch_first).eval()
    code, err = _export(capsys, model, tmp_path, "6,8", "5,8")
    assert code == 0, err
    src = _rand(3, 6, 8) if batch_first else _rand(6, 3, 8)
    tgt = _rand(3, 5, 8, seed=1) if batch_first else _rand(5, 3, 8, seed=1)
    want = model(cr.tensor(src), cr.tensor(tgt)).detach().numpy()
    got = _run(tmp_path, {"src": src, "tgt": tgt})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "shapes", "says"),
    [
        (lambda: nn.Bilinear(3, 4, 2), ["3"], "takes 2 inputs (input1, input2)"),
        (lambda: nn.MultiheadAttention(8, 2), ["6,8"], "takes 3 inputs (query, key, value)"),
        (lambda: nn.Bilinear(3, 4, 2), [], "--input-shape 3 --input-shape 4"),
        (lambda: nn.LSTM(3, 5), [], "--input-shape 20,3"),
        (lambda: nn.Sequential(nn.Conv3d(2, 4, 3)), [], "--input-shape 2,16,16,16"),
        (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1), [],
         "--input-shape 10,8"),
    ],
)  # fmt: skip
def test_what_it_cannot_size_names_the_flags_that_fit(tmp_path, capsys, model, shapes, says):
    code, err = _export(capsys, model(), tmp_path, *shapes)
    assert code == 2 and says in err and len(err.splitlines()) == 1


def test_the_python_exporters_hint_names_the_models_own_inputs():
    with pytest.raises(cr.onnx.ExportError, match=r"export\(model, path, \(input1, input2\)\)"):
        cr.onnx.export(nn.Bilinear(3, 4, 2), None, np.zeros((1, 3), np.float32))


@pytest.mark.parametrize("wrap", [lambda m: m, lambda m: nn.Sequential(m)], ids=["bare", "seq"])
def test_a_sequence_first_lstm_reads_the_sample_as_sequence_then_features(tmp_path, capsys, wrap):
    # --input-shape 7,3 made (1, 7, 3): a sequence of one step in a batch of 7, fixed; then the
    # free axis (named batch) was the sequence
    cr.manual_seed(0)
    model = wrap(nn.LSTM(3, 5, num_layers=2, bidirectional=True))
    code, err = _export(capsys, model, tmp_path, "7,3")
    assert code == 0 and "sequence length is fixed to 7" in err
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [7, "batch", 3]  # the batch is free, its 2nd axis
    args = ["export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "m.onnx")]
    assert main([*args, "--input-shape", "7,3", "--dynamic-axis", "0=sequence"]) == 0
    assert "sequence length is fixed" not in capsys.readouterr().err
    x = _rand(9, 4, 3)  # another length and batch
    want = model.eval()(cr.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(_run(tmp_path, {"input": x}), want, rtol=1e-5, atol=1e-6)
