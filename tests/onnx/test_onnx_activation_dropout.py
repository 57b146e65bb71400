"""cr.onnx.export for CELU, SELU, RReLU (evaluation: a leaky ReLU), Hardshrink, Softshrink and
the dropout variants (evaluation: the identity), against ONNX Runtime."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

CASES = [
    ("CELU", lambda: nn.CELU(), (4, 6)),
    ("CELU-alpha", lambda: nn.CELU(0.5), (4, 6)),
    ("SELU", lambda: nn.SELU(), (4, 6)),
    ("RReLU", lambda: nn.RReLU(0.1, 0.3), (4, 6)),
    ("Hardshrink", lambda: nn.Hardshrink(), (4, 6)),
    ("Hardshrink-2", lambda: nn.Hardshrink(2.0), (4, 6)),
    ("Softshrink", lambda: nn.Softshrink(), (4, 6)),
    ("Softshrink-2", lambda: nn.Softshrink(2), (4, 6)),
    ("Dropout1d", lambda: nn.Dropout1d(0.3), (2, 3, 5)),
    ("Dropout3d", lambda: nn.Dropout3d(0.3), (2, 3, 2, 2, 2)),
    ("AlphaDropout", lambda: nn.AlphaDropout(0.3), (4, 6)),
    ("FeatureAlphaDropout", lambda: nn.FeatureAlphaDropout(0.3), (2, 3, 5)),
    (
        "selu-network",
        lambda: nn.Sequential(
            nn.Linear(6, 8), nn.SELU(), nn.AlphaDropout(0.1), nn.Linear(8, 3), nn.CELU()
        ),
        (4, 6),
    ),
]


@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_onnxruntime(case, opset):
    _, factory, shape = case
    model = factory()
    x = (np.random.default_rng(opset).normal(size=shape) * 3).astype(np.float32)
    proto = cr.onnx.export(model, None, x, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert model.training  # export traced in evaluation mode and put the mode back
    model.eval()
    for rows in (x, x[:1]):  # the exported batch size and another one
        (got,) = session.run(None, {"input": rows})
        with cr.no_grad():
            expected = np.asarray(model(rows).data)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_they_are_listed_as_supported():
    names = {"CELU", "SELU", "RReLU", "Hardshrink", "Softshrink", "Dropout1d", "Dropout3d"}
    assert names | {"AlphaDropout", "FeatureAlphaDropout"} <= set(cr.onnx.supported())
