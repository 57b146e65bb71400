"""F.poisson_nll_loss, F.gaussian_nll_loss, nn.PoissonNLLLoss and nn.GaussianNLLLoss against
PyTorch: values and gradients of input, target and var, every reduction, var shapes, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
# ln(target) of a target of 0 (the Stirling term's gradient: NaN, as PyTorch's) warns in NumPy
ZERO_TARGETS = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
REDUCTIONS = ("mean", "sum", "none")
rng = np.random.default_rng(11)


def check(ours, theirs, arrays, grads, extra=(), **kwargs):
    """Same value, dtype, shape and gradients (of the inputs indexed in ``grads``); ``extra``
    arguments (numbers) go to both as they are."""
    xs = [cr.tensor(a, dtype=a.dtype, requires_grad=i in grads) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    out, expected = ours(*xs, *extra, **kwargs), theirs(*ts, *extra, **kwargs)
    assert out.shape == tuple(expected.shape)
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "")
    exact = all(a.dtype == np.float64 for a in arrays)
    tol = TIGHT if exact else {"rtol": 2e-6, "atol": 1e-6}
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    upstream = rng.standard_normal(out.shape)
    (out * cr.tensor(upstream, dtype=out.dtype)).sum().backward()
    expected.backward(torch.tensor(upstream, dtype=expected.dtype))
    for i in grads:
        np.testing.assert_allclose(xs[i].grad, ts[i].grad.numpy(), err_msg=f"input {i}", **tol)


def _counts(*shape):
    return rng.poisson(2.0, shape).astype(np.float64)


@ZERO_TARGETS
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_matches_torch(reduction, log_input, full):
    x = rng.standard_normal((5, 3)) if log_input else rng.random((5, 3)) * 3
    options = {"log_input": log_input, "full": full, "reduction": reduction}
    check(F.poisson_nll_loss, TF.poisson_nll_loss, [x, _counts(5, 3)], {0, 1}, **options)
    # broadcasting, and a 1-d input against (4, 3) targets
    check(F.poisson_nll_loss, TF.poisson_nll_loss, [x[0], _counts(4, 3)], {0, 1}, **options)
    check(
        F.poisson_nll_loss,
        TF.poisson_nll_loss,
        [x.astype(np.float32), _counts(5, 3)],
        {0, 1},
        **options,
    )


@ZERO_TARGETS
def test_poisson_stirling_term_at_small_targets_as_torch():
    # the term is 0 for targets ≤ 1; its gradient at a target of 0 is NaN in PyTorch too
    x, y = np.array([0.5, 1.0, 2.0, 0.3]), np.array([0.0, 1.0, 3.0, 1.5])
    check(F.poisson_nll_loss, TF.poisson_nll_loss, [x, y], {0, 1}, full=True, reduction="none")
    check(
        F.poisson_nll_loss,
        TF.poisson_nll_loss,
        [x, y],
        {0, 1},
        log_input=False,
        full=True,
        eps=1e-3,
    )


def test_poisson_integer_targets_and_eps():
    x, y = rng.random((4, 2)), rng.poisson(3.0, (4, 2))
    out = F.poisson_nll_loss(cr.tensor(x, dtype="float64"), y, False, True, eps=0.1)
    expected = TF.poisson_nll_loss(torch.tensor(x), torch.tensor(y), False, True, eps=0.1)
    assert out.dtype == np.float64
    # the Stirling term of an integer target is float32 in both libraries (log of an integer)
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-6)


VAR_SHAPES = [(4, 3), (4,), (4, 1), (1, 3)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", VAR_SHAPES)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_matches_torch(reduction, var_shape, full):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    var = rng.random(var_shape) + 0.1
    options = {"full": full, "reduction": reduction}
    check(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, y, var], {0, 1, 2}, **options)


def test_gaussian_clamps_small_variances_without_cutting_their_gradient():
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    var = np.array([0.0, 1e-9, 1e-3, 2.0, 1e-7])
    for eps in (1e-6, 1e-2):
        check(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, y, var], {0, 1, 2}, eps=eps)


def test_gaussian_float_var_3d_broadcast_target_and_float32():
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    check(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, y], {0, 1}, extra=(0.7,), reduction="none")
    check(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, y, rng.random((2, 1, 4))], {0, 1, 2})
    check(
        F.gaussian_nll_loss,
        TF.gaussian_nll_loss,
        [x[0], y, rng.random(3) + 0.5],
        {0, 1, 2},
        reduction="none",
    )
    x32 = x.astype(np.float32)
    check(
        F.gaussian_nll_loss,
        TF.gaussian_nll_loss,
        [x32, x32 * 2, rng.random((2, 3, 4)).astype(np.float32)],
        {0, 1, 2},
    )


def test_gaussian_errors_as_torch():
    x = cr.tensor(rng.standard_normal((4, 3)))
    for var in (cr.ones(3), cr.ones(1, 1), cr.ones(4, 3, 3), cr.ones(())):
        with pytest.raises(ValueError, match="var is of incorrect size"):
            F.gaussian_nll_loss(x, x, var)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -cr.ones(4))
    with pytest.raises(ValueError, match="reduction must be"):
        F.gaussian_nll_loss(x, x, cr.ones(4), reduction="avg")
    with pytest.raises(RuntimeError, match="do not broadcast"):
        F.gaussian_nll_loss(x, cr.ones(5, 3), cr.ones(4))
    with pytest.raises(RuntimeError, match="do not broadcast"):
        F.poisson_nll_loss(x, cr.ones(5, 3))
    with pytest.raises(ValueError, match="reduction must be"):
        F.poisson_nll_loss(x, x, reduction="avg")
    with pytest.raises(TypeError, match="by keyword"):
        F.poisson_nll_loss(x, x, True, False, "sum")


def test_gradcheck_float64():
    def inputs(*shapes):
        return [cr.tensor(rng.random(s) + 0.5, dtype="float64", requires_grad=True) for s in shapes]

    assert cr.gradcheck(
        lambda x, y: F.poisson_nll_loss(x, y, full=True, reduction="none"), *inputs((3, 2), (3, 2))
    )
    assert cr.gradcheck(
        lambda x, y: F.poisson_nll_loss(x, y, log_input=False), *inputs((3, 2), (3, 2))
    )
    assert cr.gradcheck(
        lambda x, y, v: F.gaussian_nll_loss(x, y, v, reduction="none"),
        *inputs((3, 2), (3, 2), (3,)),
    )


@ZERO_TARGETS
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_modules_match_torch(reduction):
    ours = nn.PoissonNLLLoss(False, True, None, 1e-4, None, reduction)
    theirs = torch.nn.PoissonNLLLoss(False, True, None, 1e-4, None, reduction)
    assert repr(ours) == repr(theirs) == "PoissonNLLLoss()"
    check(ours, theirs, [rng.random((4, 3)) * 4, _counts(4, 3)], {0, 1})
    ours, theirs = (
        nn.GaussianNLLLoss(full=True, eps=1e-3, reduction=reduction),
        torch.nn.GaussianNLLLoss(full=True, eps=1e-3, reduction=reduction),
    )
    assert repr(ours) == repr(theirs)
    check(
        ours,
        theirs,
        [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random(4)],
        {0, 1, 2},
    )


def test_module_options_and_legacy_flags():
    with pytest.warns(UserWarning, match="deprecated"):
        assert nn.PoissonNLLLoss(True, False, False).reduction == "sum"
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only, as PyTorch's
    with pytest.raises(ValueError, match="reduction must be"):
        nn.PoissonNLLLoss(reduction="avg")
    module = nn.PoissonNLLLoss(log_input=False, eps=0.5)
    assert (module.log_input, module.full, module.eps) == (False, False, 0.5)
