"""cr.onnx.export: every layer type checked by onnx.checker and run by ONNX Runtime."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

OPSETS = (13, 17, 21)


def run_onnx(path_or_proto, feeds):
    model = path_or_proto if isinstance(path_or_proto, str) else path_or_proto.SerializeToString()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def chainrule_out(model, x):
    with cr.no_grad():
        return np.asarray(model(x).data)


def trained_batchnorm(n=6, three_d=False):
    bn = nn.BatchNorm1d(n)
    shape = (32, n, 5) if three_d else (32, n)
    rng = np.random.default_rng(1)
    for _ in range(3):  # move the running statistics away from 0 and 1
        bn(rng.normal(2.0, 3.0, shape).astype(np.float32))
    bn.weight.data[...] = rng.normal(size=n)
    bn.bias.data[...] = rng.normal(size=n)
    return bn


# (id, model factory, input shape, input scale): every layer type, each behind a Linear so its
# input has both signs and a realistic spread
CASES = [
    ("Linear", lambda: nn.Linear(6, 4), (5, 6), 1.0),
    ("Linear-nobias", lambda: nn.Linear(6, 4, bias=False), (5, 6), 1.0),
    ("Linear-3d", lambda: nn.Linear(6, 4), (5, 3, 6), 1.0),
    ("Identity", lambda: nn.Sequential(nn.Linear(6, 6), nn.Identity()), (5, 6), 1.0),
    ("Sigmoid", lambda: nn.Sigmoid(), (5, 6), 4.0),
    ("Tanh", lambda: nn.Tanh(), (5, 6), 4.0),
    ("ReLU", lambda: nn.ReLU(), (5, 6), 2.0),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.3), (5, 6), 2.0),
    ("ELU", lambda: nn.ELU(alpha=0.6), (5, 6), 3.0),
    ("GELU", lambda: nn.GELU(), (5, 6), 3.0),
    ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), (5, 6), 3.0),
    ("Softplus", lambda: nn.Softplus(), (5, 6), 10.0),
    ("Softplus-beta", lambda: nn.Softplus(beta=2.0, threshold=5.0), (5, 6), 4.0),
    ("SiLU", lambda: nn.SiLU(), (5, 6), 4.0),
    ("LogSigmoid", lambda: nn.LogSigmoid(), (5, 6), 30.0),
    ("Softmax", lambda: nn.Softmax(dim=1), (5, 6), 5.0),
    ("Softmax-dim0", lambda: nn.Softmax(dim=0), (5, 6), 5.0),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), (5, 6), 5.0),
    ("BatchNorm1d", lambda: trained_batchnorm(6), (5, 6), 3.0),
    ("BatchNorm1d-3d", lambda: trained_batchnorm(6, three_d=True), (5, 6, 5), 3.0),
    ("BatchNorm1d-noaffine", lambda: nn.BatchNorm1d(6, affine=False), (5, 6), 3.0),
    ("BatchNorm1d-batchstats", lambda: nn.BatchNorm1d(6, track_running_stats=False), (5, 6), 3.0),
    ("LayerNorm", lambda: nn.LayerNorm(6), (5, 6), 3.0),
    ("LayerNorm-2d", lambda: nn.LayerNorm((3, 6)), (5, 3, 6), 3.0),
    ("Dropout", lambda: nn.Dropout(0.5), (5, 6), 1.0),
    ("Flatten", lambda: nn.Flatten(), (5, 2, 3, 4), 1.0),
    ("Flatten-middle", lambda: nn.Flatten(1, 2), (5, 2, 3, 4), 1.0),
    ("Flatten-all", lambda: nn.Flatten(0, -1), (5, 2, 3), 1.0),
    (
        "MLP",
        lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3)),
        (5, 6),
        1.0,
    ),
    (
        "nested-Sequential",
        lambda: nn.Sequential(nn.Sequential(nn.Linear(6, 8), nn.Tanh()), nn.Linear(8, 2)),
        (5, 6),
        1.0,
    ),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_onnxruntime(case, opset, tmp_path):
    _, factory, shape, scale = case
    model = factory()
    x = (np.random.default_rng(opset).normal(size=shape) * scale).astype(np.float32)
    path = str(tmp_path / "model.onnx")
    proto = cr.onnx.export(model, path, x, opset=opset)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert proto.opset_import[0].version == opset
    model.eval()
    for rows in (x, x[:2]):  # the exported batch size and another one
        (got,) = run_onnx(path, {"input": rows})
        expected = chainrule_out(model, rows)
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", OPSETS)
def test_embedding_ids_and_padding(opset):
    model = nn.Sequential(nn.Embedding(10, 4, padding_idx=3), nn.Flatten(), nn.Linear(12, 2))
    ids = np.array([[1, 3, 9], [0, 3, 2], [7, 7, 7]])
    proto = cr.onnx.export(model, None, ids, opset=opset)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    (got,) = run_onnx(proto, {"input": ids.astype(np.int64)})
    np.testing.assert_allclose(got, chainrule_out(model, ids), rtol=1e-5, atol=1e-5)


def test_float64_model_keeps_float64():
    model = nn.Sequential(nn.Linear(3, 4, dtype="float64"), nn.Tanh())
    x = np.random.default_rng(0).normal(size=(4, 3))
    proto = cr.onnx.export(model, None, x)
    (got,) = run_onnx(proto, {"input": x})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, chainrule_out(model, x), rtol=1e-12, atol=1e-12)


def test_float64_input_into_float32_model_is_float32():
    model = nn.Linear(3, 2)
    proto = cr.onnx.export(model, None, np.zeros((2, 3)))  # float64 example, float32 weights
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_dynamic_batch_and_names_and_metadata(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    proto = cr.onnx.export(
        model,
        str(tmp_path / "m.onnx"),
        np.zeros((1, 4), np.float32),
        input_names=["features"],
        output_names=["probabilities"],
        metadata={"author": "tests"},
    )
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == ("features", "probabilities")
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert out.type.tensor_type.shape.dim[0].dim_param == "batch"
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["chainrule.version"] == cr.__version__
    assert props["author"] == "tests"
    assert '"Linear"' in props["chainrule.architecture"]
    x = np.random.default_rng(0).normal(size=(37, 4)).astype(np.float32)
    (got,) = run_onnx(str(tmp_path / "m.onnx"), {"features": x})
    np.testing.assert_allclose(got, chainrule_out(model, x), rtol=1e-5, atol=1e-6)


def test_static_batch_when_asked():
    proto = cr.onnx.export(nn.Linear(2, 2), None, np.zeros((3, 2)), dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3


def test_export_restores_training_mode():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    model.train()
    cr.onnx.export(model, None, np.zeros((2, 3)))
    assert model.training and model[1].training
    model.eval()
    cr.onnx.export(model, None, np.zeros((2, 3)))
    assert not model.training


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 3)

    def forward(self, x):
        return self.inner(x) * 2


class LinearTwice(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


class ReLUAlias(nn.ReLU):
    """A subclass that keeps ReLU's forward converts as ReLU."""


def test_unsupported_layer_names_it():
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Tanh(), Custom()))
    with pytest.raises(cr.onnx.ExportError, match=r"layer '1\.1' \(Custom\).*no ONNX converter"):
        cr.onnx.export(model, None, np.zeros((2, 3)))


def test_overridden_forward_is_refused():
    with pytest.raises(cr.onnx.ExportError, match=r"LinearTwice.*overrides Linear\.forward"):
        cr.onnx.export(nn.Sequential(LinearTwice(3, 3)), None, np.zeros((2, 3)))


def test_subclass_keeping_forward_converts():
    proto = cr.onnx.export(nn.Sequential(nn.Linear(2, 2), ReLUAlias()), None, np.ones((2, 2)))
    assert "Relu" in [n.op_type for n in proto.graph.node]


def test_modulelist_is_refused():
    with pytest.raises(cr.onnx.ExportError, match="ModuleList has no forward"):
        cr.onnx.export(nn.ModuleList([nn.Linear(2, 2)]), None, np.zeros((2, 2)))


@pytest.mark.parametrize("opset", [12, 10_000, "17", True])
def test_bad_opset(opset):
    with pytest.raises(cr.onnx.ExportError, match="opset"):
        cr.onnx.export(nn.Linear(2, 2), None, np.zeros((2, 2)), opset=opset)


def test_bad_arguments():
    with pytest.raises(cr.onnx.ExportError, match="nn.Module"):
        cr.onnx.export(lambda x: x, None, np.zeros((2, 2)))
    with pytest.raises(cr.onnx.ExportError, match="one non-empty name"):
        cr.onnx.export(nn.Linear(2, 2), None, np.zeros((2, 2)), input_names=["a", "b"])
    with pytest.raises(cr.onnx.ExportError, match="different names"):
        cr.onnx.export(nn.Linear(2, 2), None, np.zeros((2, 2)), input_names="x", output_names="x")
    with pytest.raises(cr.onnx.ExportError, match="strings"):
        cr.onnx.export(nn.Linear(2, 2), None, np.zeros((2, 2)), metadata={"n": 1})
    with pytest.raises(cr.ShapeError):  # the model's own error for a wrong example
        cr.onnx.export(nn.Linear(2, 2), None, np.zeros((2, 5)))


def test_register_converter_extends_the_table():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    @cr.onnx.register_converter(Double)
    def _double(g, m, x, out):
        return g.add("Add", [x.name, x.name])

    try:
        model = nn.Sequential(nn.Linear(2, 2), Double())
        x = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
        (got,) = run_onnx(cr.onnx.export(model, None, x), {"input": x})
        np.testing.assert_allclose(got, chainrule_out(model, x), rtol=1e-6)
    finally:
        from chainrule.onnx.converters import CONVERTERS

        CONVERTERS.pop(Double)


def test_supported_lists_the_layers():
    names = cr.onnx.supported()
    for name in ("Linear", "BatchNorm1d", "Embedding", "Flatten", "Softmax", "Sequential"):
        assert name in names
    assert "ReLU6" in names  # converts as Hardtanh; users read this list to pick layers


def test_builtin_layer_without_converter_is_not_called_custom():
    model = nn.Sequential(nn.Linear(3, 3), nn.CosineSimilarity())
    with pytest.raises(cr.onnx.ExportError, match="no ONNX operator mapping") as err:
        cr.onnx.export(model, None, np.zeros((2, 3)))
    assert "custom forward" not in str(err.value)
    with pytest.raises(cr.onnx.ExportError, match="custom forward"):
        cr.onnx.export(nn.Sequential(Custom()), None, np.zeros((2, 3)))


def test_missing_onnx_package_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'pip install "chainrule\[onnx\]"'):
        cr.onnx.export(nn.Linear(2, 2), None, np.zeros((1, 2)))


def test_import_chainrule_does_not_import_onnx():
    import subprocess
    import sys

    code = "import sys, chainrule, chainrule.onnx; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_embedding_max_norm_exports_every_row_renormalised():
    model = nn.Sequential(nn.Embedding(10, 4, max_norm=1.0), nn.Flatten())
    with cr.no_grad():
        model[0].weight.mul_(3.0)  # every row's norm well above 1
    proto = cr.onnx.export(model, None, np.array([[1, 3, 9]]))
    ids = np.array([[0, 5, 9], [2, 2, 8]])  # rows the export's example run did not look up
    (got,) = run_onnx(proto, {"input": ids.astype(np.int64)})
    expected = chainrule_out(model, ids)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(expected.reshape(-1, 4), axis=1).max() <= 1.0
