"""F.adaptive_avg_pool3d / nn.AdaptiveAvgPool3d and F.max_pool{1,2,3}d_with_indices against
PyTorch: values and gradients in float32 and float64, batched and unbatched, ``None`` sizes,
second derivatives, signatures, reprs, a saved architecture, errors."""

import inspect
import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SIZES = [1, 2, (2, None, 3), [5, 7, 6], (3, 4, 5), (4, 6, 4), (6, 9, 11)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("output_size", SIZES, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7, 6), (3, 5, 7, 6)], ids=["batched", "unbatched"])
def test_adaptive_avg_pool3d_matches_pytorch(shape, output_size, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    t = torch.tensor(x, requires_grad=True)
    expected = TF.adaptive_avg_pool3d(t, output_size)
    c = cr.tensor(x, dtype=dtype, requires_grad=True)
    out = F.adaptive_avg_pool3d(c, output_size)
    assert out.shape == tuple(expected.shape) and out.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(np.asarray(out.data), expected.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(1).standard_normal(expected.shape).astype(dtype)
    expected.backward(torch.tensor(g))
    out.backward(cr.tensor(g, dtype=dtype))
    np.testing.assert_allclose(np.asarray(c.grad), t.grad.numpy(), rtol=tol, atol=tol)


def test_adaptive_avg_pool3d_first_and_second_derivatives_by_finite_differences():
    data = np.random.default_rng(2).standard_normal((1, 2, 4, 5, 3))
    x = cr.tensor(data, dtype="float64", requires_grad=True)
    assert gradcheck(lambda a: F.adaptive_avg_pool3d(a, (3, 2, 2)), x)
    assert gradgradcheck(lambda a: F.adaptive_avg_pool3d(a, (3, 2, 2)) ** 2, x)


def test_module_repr_forward_and_saved_architecture():
    from chainrule.nn.registry import module_from_config, module_to_config

    for size in (2, (2, None, 3)):
        assert repr(nn.AdaptiveAvgPool3d(size)) == repr(torch.nn.AdaptiveAvgPool3d(size))
    layer = nn.AdaptiveAvgPool3d((1, None, 2))
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5, 6))
    ours = np.asarray(layer(cr.tensor(x, dtype="float64")).data)
    theirs = torch.nn.AdaptiveAvgPool3d((1, None, 2))(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    model = nn.Sequential(nn.Conv3d(1, 2, 3), nn.AdaptiveAvgPool3d((1, None, 2)))
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert repr(rebuilt) == repr(model)
    with pytest.raises(ValueError, match="output_size"):
        nn.AdaptiveAvgPool3d(-1)


def test_adaptive_avg_pool3d_errors():
    with pytest.raises(cr.ShapeError, match=r"Expected 4D or 5D tensor, but got \[3, 4, 5\]"):
        F.adaptive_avg_pool3d(cr.ones(3, 4, 5), 2)
    with pytest.raises(ValueError, match="output_size must be 3"):
        F.adaptive_avg_pool3d(cr.ones(1, 3, 4, 5), (2, 2))
    with pytest.raises(ValueError, match="ints >= 1"):
        F.adaptive_avg_pool3d(cr.ones(1, 3, 4, 5), (2, 0, 2))
    with pytest.raises(cr.DTypeError, match="floating-point"):
        F.adaptive_avg_pool3d(cr.tensor(np.ones((1, 3, 4, 5), dtype=np.int64)), 2)
    with pytest.raises(cr.ShapeError, match="empty input"):
        F.adaptive_avg_pool3d(cr.ones(1, 0, 4, 5), 2)


@pytest.mark.parametrize(
    ("dims", "shape", "args"),
    [
        (1, (2, 3, 9), (3,)),
        (1, (3, 9), (3, 2, 1, 1, True)),
        (2, (2, 3, 6, 7), (2,)),
        (2, (3, 6, 7), ((3, 2), 2, 1, 1, True)),
        (3, (1, 2, 4, 5, 6), (2,)),
        (3, (2, 4, 5, 6), (3, (1, 2, 2), 1, (1, 2, 1), True)),
    ],
)
def test_max_pool_with_indices_match_pytorch(dims, shape, args):
    name = f"max_pool{dims}d_with_indices"
    assert list(inspect.signature(getattr(F, name)).parameters) == list(
        inspect.signature(getattr(TF, name)).parameters
    )
    x = np.random.default_rng(4).standard_normal(shape)
    c = cr.tensor(x, dtype="float64", requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    for flag in (False, True):  # (values, indices) whatever return_indices says, as PyTorch's
        out, idx = getattr(F, name)(c, *args, return_indices=flag)
        out_t, idx_t = getattr(TF, name)(t, *args, return_indices=flag)
        np.testing.assert_array_equal(np.asarray(out.data), out_t.detach().numpy())
        np.testing.assert_array_equal(np.asarray(idx.data), idx_t.numpy())
    out.sum().backward()
    out_t.sum().backward()
    np.testing.assert_array_equal(np.asarray(c.grad), t.grad.numpy())
