"""cr.onnx.export for PReLU, Mish, the hard activations, Softsign, Tanhshrink, Threshold, GLU,
Softmin, Conv3d, MaxPool3d and AvgPool3d, against ONNX Runtime."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

OPSETS = (13, 17, 21)


def prelu_per_channel():
    layer = nn.PReLU(3)
    layer.weight.data[...] = np.array([0.1, -0.3, 2.0], np.float32)
    return layer


CASES = [
    ("PReLU", lambda: nn.PReLU(), (4, 6)),
    ("PReLU-channels", prelu_per_channel, (2, 3, 4, 5)),
    ("Mish", lambda: nn.Mish(), (4, 6)),
    ("Hardswish", lambda: nn.Hardswish(), (4, 6)),
    ("Hardsigmoid", lambda: nn.Hardsigmoid(), (4, 6)),
    ("Softsign", lambda: nn.Softsign(), (4, 6)),
    ("Tanhshrink", lambda: nn.Tanhshrink(), (4, 6)),
    ("Threshold", lambda: nn.Threshold(0.2, -3.0), (4, 6)),
    ("GLU", lambda: nn.GLU(), (4, 6)),
    ("GLU-dim1", lambda: nn.GLU(dim=1), (4, 6, 3)),
    ("Softmin", lambda: nn.Softmin(dim=1), (4, 6)),
    ("Softmax2d", lambda: nn.Softmax2d(), (2, 4, 3, 5)),
    ("Conv3d", lambda: nn.Conv3d(2, 3, 3), (2, 2, 5, 6, 7)),
    (
        "Conv3d-options",
        lambda: nn.Conv3d(4, 6, (2, 3, 1), (2, 1, 2), (1, 0, 1), (1, 2, 1), groups=2),
        (2, 4, 6, 7, 5),
    ),
    (
        "Conv3d-same",
        lambda: nn.Conv3d(2, 2, (2, 3, 4), padding="same", bias=False),
        (2, 2, 5, 6, 7),
    ),
    ("MaxPool3d", lambda: nn.MaxPool3d(2), (2, 3, 4, 6, 6)),
    ("MaxPool3d-options", lambda: nn.MaxPool3d(3, (2, 1, 2), 1, ceil_mode=True), (2, 2, 6, 5, 7)),
    ("AvgPool3d", lambda: nn.AvgPool3d((1, 2, 2)), (2, 3, 4, 6, 6)),
    ("AvgPool3d-exclude", lambda: nn.AvgPool3d(3, 2, 1, count_include_pad=False), (2, 2, 5, 5, 5)),
    ("AvgPool3d-include", lambda: nn.AvgPool3d(3, 2, 1), (2, 2, 5, 5, 5)),
    (
        "video-classifier",
        lambda: nn.Sequential(
            nn.Conv3d(1, 4, 3, padding=1),
            nn.PReLU(4),
            nn.MaxPool3d((1, 2, 2), ceil_mode=True),
            nn.Flatten(),
            nn.Linear(4 * 4 * 3 * 3, 6),
            nn.Mish(),
            nn.Linear(6, 3),
        ),
        (2, 1, 4, 5, 5),
    ),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_onnxruntime(case, opset):
    _, factory, shape = case
    model = factory()
    x = (np.random.default_rng(opset).normal(size=shape) * 3).astype(np.float32)
    proto = cr.onnx.export(model, None, x, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for rows in (x, x[:1]):  # the exported batch size and another one
        (got,) = session.run(None, {"input": rows})
        with cr.no_grad():
            expected = np.asarray(model(rows).data)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_they_are_listed_as_supported():
    names = {"PReLU", "Mish", "Hardswish", "Hardsigmoid", "Softsign", "Tanhshrink", "Threshold"}
    assert names | {"GLU", "Softmin", "Conv3d", "MaxPool3d", "AvgPool3d"} <= set(
        cr.onnx.supported()
    )
