"""Numbers next to tensors, as PyTorch treats them: a Python or NumPy scalar adapts to the
tensor's dtype unless it is of a higher kind (in **, clamp, /, & | ^), and a NumPy scalar on the
left of an operator gives a tensor in the graph, not an ndarray. Also masked_fill with a tensor
value that requires grad, and gather's negative indices."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

U8, I32, F64 = "uint8", "int32", "float64"
TORCH_DTYPES = {U8: torch.uint8, I32: torch.int32, F64: torch.float64}

# each: a function of (tensor-maker, dtype lookup) giving the result in that library
CASES = {
    "int ** float": lambda T, d: T([1, 2, 4]) ** 2.5,
    "int ** 0.0": lambda T, d: T([1, 2, 4]) ** 0.0,
    "int32 ** float": lambda T, d: T([1, 2, 4], dtype=d(I32)) ** -0.5,
    "uint8 ** float": lambda T, d: T([1, 2, 4], dtype=d(U8)) ** 2.5,
    "bool ** int": lambda T, d: T([True, False]) ** 2,
    "bool ** float": lambda T, d: T([True, False]) ** 2.5,
    "float32 ** np.float64": lambda T, d: T([1.0, 2.0]) ** np.float64(2.5),
    "float32 ** np.int64": lambda T, d: T([1.0, 2.0]) ** np.int64(3),
    "int ** int": lambda T, d: T([1, 2, 4]) ** 2,
    "int clamp float": lambda T, d: T([-1, 2]).clamp(min=0.0),
    "int clamp int": lambda T, d: T([-1, 2]).clamp(min=0),
    "float32 clamp np.float64": lambda T, d: T([0.1, 2.0]).clamp(min=np.float64(0.3)),
    "float32 clamp max np.float64": lambda T, d: T([0.1, 2.0]).clamp(max=np.float64(1.5)),
    "uint8 / np.int32(-2)": lambda T, d: T([2, 4], dtype=d(U8)) / np.int32(-2),
    "np.int32(-2) / uint8": lambda T, d: np.int32(-2) / T([2, 4], dtype=d(U8)),
    "uint8 / -2": lambda T, d: T([2, 4], dtype=d(U8)) / -2,
    "int64 / float64 tensor": lambda T, d: T([2**40 + 1]) / T([1.0], dtype=d(F64)),
    "np.float64 // tensor": lambda T, d: np.float64(7.5) // T([2.0, -2.0]),
    "np.float64 % tensor": lambda T, d: np.float64(7.5) % T([2.0, -2.0]),
    "np.int64 & tensor": lambda T, d: np.int64(7) & T([3, 5]),
    "np.int64 | tensor": lambda T, d: np.int64(7) | T([3, 5]),
    "np.int64 ^ tensor": lambda T, d: np.int64(7) ^ T([3, 5]),
    "int32 & 3": lambda T, d: T([5, 6], dtype=d(I32)) & 3,
    "uint8 | 1": lambda T, d: T([5, 6], dtype=d(U8)) | 1,
    "bool & np.int32": lambda T, d: T([True, False]) & np.int32(-2),
    "bool | True": lambda T, d: T([True, False]) | True,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_operands_match_torch(name):
    ours = CASES[name](cr.tensor, lambda name: name)
    theirs = CASES[name](torch.tensor, TORCH_DTYPES.get)
    assert isinstance(ours, cr.Tensor)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_numpy_scalar_on_the_left_stays_in_the_graph():
    x = cr.tensor([2.0, 3.0], dtype="float64", requires_grad=True)
    for out in (np.float64(7.0) % x, np.float64(7.0) // x):
        assert isinstance(out, cr.Tensor) and out.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::remainder"):
        (np.float64(7.0) % x).sum().backward()  # a number % tensor: none, as in PyTorch
    (cr.tensor(7.0, dtype="float64") % x).sum().backward()  # ∂(7 mod x)/∂x = −⌊7/x⌋
    assert x.grad.tolist() == [-3.0, -2.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_masked_fill_with_a_value_that_requires_grad(dtype):
    v = cr.tensor(5.0, dtype="float64", requires_grad=True)
    x = cr.tensor([1.0, -2.0, 3.0], dtype=dtype, requires_grad=True)
    out = x.masked_fill(x > 0, v)
    (out * cr.tensor([1.0, 2.0, 3.0], dtype=dtype)).sum().backward()
    vt = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    xt = torch.tensor([1.0, -2.0, 3.0], dtype=getattr(torch, dtype), requires_grad=True)
    ref = xt.masked_fill(xt > 0, vt)
    (ref * torch.tensor([1.0, 2.0, 3.0], dtype=getattr(torch, dtype))).sum().backward()
    assert str(out.dtype) == dtype
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    assert v.grad.item() == vt.grad.item() == 4.0
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    with pytest.raises(cr.ShapeError, match="0-dimensional"):
        x.masked_fill(x > 0, cr.tensor([1.0, 2.0, 3.0], requires_grad=True))


def test_gather_refuses_negative_indices_as_pytorch_does():
    x = cr.tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(cr.ShapeError, match="index -1 is out of bounds"):
        x.gather(1, cr.tensor([[-1]]))
    with pytest.raises(RuntimeError):
        torch.tensor([[1.0, 2.0, 3.0]]).gather(1, torch.tensor([[-1]]))
    assert x.gather(1, cr.tensor([[2, 0]])).tolist() == [[3.0, 1.0]]


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_amax_amin_send_nan_back_from_a_nan_slice_as_pytorch(name, dim):
    """PyTorch's amax/amin divide by the number of elements equal to the result: none in a NaN
    slice, so that slice's gradient is NaN (max() without dim gives it to the NaNs instead)."""
    a = np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 3.0]])
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    args = () if dim is None else (dim,)
    getattr(x, name)(*args).sum().backward()
    getattr(xt, name)(*args).sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
