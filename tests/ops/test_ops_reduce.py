"""Reductions against PyTorch: axis None / int / tuple, keepdims, ties, no-grad arg ops."""

import warnings

import numpy as np
import pytest
from op_check import case, check_case, ids

import chainrule as cr

torch = pytest.importorskip("torch")

SHAPES = [(), (3,), (4, 3), (2, 3, 4)]


def _axes(shape):
    axes = [None]
    if len(shape) >= 1:
        axes += [0, -1]
    if len(shape) >= 2:
        axes += [(0, 1)]
    if len(shape) == 3:
        axes += [(0, 2)]
    return axes


def _dims(shape, axis):
    return tuple(range(len(shape))) if axis is None else axis


def _reduction_cases(name, ours, theirs, **options):
    """One line per reduction: ours(x, axis, keepdims), theirs(t, dims, keepdim)."""
    cases = []
    for shape in SHAPES:
        for axis in _axes(shape):
            for keepdims in (False, True):
                cases += case(
                    f"{name}(axis={axis}, keepdims={keepdims})",
                    lambda x, a=axis, k=keepdims: ours(x, a, k),
                    lambda t, a=axis, k=keepdims, s=shape: theirs(t, _dims(s, a), k),
                    [(shape,)],
                    **options,
                )
    return cases


def _torch_var(t, dims, keepdim):
    return torch.var(t, dim=dims, correction=0, keepdim=keepdim) if dims != () else t * 0


def _torch_std(t, dims, keepdim):
    return torch.std(t, dim=dims, correction=0, keepdim=keepdim) if dims != () else t * 0


def _whole(fn):
    """Torch reductions over dims=() mean 'no reduction' on 0-d tensors; ours reduce all."""
    return lambda t, dims, keepdim: fn(t, dims, keepdim) if dims != () else t


CASES = [
    *_reduction_cases(
        "sum", lambda x, a, k: x.sum(a, k), _whole(lambda t, d, k: torch.sum(t, d, keepdim=k))
    ),
    *_reduction_cases(
        "mean", lambda x, a, k: x.mean(a, k), _whole(lambda t, d, k: torch.mean(t, d, keepdim=k))
    ),
    *_reduction_cases(
        "amax", lambda x, a, k: x.amax(a, k), _whole(lambda t, d, k: torch.amax(t, d, keepdim=k))
    ),
    *_reduction_cases(
        "amin", lambda x, a, k: x.amin(a, k), _whole(lambda t, d, k: torch.amin(t, d, keepdim=k))
    ),
    # NumPy's spelling (axis=, keepdims=) gives the values only, as amax does
    *_reduction_cases(
        "max_axis",
        lambda x, a, k: x.max(axis=a, keepdims=k),
        _whole(lambda t, d, k: torch.amax(t, d, keepdim=k)),
    ),
    *_reduction_cases(
        "logsumexp",
        lambda x, a, k: x.logsumexp(a, k),
        _whole(lambda t, d, k: torch.logsumexp(t, d, keepdim=k)),
    ),
    *_reduction_cases("var", lambda x, a, k: x.var(a, keepdim=k, correction=0), _torch_var),
    *_reduction_cases("std", lambda x, a, k: x.std(a, keepdim=k, correction=0), _torch_std),
    *case("var_default", lambda x: x.var(), lambda t: torch.var(t), [((4, 3),)]),
    *case("std_default_dim", lambda x: x.std(dim=1), lambda t: torch.std(t, dim=1), [((4, 3),)]),
    *case(
        "var_unbiased",
        lambda x: x.var(axis=0, correction=1),
        lambda t: torch.var(t, dim=0, correction=1),
        [((4, 3),)],
    ),
    *case("sum_dim", lambda x: x.sum(dim=1), lambda t: t.sum(dim=1), [((4, 3),)]),
]
# 0-d inputs: var/std of one number is 0 with a zero gradient, torch agrees only in value
CASES = [c for c in CASES if not (c.shapes == ((),) and c.name[:3] in ("var", "std"))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_reduction(c, dtype):
    check_case(c, dtype)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("name, theirs", [("max", torch.amax), ("min", torch.amin)])
def test_ties_split_the_gradient_evenly(name, theirs, axis):
    a = np.array([[1.0, 3.0, 3.0], [-2.0, -2.0, 0.0], [3.0, 0.5, -2.0]])
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    getattr(x, name)(axis=axis).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    dims = (0, 1) if axis is None else axis
    theirs(t, dim=dims).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=0, atol=1e-15)
    assert np.isclose(x.grad.sum(), 1.0 if axis in (None, (0, 1)) else 3.0)


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_match_torch_and_have_no_grad(name, axis):
    a = np.random.default_rng(0).standard_normal((4, 5))
    x = cr.tensor(a, requires_grad=True)
    ours = getattr(x, name)(axis=axis)
    theirs = getattr(torch.tensor(a), name)(dim=axis)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert not ours.requires_grad and ours.dtype.kind == "i"


def test_var_of_one_number_is_zero_without_correction_and_nan_with_it():
    x = cr.tensor(3.0, dtype="float64", requires_grad=True)
    v = x.var(correction=0)
    v.backward()
    assert v.item() == 0.0 and x.grad == 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(x.var().item())  # PyTorch: n − 1 = 0 degrees of freedom give NaN
    assert np.isnan(torch.tensor(3.0).var().item())


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((1, True), {}),
        ((1, False), {}),
        ((False,), {}),
        ((True,), {}),
        ((1, False, True), {}),
        ((0,), {"unbiased": False, "keepdim": True}),
        ((), {"dim": (0, 1), "correction": 0}),
    ],
)
def test_variance_takes_pytorchs_positional_order(name, args, kwargs):
    # var(x, dim, unbiased, keepdim) and var(x, unbiased): a bool is never a dim or keepdim
    x = np.random.default_rng(0).standard_normal((3, 4))
    theirs = getattr(torch, name)(torch.tensor(x), *args, **kwargs)
    ours = getattr(cr, name)(cr.tensor(x, dtype=cr.float64), *args, **kwargs)
    for t, o in zip(*(v if isinstance(v, tuple) else (v,) for v in (theirs, ours))):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12)
    if name in ("var", "std"):
        method = getattr(cr.tensor(x, dtype=cr.float64), name)(*args, **kwargs)
        np.testing.assert_allclose(method.numpy(), getattr(torch.tensor(x), name)(*args, **kwargs))


def test_variance_refuses_an_unbiased_that_is_not_a_bool():
    with pytest.raises(TypeError, match="unbiased must be True or False"):
        cr.var(cr.tensor([1.0, 2.0]), 0, 1)
    with pytest.raises(TypeError, match="got both unbiased= and correction="):
        cr.tensor([1.0, 2.0]).std(0, False, correction=0)


@pytest.mark.parametrize(
    "name", ["sum", "mean", "amax", "amin", "count_nonzero", "std", "nansum", "nanmean", "norm"]
)
def test_an_empty_dim_tuple_reduces_every_axis_as_pytorch(name):
    x = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    theirs = torch.tensor(x, requires_grad=True)
    ours = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    t, o = getattr(torch, name)(theirs, dim=()), getattr(cr, name)(ours, dim=())
    assert o.shape == tuple(t.shape) == ()
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    # (torch.var's and std's gradients with dim=() are inf, a PyTorch bug: not compared)
    if name not in ("count_nonzero", "std"):
        t.backward()
        o.backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_an_axis_named_twice_is_refused():
    for name in ("sum", "mean", "amax", "var"):
        with pytest.raises(cr.errors.ShapeError, match="more than once"):
            getattr(cr, name)(cr.ones(2, 3), dim=(0, -2))


def test_any_and_all_with_an_empty_dim_tuple_reduce_nothing_as_pytorch():
    # unlike sum(dim=()), PyTorch's any/all(dim=()) keep every element (as a bool each)
    x = np.array([[0.0, 2.0, 3.0], [4.0, 0.0, -6.0]])
    for name in ("any", "all"):
        theirs = getattr(torch, name)(torch.tensor(x), dim=())
        ours = getattr(cr, name)(cr.tensor(x), dim=())
        assert ours.shape == tuple(theirs.shape) == (2, 3)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        np.testing.assert_array_equal(getattr(cr.tensor(x), name)(dim=()).numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "name", ["all", "any", "count_nonzero", "nanmean", "std", "var", "prod", "norm"]
)
@pytest.mark.parametrize("dim", [0, -1])
def test_a_zero_dim_tensor_reduces_over_dim_0_or_minus_1_as_pytorch(name, dim):
    keep = {} if name == "count_nonzero" else {"keepdim": True}
    grads = name not in ("all", "any", "count_nonzero")
    theirs = torch.tensor(3.0, dtype=torch.float64, requires_grad=grads)
    ours = cr.tensor(3.0, dtype=cr.float64, requires_grad=grads)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # std/var of one number: PyTorch warns, both answer NaN
        t, o = (
            getattr(torch, name)(theirs, dim=dim, **keep),
            getattr(cr, name)(ours, dim=dim, **keep),
        )
    assert o.shape == tuple(t.shape) == ()
    assert str(o.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), equal_nan=True)
    if grads:
        t.backward()
        o.backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), equal_nan=True)


def test_var_and_std_mean_of_a_zero_dim_tensor_over_dim_0_match_pytorch():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in ("var_mean", "std_mean"):
            t = getattr(torch, name)(torch.tensor(2.0), dim=0)
            o = getattr(cr, name)(cr.tensor(2.0), dim=0)
            for theirs, ours in zip(t, o):
                np.testing.assert_allclose(ours.numpy(), theirs.numpy(), equal_nan=True)


@pytest.mark.parametrize("dim", [(0, 1), [1]])
def test_prod_of_several_dims_is_a_clear_type_error(dim):
    # torch.prod takes one int dim and raises TypeError for a tuple; NumPy's message was
    # "'<=' not supported between instances of 'int' and 'tuple'"
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.ones(2, 3).prod(dim=tuple(dim))
    x = cr.ones(2, 3)
    with pytest.raises(TypeError, match=r"prod\(\) takes one dim"):
        x.prod(dim=dim)
    with pytest.raises(TypeError, match=r"prod\(\) takes one dim"):
        cr.prod(x, dim)


@pytest.mark.parametrize("name", ["amax", "amin", "max", "min"])
def test_extreme_gradient_keeps_float32_behind_another_op(name):
    # the tie count was an int64 array: grad / count gave float64, which reached the leaf
    x = cr.tensor(np.arange(6.0).reshape(2, 3), dtype=cr.float32, requires_grad=True)
    getattr(x.reshape(2, 3) * 1, name)().backward()
    assert x.grad.dtype == np.float32
