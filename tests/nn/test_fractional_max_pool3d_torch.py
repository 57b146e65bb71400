"""F.fractional_max_pool3d(_with_indices) and nn.FractionalMaxPool3d against PyTorch: given the
same ``_random_samples``, PyTorch's values, int64 indices and gradients bit for bit (float32
and float64, batched and unbatched, ties, NaN, overlapping windows), second derivatives, the
draws from chainrule's generator, signatures, reprs, a saved architecture and errors."""

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
    ((2, 3, 7, 8, 9), 2, {"output_size": (3, 4, 5)}),
    ((3, 6, 5, 7), (2, 3, 1), {"output_size": (4, 2, 5)}),  # unbatched
    ((1, 2, 6, 6, 6), 3, {"output_size": 3}),  # windows overlap: summed gradients
    ((2, 2, 5, 9, 4), 2, {"output_size": (1, 7, 1)}),
    ((2, 3, 8, 10, 12), 2, {"output_ratio": 0.5}),
    ((1, 2, 8, 10, 12), (1, 2, 3), {"output_ratio": (0.5, 0.6, 0.7)}),
    ((1, 2, 4, 5, 6), 2, {"output_size": 0}),
]


def _compare(x, kernel, kwargs, dtype, samples):
    t = torch.tensor(x, requires_grad=True)
    out_t, idx_t = TF.fractional_max_pool3d(
        t, kernel, return_indices=True, _random_samples=torch.tensor(samples), **kwargs
    )
    c = cr.tensor(x, dtype=dtype, requires_grad=True)
    out, idx = F.fractional_max_pool3d(
        c, kernel, return_indices=True, _random_samples=cr.tensor(samples, dtype=dtype), **kwargs
    )
    assert out.dtype == dtype and idx.dtype == np.int64 and out.shape == tuple(out_t.shape)
    np.testing.assert_array_equal(out.detach().numpy(), out_t.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())
    g = np.random.default_rng(7).standard_normal(out_t.shape).astype(dtype)
    out_t.backward(torch.tensor(g))
    out.backward(cr.tensor(g, dtype=dtype))
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape", "kernel", "kwargs"), CASES)
def test_values_indices_and_gradients_match_pytorch(shape, kernel, kwargs, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    batch = 1 if len(shape) == 4 else shape[0]
    samples = rng.random((batch, shape[-4], 3)).astype(dtype)
    _compare(x, kernel, kwargs, dtype, samples)


def test_ties_nan_and_minus_infinity_follow_pytorch():
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal((2, 3, 6, 7, 8)))  # many ties
    x[0, 0, 1, 1, 1] = x[0, 0, 2, 5, 3] = np.nan
    x[1, 2] = -np.inf
    samples = rng.random((2, 3, 3))
    t = torch.tensor(x)
    out_t, idx_t = TF.fractional_max_pool3d(
        t, 3, output_size=3, return_indices=True, _random_samples=torch.tensor(samples)
    )
    out, idx = F.fractional_max_pool3d_with_indices(
        cr.tensor(x, dtype="float64"), 3, 3, None, False, cr.tensor(samples, dtype="float64")
    )
    np.testing.assert_array_equal(out.numpy(), out_t.numpy())
    np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())


def test_more_sample_rows_than_the_batch_are_taken_as_pytorch():
    rng = np.random.default_rng(8)
    x, samples = rng.standard_normal((2, 2, 5, 5, 5)), rng.random((4, 2, 3))
    expected = TF.fractional_max_pool3d(
        torch.tensor(x), 2, output_size=3, _random_samples=torch.tensor(samples)
    )
    ours = F.fractional_max_pool3d(
        cr.tensor(x, dtype="float64"),
        2,
        output_size=3,
        _random_samples=cr.tensor(samples, dtype="float64"),
    )
    np.testing.assert_array_equal(ours.numpy(), expected.numpy())


def test_second_derivatives_and_finite_differences():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((1, 2, 5, 6, 5)), dtype="float64", requires_grad=True)
    samples = cr.tensor(rng.random((1, 2, 3)), dtype="float64")

    def pool(a):
        return F.fractional_max_pool3d(a, 2, output_size=(3, 4, 3), _random_samples=samples) ** 2

    assert gradcheck(pool, x)
    assert gradgradcheck(pool, x)


def test_second_derivative_of_the_pool_alone_is_torchs_zeros():
    rng = np.random.default_rng(9)
    x, samples = rng.standard_normal((1, 2, 5, 5, 5)), rng.random((1, 2, 3))
    results = {}
    for lib in (torch, cr):
        a = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        s = lib.tensor(samples, dtype=lib.float64)
        out = lib.nn.functional.fractional_max_pool3d(a, 2, output_size=3, _random_samples=s)
        (g,) = lib.autograd.grad(out.sum(), a, create_graph=True)
        assert g.requires_grad
        (h,) = lib.autograd.grad(g.sum(), a)
        results[lib] = (g.detach().numpy(), h.numpy())
    for ours, theirs in zip(results[cr], results[torch]):
        np.testing.assert_array_equal(ours, theirs)


def test_draws_come_from_chainrules_generator():
    x = cr.tensor(np.random.default_rng(3).standard_normal((2, 3, 12, 12, 12)))
    cr.manual_seed(4)
    first = F.fractional_max_pool3d(x, 2, output_size=5, return_indices=True)[1]
    cr.manual_seed(4)
    again = F.fractional_max_pool3d(x, 2, output_size=5, return_indices=True)[1]
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    other = F.fractional_max_pool3d(x, 2, output_size=5, return_indices=True)[1]
    assert not np.array_equal(first.numpy(), other.numpy())


def test_signatures_reprs_and_the_module():
    expected = list(inspect.signature(TF.fractional_max_pool3d_with_indices).parameters)
    for name in ("fractional_max_pool3d", "fractional_max_pool3d_with_indices"):
        assert list(inspect.signature(getattr(F, name)).parameters) == expected
    assert list(inspect.signature(nn.FractionalMaxPool3d).parameters) == list(
        inspect.signature(torch.nn.FractionalMaxPool3d).parameters
    )
    assert repr(nn.FractionalMaxPool3d(3, output_size=5)) == "FractionalMaxPool3d()"
    layer = nn.FractionalMaxPool3d((2, 3, 1), output_ratio=0.5, return_indices=True)
    theirs = torch.nn.FractionalMaxPool3d((2, 3, 1), output_ratio=0.5, return_indices=True)
    assert layer.kernel_size == theirs.kernel_size == (2, 3, 1)
    assert layer.output_ratio == theirs.output_ratio == (0.5, 0.5, 0.5)
    assert nn.FractionalMaxPool3d(2, output_size=3).output_size == (3, 3, 3)
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 10, 12))
    samples = np.random.default_rng(6).random((2, 3, 3))
    ours = nn.FractionalMaxPool3d(
        3, output_size=(4, 5, 6), _random_samples=cr.tensor(samples, dtype="float64")
    )
    theirs = torch.nn.FractionalMaxPool3d(3, (4, 5, 6), _random_samples=torch.tensor(samples))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    np.testing.assert_array_equal(
        ours(cr.tensor(x, dtype="float64")).numpy(), theirs(torch.tensor(x)).numpy()
    )
    assert ours(cr.tensor(x[0], dtype="float64")).shape == (3, 4, 5, 6)


def test_saved_architecture_round_trips():
    from chainrule.nn.registry import module_from_config, module_to_config

    model = nn.Sequential(
        nn.FractionalMaxPool3d((2, 3, 1), output_ratio=(0.5, 0.6, 0.7)),
        nn.FractionalMaxPool3d(2, output_size=3, return_indices=True),
    )
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert rebuilt[0].output_ratio == (0.5, 0.6, 0.7) and rebuilt[0].output_size is None
    assert rebuilt[0].kernel_size == (2, 3, 1)
    assert rebuilt[1].output_size == (3, 3, 3) and rebuilt[1].return_indices is True


def test_errors_name_the_problem():
    x = cr.ones(1, 2, 5, 6, 7)
    with pytest.raises(cr.ShapeError, match="pool time 2 too large relative to input time 5"):
        F.fractional_max_pool3d(x, 2, output_size=(4, 3, 3))  # PyTorch's check is strict in 3-D
    with pytest.raises(cr.ShapeError, match="pool height 3 too large relative to input height 6"):
        F.fractional_max_pool3d(x, 3, output_size=(2, 4, 2))
    with pytest.raises(cr.ShapeError, match="pool width 3 too large relative to input width 7"):
        F.fractional_max_pool3d(x, 3, output_size=(2, 2, 5))
    with pytest.raises(cr.ShapeError, match=r"expected 4D or 5D tensor, but got: \[5, 6, 7\]"):
        F.fractional_max_pool3d(cr.ones(5, 6, 7), 2, output_size=3)
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool3d(x, 2)
    with pytest.raises(ValueError, match="kernel_size must either be a single int or a tuple"):
        F.fractional_max_pool3d(x, (2, 3), output_size=3)
    with pytest.raises(ValueError, match="output_size must either be a single int or a tuple"):
        F.fractional_max_pool3d(x, 2, output_size=(3, 3))
    with pytest.raises(cr.ShapeError, match=r"_random_samples.size\(2\) equals to 3; got 2"):
        F.fractional_max_pool3d(x, 2, output_size=3, _random_samples=cr.rand(1, 2, 2))
    with pytest.raises(cr.ShapeError, match="no less then input batch size"):
        F.fractional_max_pool3d(
            cr.ones(2, 2, 5, 6, 7), 2, output_size=3, _random_samples=cr.rand(1, 2, 3)
        )
    with pytest.raises(cr.ShapeError, match="input channel size"):
        F.fractional_max_pool3d(x, 2, output_size=3, _random_samples=cr.rand(1, 3, 3))
    with pytest.raises(cr.DTypeError, match="same dtype as input"):
        samples = cr.tensor(np.random.rand(1, 2, 3), dtype="float64")
        F.fractional_max_pool3d(x, 2, output_size=3, _random_samples=samples)
    with pytest.raises(cr.DTypeError, match="floating-point"):
        F.fractional_max_pool3d(cr.ones(1, 2, 5, 6, 7, dtype="int64"), 2, output_size=2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        F.fractional_max_pool3d(x, 0, output_size=3)
    with pytest.raises(TypeError, match="kernel_size must hold ints"):
        F.fractional_max_pool3d(x, 2.0, output_size=3)
    with pytest.raises(ValueError, match="either an output size, or a pooling ratio"):
        nn.FractionalMaxPool3d(2)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool3d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
        nn.FractionalMaxPool3d(2, output_ratio=1.5)
