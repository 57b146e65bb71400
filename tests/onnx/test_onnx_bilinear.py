"""cr.onnx.export of nn.Bilinear: two graph inputs, one Einsum (and an Add for the bias), run by
ONNX Runtime against chainrule's output."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run(proto, feeds):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def bilinear(in1, in2, out, bias=True, dtype=None):
    cr.manual_seed(0)
    return nn.Bilinear(in1, in2, out, bias=bias, dtype=dtype).eval()


def expected(m, x1, x2):
    with cr.no_grad():
        return m(cr.tensor(x1, dtype=x1.dtype), cr.tensor(x2, dtype=x2.dtype)).numpy()


@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("bias", (True, False))
def test_two_inputs_and_a_new_batch_size(opset, bias):
    m = bilinear(3, 4, 5, bias=bias)
    proto = cr.onnx.export(m, None, (rand(6, 3), rand(6, 4, seed=1)), opset=opset)
    assert [i.name for i in proto.graph.input] == ["input1", "input2"]
    assert [dims(i) for i in proto.graph.input] == [["batch", 3], ["batch", 4]]
    assert "Einsum" in [n.op_type for n in proto.graph.node]
    x1, x2 = rand(2, 3, seed=2), rand(2, 4, seed=3)  # another batch size than the example's
    (got,) = run(proto, {"input1": x1, "input2": x2})
    np.testing.assert_allclose(got, expected(m, x1, x2), rtol=1e-5, atol=1e-6)


def test_leading_dimensions_unbatched_inputs_and_float64():
    m = bilinear(3, 2, 4, dtype="float64")
    x1, x2 = rand(2, 5, 3, dtype=np.float64), rand(2, 5, 2, seed=1, dtype=np.float64)
    (got,) = run(cr.onnx.export(m, None, (x1, x2)), {"input1": x1, "input2": x2})
    np.testing.assert_allclose(got, expected(m, x1, x2), rtol=1e-12)
    v1, v2 = rand(3, dtype=np.float64), rand(2, seed=1, dtype=np.float64)
    proto = cr.onnx.export(m, None, (v1, v2))
    assert [dims(i) for i in proto.graph.input] == [[3], [2]]  # no batch axis to free
    (got,) = run(proto, {"input1": v1, "input2": v2})
    np.testing.assert_allclose(got, expected(m, v1, v2), rtol=1e-12)


def test_the_same_array_twice_is_one_input():
    m = bilinear(3, 3, 2)
    x = rand(4, 3)
    proto = cr.onnx.export(m, None, (x, x))
    assert [i.name for i in proto.graph.input] == ["input1"]
    (got,) = run(proto, {"input1": x})
    np.testing.assert_allclose(got, expected(m, x, x), rtol=1e-5, atol=1e-6)


def test_matches_torch_bilinear_with_the_same_weights():
    torch = pytest.importorskip("torch")
    m = bilinear(3, 4, 2)
    twin = torch.nn.Bilinear(3, 4, 2)
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in m.state_dict().items()})
    x1, x2 = rand(5, 3), rand(5, 4, seed=1)
    (got,) = run(cr.onnx.export(m, None, (x1, x2)), {"input1": x1, "input2": x2})
    want = twin(torch.from_numpy(x1), torch.from_numpy(x2)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
