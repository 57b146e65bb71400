"""cr.onnx.export of GroupNorm, InstanceNorm1d/2d/3d and LocalResponseNorm, run by ONNX Runtime
against chainrule."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _randomised(layer, seed=3):
    rng = np.random.default_rng(seed)
    for param in layer.parameters():
        param.data[...] = rng.normal(size=param.shape)
    return layer


def _trained_running_stats(layer, shape):
    rng = np.random.default_rng(1)
    for _ in range(3):  # move the running statistics away from 0 and 1
        layer(rng.normal(2.0, 3.0, shape).astype(layer.running_mean.dtype))
    return layer


CASES = [
    ("group-2d", lambda: _randomised(nn.GroupNorm(3, 6)), (5, 6)),
    ("group-one", lambda: _randomised(nn.GroupNorm(1, 6)), (5, 6, 4)),
    ("group-per-channel", lambda: nn.GroupNorm(6, 6, affine=False), (5, 6, 4)),
    ("group-4d", lambda: _randomised(nn.GroupNorm(2, 6, bias=False)), (3, 6, 4, 5)),
    ("group-5d", lambda: _randomised(nn.GroupNorm(3, 6)), (2, 6, 2, 3, 4)),
    ("instance-1d", lambda: nn.InstanceNorm1d(6), (5, 6, 4)),
    ("instance-2d-affine", lambda: _randomised(nn.InstanceNorm2d(6, affine=True)), (3, 6, 4, 5)),
    ("instance-3d", lambda: _randomised(nn.InstanceNorm3d(6, affine=True)), (2, 6, 2, 3, 4)),
    (
        "instance-running-stats",
        lambda: _trained_running_stats(
            _randomised(nn.InstanceNorm2d(6, affine=True, track_running_stats=True)), (4, 6, 3, 3)
        ),
        (3, 6, 4, 5),
    ),
    ("lrn-3d-even", lambda: nn.LocalResponseNorm(2, alpha=0.5), (3, 6, 4)),
    ("lrn-4d", lambda: nn.LocalResponseNorm(3, alpha=0.2, beta=0.6, k=2.0), (3, 6, 4, 5)),
    ("lrn-5d-wide", lambda: nn.LocalResponseNorm(8, alpha=1.0), (2, 6, 2, 3, 4)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_norm_matches_onnxruntime(case, opset, dtype):
    _, factory, shape = case
    model = factory().to(getattr(cr, dtype))
    x = (np.random.default_rng(opset).normal(size=shape) * 3.0 + 1.0).astype(dtype)
    proto = cr.onnx.export(model, None, x, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    model.eval()
    tol = 1e-5 if dtype == "float32" else 1e-12
    for rows in (x, x[:1]):  # the exported batch size and another one
        got = _run(proto, rows)
        with cr.no_grad():
            expected = model(rows).numpy()
        assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_instance_norm_uses_the_standard_node_and_group_norm_a_reshape():
    x = np.random.default_rng(0).normal(size=(2, 4, 5)).astype(np.float32)
    ops = [n.op_type for n in cr.onnx.export(nn.InstanceNorm1d(4), None, x).graph.node]
    assert ops[0] == "InstanceNormalization" and "ReduceMean" not in ops
    ops = [n.op_type for n in cr.onnx.export(nn.GroupNorm(2, 4), None, x).graph.node]
    assert ops[0] == "Reshape" and "InstanceNormalization" not in ops


def test_both_are_listed_as_supported():
    names = {"GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm"}
    assert names <= set(cr.onnx.supported())
