"""Float64 activations run in ONNX Runtime: its CPU build has no float64 kernel for LeakyRelu
(opset 16 on), PRelu (16 on), Elu, Softplus, HardSigmoid, HardSwish or Softsign, and computes
a float64 Gelu node through float32, so these layers are exported as formulas of ops it runs in
float64, with float64 constants."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def prelu_per_channel():
    layer = nn.PReLU(3)
    layer.weight.data[...] = np.array([0.1, -0.3, 2.0])
    return layer


CASES = [
    ("LeakyReLU", lambda: nn.LeakyReLU(0.3), (4, 6)),
    ("PReLU", lambda: nn.PReLU(), (4, 6)),
    ("PReLU-channels", prelu_per_channel, (2, 3, 4, 5)),
    ("ELU", lambda: nn.ELU(0.7), (4, 6)),
    ("Softplus", lambda: nn.Softplus(), (4, 6)),
    ("Softplus-beta", lambda: nn.Softplus(beta=2.0, threshold=5.0), (4, 6)),
    ("LogSigmoid", lambda: nn.LogSigmoid(), (4, 6)),
    ("Mish", lambda: nn.Mish(), (4, 6)),
    ("Hardsigmoid", lambda: nn.Hardsigmoid(), (4, 6)),
    ("Hardswish", lambda: nn.Hardswish(), (4, 6)),
    ("Softsign", lambda: nn.Softsign(), (4, 6)),
    ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), (4, 6)),
]


@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("name, make, shape", CASES, ids=[c[0] for c in CASES])
def test_float64_activation_runs_in_onnx_runtime(name, make, shape, opset):
    layer = make().to(cr.float64)
    x = np.random.default_rng(0).normal(size=shape) * 6  # both sides, past the thresholds
    x.flat[:4] = [0.0, -0.0, 40.0, -40.0]
    proto = cr.onnx.export(layer, None, x, opset=opset)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x})
    with cr.no_grad():
        want = layer(cr.tensor(x, dtype="float64")).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
