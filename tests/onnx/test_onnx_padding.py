"""cr.onnx.export for the padding layers and for convolutions with padding_mode 'reflect',
'replicate' or 'circular', against chainrule's own output in ONNX Runtime (both were refused:
the layers had no converter, the convolutions named the mode)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

MIXED = (1, -1, 0, 2)  # a crop on one side, padding on the others


def _layers():
    cases = []
    for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
        for dims, shape in ((1, (2, 3, 6)), (2, (2, 3, 5, 6)), (3, (2, 2, 4, 5, 6))):
            cls = getattr(nn, f"{kind}Pad{dims}d")
            sizes = (2, 1, 1, 0, 0, 1)[: 2 * dims]
            args = (sizes, -1.5) if kind == "Constant" else (sizes,)
            cases.append((f"{kind}Pad{dims}d", cls, args, shape))
        cls = getattr(nn, f"{kind}Pad2d")
        args = (MIXED, 2.5) if kind == "Constant" else (MIXED,)
        cases.append((f"{kind}Pad2d-crop", cls, args, (2, 3, 5, 6)))
    return cases


def _run(model, x, opset, other_batch=True):
    proto = cr.onnx.export(model, None, x, opset=opset)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    batches = (x, np.concatenate([x, x[:1] * 2])) if other_batch else (x,)
    for batch in batches:
        (got,) = session.run(None, {"input": batch})
        with cr.no_grad():
            want = model.eval()(cr.tensor(batch, dtype=batch.dtype)).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("name, cls, args, shape", _layers(), ids=[c[0] for c in _layers()])
def test_padding_layer_exports(name, cls, args, shape, opset):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    _run(cls(*args), x, opset)


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_padding_layers_keep_float64(dtype):
    model = nn.Sequential(nn.ReflectionPad1d(2), nn.CircularPad1d((1, 3)), nn.ConstantPad1d(1, 7))
    x = np.random.default_rng(1).normal(size=(2, 3, 5)).astype(dtype)
    _run(model.to(cr.float64) if dtype == np.float64 else model, x, 17)


@pytest.mark.parametrize("mode", ("reflect", "replicate", "circular"))
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda mode: nn.Conv1d(2, 3, 3, padding=2, padding_mode=mode), (2, 2, 7)),
        (
            lambda mode: nn.Conv2d(2, 3, 3, padding=(1, 2), stride=2, padding_mode=mode),
            (2, 2, 6, 7),
        ),
        (lambda mode: nn.Conv2d(2, 4, (2, 4), padding="same", padding_mode=mode), (2, 2, 6, 7)),
        (lambda mode: nn.Conv3d(2, 2, 3, padding=1, padding_mode=mode), (2, 2, 4, 5, 6)),
    ],
    ids=["conv1d", "conv2d-stride", "conv2d-same-even", "conv3d"],
)
def test_convolution_padding_modes_export(make, shape, mode):
    cr.manual_seed(0)
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    _run(make(mode), x, 17)


def test_reflection_wider_than_the_input_fails_at_export():
    # the example run raises chainrule's own error before any file is written
    with pytest.raises(Exception, match="(?i)pad"):
        cr.onnx.export(nn.ReflectionPad1d(4), None, np.zeros((1, 2, 3), np.float32))
