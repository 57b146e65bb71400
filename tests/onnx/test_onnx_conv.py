"""cr.onnx.export for the convolution, pooling and image layers, against ONNX Runtime.

Skipped where chainrule has no convolution layers yet (they come from nn/conv.py,
nn/pooling.py and nn/spatial.py).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
if "Conv2d" not in getattr(nn, "__all__", ()):
    pytest.skip("this chainrule has no convolution layers", allow_module_level=True)

OPSETS = (13, 17, 21)


def trained_bn2d(c):
    bn = nn.BatchNorm2d(c)
    rng = np.random.default_rng(2)
    for _ in range(3):
        bn(rng.normal(1.0, 2.0, (8, c, 5, 5)).astype(np.float32))
    bn.weight.data[...] = rng.normal(size=c)
    bn.bias.data[...] = rng.normal(size=c)
    return bn


def trained_bn3d(c):
    bn = nn.BatchNorm3d(c)
    bn(np.random.default_rng(3).normal(1.0, 2.0, (4, c, 2, 5, 5)).astype(np.float32))
    bn.weight.data[...] = np.arange(1.0, c + 1)
    return bn


CASES = [
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3), (2, 3, 9, 9)),
    ("Conv2d-stride-pad-dil", lambda: nn.Conv2d(3, 4, (3, 2), 2, (1, 2), 2), (2, 3, 11, 10)),
    ("Conv2d-groups-nobias", lambda: nn.Conv2d(4, 6, 3, groups=2, bias=False), (2, 4, 7, 7)),
    ("Conv2d-same", lambda: nn.Conv2d(3, 2, 4, padding="same", dilation=2), (2, 3, 9, 8)),
    ("Conv2d-valid", lambda: nn.Conv2d(3, 2, 3, padding="valid"), (2, 3, 6, 6)),
    ("Conv1d", lambda: nn.Conv1d(3, 5, 3, stride=2, padding=1), (2, 3, 12)),
    ("Conv1d-same", lambda: nn.Conv1d(2, 2, 4, padding="same"), (2, 2, 9)),
    (
        "ConvTranspose2d",
        lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        (2, 3, 5, 5),
    ),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(2, 3, 4, stride=3, groups=1), (2, 2, 6)),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), (2, 3, 8, 8)),
    ("MaxPool2d-options", lambda: nn.MaxPool2d(3, 2, 1, dilation=1, ceil_mode=True), (2, 3, 9, 10)),
    ("MaxPool1d", lambda: nn.MaxPool1d(3, 2, 1), (2, 3, 11)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2), (2, 3, 8, 8)),
    ("AvgPool2d-pad-exclude", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 9, 9)),
    ("AvgPool2d-pad-include", lambda: nn.AvgPool2d(3, 2, 1), (2, 3, 9, 9)),
    ("AvgPool1d", lambda: nn.AvgPool1d(4, 2, 2), (2, 3, 12)),
    ("AdaptiveAvgPool2d-global", lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 8, 9)),
    ("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(4), (2, 3, 12)),
    # AdaptiveAvgPool3d overrides its 2-D parent's forward, so it had no converter and was refused
    ("AdaptiveAvgPool3d-global", lambda: nn.AdaptiveAvgPool3d(1), (2, 3, 4, 7, 5)),
    ("AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d((1, None, 2)), (2, 3, 4, 4, 8)),
    ("BatchNorm2d", lambda: trained_bn2d(3), (2, 3, 5, 4)),
    ("BatchNorm2d-batchstats", lambda: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 5, 4)),
    ("BatchNorm3d", lambda: trained_bn3d(3), (2, 3, 2, 5, 4)),
    ("BatchNorm3d-stats", lambda: nn.BatchNorm3d(3, track_running_stats=False), (2, 3, 2, 3, 4)),
    ("Dropout2d", lambda: nn.Dropout2d(0.5), (2, 3, 4, 4)),
    ("Unflatten", lambda: nn.Sequential(nn.Linear(6, 12), nn.Unflatten(1, (3, 4))), (5, 6)),
    (
        "LeNet",
        lambda: nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 10),
            nn.LogSoftmax(dim=1),
        ),
        (3, 1, 28, 28),
    ),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_onnxruntime(case, opset):
    _, factory, shape = case
    model = factory()
    x = np.random.default_rng(opset).normal(size=shape).astype(np.float32)
    proto = cr.onnx.export(model, None, x, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    model.eval()
    for rows in (x, x[:1]):  # the exported batch size and another one
        (got,) = session.run(None, {"input": rows})
        with cr.no_grad():
            expected = np.asarray(model(rows).data)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_settings_without_an_onnx_equivalent_are_named():
    x = np.zeros((1, 3, 7, 7), np.float32)
    with pytest.raises(cr.onnx.ExportError, match=r"layer '0' \(AdaptiveAvgPool2d\).*divide"):
        cr.onnx.export(nn.Sequential(nn.AdaptiveAvgPool2d(3)), None, np.zeros((1, 3, 8, 8)))
    with pytest.raises(cr.onnx.ExportError, match="divisor_override"):
        cr.onnx.export(nn.AvgPool2d(2, divisor_override=3), None, x)
    with pytest.raises(cr.onnx.ExportError, match=r"returns a tuple.*return_indices"):
        cr.onnx.export(nn.MaxPool2d(2, return_indices=True), None, x)


UNBATCHED = [
    ("Conv1d", lambda: nn.Conv1d(3, 2, 3, padding=1), (3, 8)),
    ("Conv2d", lambda: nn.Conv2d(3, 2, 3), (3, 6, 7)),
    ("Conv2d-circular", lambda: nn.Conv2d(3, 2, 3, padding=1, padding_mode="circular"), (3, 6, 7)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), (3, 4, 5)),
    ("MaxPool2d-ceil", lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (3, 9, 10)),
    ("AvgPool1d", lambda: nn.AvgPool1d(2), (3, 8)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(2), (3, 4, 8)),
    ("AdaptiveAvgPool3d-global", lambda: nn.AdaptiveAvgPool3d(1), (3, 2, 4, 8)),
]


@pytest.mark.parametrize("case", UNBATCHED, ids=[c[0] for c in UNBATCHED])
def test_one_unbatched_sample_exports(case):
    # ONNX's Conv and pooling nodes need (N, C, ...): one (C, ...) sample failed onnx.checker's
    # shape inference with an error about the Identity node; now a batch of one, squeezed
    _, factory, shape = case
    model = factory()
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    proto = cr.onnx.export(model, None, x, dynamic_batch=False)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x})
    with cr.no_grad():
        expected = np.asarray(model.eval()(x).data)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
