"""F.fractional_max_pool2d(_with_indices) and nn.FractionalMaxPool2d against PyTorch: given the
same ``_random_samples``, PyTorch's values, int64 indices and gradients (float32 and float64,
batched and unbatched, ties, NaN, overlapping windows), second derivatives, the draws from
chainrule's generator, signatures, reprs, a saved architecture and errors."""

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

CASES = [
    ((2, 3, 9, 11), 2, {"output_size": (4, 5)}),
    ((3, 10, 10), 3, {"output_size": 4}),
    ((1, 2, 7, 7), (2, 3), {"output_size": (6, 5)}),  # windows overlap: summed gradients
    ((2, 2, 25, 30), 3, {"output_size": (10, 1)}),
    ((1, 1, 5, 5), 2, {"output_size": 1}),
    ((2, 3, 12, 10), 2, {"output_ratio": (0.5, 0.7)}),
    ((1, 2, 6, 7), 2, {"output_size": 0}),
]


def _compare(x, kernel, kwargs, dtype, samples):
    t = torch.tensor(x, requires_grad=True)
    out_t, idx_t = TF.fractional_max_pool2d(
        t, kernel, return_indices=True, _random_samples=torch.tensor(samples), **kwargs
    )
    c = cr.tensor(x, dtype=dtype, requires_grad=True)
    out, idx = F.fractional_max_pool2d(
        c, kernel, return_indices=True, _random_samples=cr.tensor(samples, dtype=dtype), **kwargs
    )
    assert out.dtype == dtype and idx.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(out.data), out_t.detach().numpy())
    np.testing.assert_array_equal(np.asarray(idx.data), idx_t.numpy())
    g = np.random.default_rng(7).standard_normal(out_t.shape).astype(dtype)
    out_t.backward(torch.tensor(g))
    out.backward(cr.tensor(g, dtype=dtype))
    np.testing.assert_allclose(np.asarray(c.grad), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape", "kernel", "kwargs"), CASES)
def test_values_indices_and_gradients_match_pytorch(shape, kernel, kwargs, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    batch = 1 if len(shape) == 3 else shape[0]
    samples = rng.random((batch, shape[-3], 2)).astype(dtype)
    _compare(x, kernel, kwargs, dtype, samples)


def test_ties_nan_and_minus_infinity_follow_pytorch():
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal((2, 3, 8, 8)))  # many ties
    x[0, 0, 1, 1] = x[0, 0, 2, 5] = np.nan
    x[1, 2] = -np.inf
    samples = rng.random((2, 3, 2))
    t = torch.tensor(x)
    out_t, idx_t = TF.fractional_max_pool2d(
        t, 3, output_size=4, return_indices=True, _random_samples=torch.tensor(samples)
    )
    out, idx = F.fractional_max_pool2d_with_indices(
        cr.tensor(x, dtype="float64"), 3, 4, None, False, cr.tensor(samples, dtype="float64")
    )
    np.testing.assert_array_equal(np.asarray(out.data), out_t.numpy())
    np.testing.assert_array_equal(np.asarray(idx.data), idx_t.numpy())


def test_second_derivatives_and_finite_differences():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((1, 2, 7, 6)), dtype="float64", requires_grad=True)
    samples = cr.tensor(rng.random((1, 2, 2)), dtype="float64")

    def pool(a):
        return F.fractional_max_pool2d(a, 2, output_size=(4, 3), _random_samples=samples) ** 2

    assert gradcheck(pool, x)
    assert gradgradcheck(pool, x)


def test_draws_come_from_chainrules_generator():
    x = cr.tensor(np.random.default_rng(3).standard_normal((2, 3, 20, 20)))  # α = 18/5
    cr.manual_seed(4)
    first = F.fractional_max_pool2d(x, 2, output_size=6, return_indices=True)[1]
    cr.manual_seed(4)
    again = F.fractional_max_pool2d(x, 2, output_size=6, return_indices=True)[1]
    np.testing.assert_array_equal(np.asarray(first.data), np.asarray(again.data))
    other = F.fractional_max_pool2d(x, 2, output_size=6, return_indices=True)[1]
    assert not np.array_equal(np.asarray(first.data), np.asarray(other.data))


def test_signatures_reprs_and_the_module():
    expected = list(inspect.signature(TF.fractional_max_pool2d_with_indices).parameters)
    for name in ("fractional_max_pool2d", "fractional_max_pool2d_with_indices"):
        # (PyTorch's fractional_max_pool2d is a (*args, **kwargs) dispatcher to these)
        assert list(inspect.signature(getattr(F, name)).parameters) == expected
    assert list(inspect.signature(nn.FractionalMaxPool2d).parameters) == list(
        inspect.signature(torch.nn.FractionalMaxPool2d).parameters
    )
    assert repr(nn.FractionalMaxPool2d(3, output_size=5)) == "FractionalMaxPool2d()"
    layer = nn.FractionalMaxPool2d((2, 3), output_ratio=0.5, return_indices=True)
    assert layer.kernel_size == (2, 3) and layer.output_ratio == (0.5, 0.5)
    x = np.random.default_rng(5).standard_normal((2, 3, 10, 12))
    samples = np.random.default_rng(6).random((2, 3, 2))
    ours = nn.FractionalMaxPool2d(
        3, output_size=(4, 5), _random_samples=cr.tensor(samples, dtype="float64")
    )
    theirs = torch.nn.FractionalMaxPool2d(3, (4, 5), _random_samples=torch.tensor(samples))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    np.testing.assert_array_equal(
        np.asarray(ours(cr.tensor(x, dtype="float64")).data), theirs(torch.tensor(x)).numpy()
    )


def test_saved_architecture_round_trips():
    from chainrule.nn.registry import module_from_config, module_to_config

    model = nn.Sequential(
        nn.FractionalMaxPool2d((2, 3), output_ratio=(0.5, 0.6)),
        nn.FractionalMaxPool2d(2, output_size=3, return_indices=True),
    )
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert rebuilt[0].output_ratio == (0.5, 0.6) and rebuilt[0].output_size is None
    assert rebuilt[1].output_size == (3, 3) and rebuilt[1].return_indices is True


def test_errors_name_the_problem():
    x = cr.ones(1, 2, 6, 7)
    with pytest.raises(cr.ShapeError, match="pool height 3 too large relative to input height 6"):
        F.fractional_max_pool2d(x, 3, output_size=5)
    with pytest.raises(cr.ShapeError, match="pool width 3 too large relative to input width 7"):
        F.fractional_max_pool2d(x, 3, output_size=(4, 8))
    with pytest.raises(cr.ShapeError, match=r"expected 3D or 4D tensor, but got: \[6, 7\]"):
        F.fractional_max_pool2d(cr.ones(6, 7), 2, output_size=3)
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(cr.ShapeError, match="input channel size"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=cr.rand(1, 3, 2))
    with pytest.raises(cr.DTypeError, match="same dtype as input"):
        samples = cr.tensor(np.random.rand(1, 2, 2), dtype="float64")
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=samples)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        F.fractional_max_pool2d(x, 0, output_size=3)
    with pytest.raises(ValueError, match="either an output size, or a pooling ratio"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
