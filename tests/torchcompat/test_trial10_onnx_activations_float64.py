"""A float64 model with CELU, SELU, RReLU, Hardshrink or Softshrink exported to ONNX runs in
ONNX Runtime and gives PyTorch's float64 values. Before, CELU's export failed in ONNX's shape
inference, ONNX Runtime had no float64 Selu kernel, and RReLU (a float32 alpha attribute) and
the shrinks (ONNX Runtime computes Shrink through float32) were off by up to 4e-8."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

X = np.concatenate(
    [
        np.random.default_rng(0).normal(size=40) * 3,
        [0.0, -0.0, 0.5, -0.5, 0.2, -0.2, 1e-12, -1e-12, 50.0, -50.0, 800.0, -800.0],
        [np.inf, -np.inf, np.nan],
    ]
)[None]

LAYERS = [
    ("CELU", ()),
    ("CELU", (0.3,)),
    ("SELU", ()),
    ("RReLU", (0.1, 0.3)),
    ("Hardshrink", ()),
    ("Hardshrink", (0.2,)),
    ("Softshrink", ()),
    ("Softshrink", (0.7,)),
]


@pytest.mark.parametrize("opset", [13, 17, 21])
@pytest.mark.parametrize(("name", "args"), LAYERS)
def test_float64_export_runs_and_matches_torch(tmp_path, name, args, opset):
    model = getattr(cr.nn, name)(*args).to(cr.float64)
    path = str(tmp_path / "m.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr.onnx.export(model, path, X, opset=opset)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: X})
    theirs = getattr(torch.nn, name)(*args).eval()(torch.from_numpy(X)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, theirs, rtol=0, atol=1e-15, equal_nan=True)
