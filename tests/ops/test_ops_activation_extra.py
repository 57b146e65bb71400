"""PReLU, Mish, Hardswish, Hardsigmoid, Softsign, Tanhshrink, Threshold, GLU, Softmin, bilinear
and conv3d against PyTorch (values and gradients, float32 and float64) and float64 finite
differences; PyTorch's gradients at the kinks; second derivatives; argument errors."""

import numpy as np
import pytest
from op_check import UNARY, away_from_zero, case, check_case, ids

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def off_kinks(rng, shape):
    """Normal values times 4, kept 0.05 away from the kinks at −3, 0 and 3."""
    x = rng.standard_normal(shape) * 4
    for kink in (-3.0, 0.0, 3.0):
        near = np.abs(x - kink) < 0.05
        x = np.where(near, kink + np.where(x >= kink, 0.05, -0.05), x)
    return x


def slopes(rng, shape):
    """PReLU's slopes: some negative, some above 1."""
    return rng.uniform(-0.5, 1.5, shape)


def wide(rng, shape):
    return away_from_zero(rng, shape) * 8


# torch's hardsigmoid gradient is float32's 1/6 even in float64; ours is 1/6 in the input's dtype
SIXTH = {"float64": dict(rtol=1e-7)}

CASES = [
    *case("mish", F.mish, TF.mish, UNARY, domain=wide),
    *case("hardswish", F.hardswish, TF.hardswish, UNARY, domain=off_kinks),
    *case("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, UNARY, domain=off_kinks, tol=SIXTH),
    *case("softsign", F.softsign, TF.softsign, UNARY, domain=wide),
    *case("tanhshrink", F.tanhshrink, TF.tanhshrink, UNARY),
    *case(
        "threshold",
        lambda x: F.threshold(x, 0.0, -2.5),
        lambda t: TF.threshold(t, 0.0, -2.5),
        UNARY,
        domain=away_from_zero,
    ),
    *case("glu", F.glu, TF.glu, [((4, 6),), ((2, 3, 4),)]),
    *case("glu_dim0", lambda x: F.glu(x, 0), lambda t: TF.glu(t, 0), [((4, 3),), ((2, 5),)]),
    *case("glu_dim1", lambda x: F.glu(x, dim=-2), lambda t: TF.glu(t, -2), [((3, 4, 5),)]),
    *case("softmin", lambda x: F.softmin(x, 1), lambda t: TF.softmin(t, 1), [((4, 3),)]),
    *case("softmin_0", lambda x: F.softmin(x, dim=0), lambda t: TF.softmin(t, 0), [((2, 3, 4),)]),
    *case(
        "prelu",
        F.prelu,
        TF.prelu,
        [((), (1,)), ((5,), (1,)), ((4, 3), (1,)), ((4, 3), (3,)), ((2, 3, 4, 5), (3,))],
        domain=[away_from_zero, slopes],
    ),
    *case(
        "bilinear",
        F.bilinear,
        TF.bilinear,
        [((5, 3), (5, 4), (2, 3, 4), (2,)), ((3,), (4,), (2, 3, 4), (2,))],
    ),
    *case(
        "bilinear_batch",
        lambda a, b, w: F.bilinear(a, b, w),
        lambda a, b, w: TF.bilinear(a, b, w),
        [((2, 3, 2), (2, 3, 5), (4, 2, 5))],
    ),
    *case(
        "conv3d",
        F.conv3d,
        TF.conv3d,
        [((2, 3, 4, 5, 4), (4, 3, 2, 3, 2), (4,)), ((3, 4, 4, 3), (2, 3, 3, 1, 2), (2,))],
    ),
    *case(
        "conv3d_options",
        lambda x, w: F.conv3d(x, w, None, (2, 1, 2), (1, 0, 2), (2, 1, 1), 2),
        lambda x, w: TF.conv3d(x, w, None, (2, 1, 2), (1, 0, 2), (2, 1, 1), 2),
        [((2, 4, 6, 5, 5), (6, 2, 2, 3, 2))],
    ),
    *case(
        "conv3d_same",
        lambda x, w, b: F.conv3d(x, w, b, padding="same", dilation=(1, 2, 1)),
        lambda x, w, b: TF.conv3d(x, w, b, padding="same", dilation=(1, 2, 1)),
        [((1, 2, 4, 5, 6), (3, 2, 2, 2, 3), (3,))],
    ),
    *case(
        "conv3d_valid_depthwise",
        lambda x, w: F.conv3d(x, w, padding="valid", groups=3, stride=(1, 2, 1)),
        lambda x, w: TF.conv3d(x, w, padding="valid", groups=3, stride=(1, 2, 1)),
        [((2, 3, 3, 5, 4), (3, 1, 2, 2, 2))],
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_against_torch_and_finite_differences(c, dtype):
    check_case(c, dtype)


KINKS = np.array([-4.0, -3.0, -1.0, -0.0, 0.0, 1.0, 3.0, 4.0, np.nan])
AT_KINKS = {
    "hardswish": (F.hardswish, TF.hardswish),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "threshold": (lambda x: F.threshold(x, 1.0, 7.0), lambda t: TF.threshold(t, 1.0, 7.0)),
    "prelu": (lambda x: F.prelu(x, cr.tensor([0.25])), lambda t: TF.prelu(t, torch.tensor([0.25]))),
    "softsign": (F.softsign, TF.softsign),
    "mish": (F.mish, TF.mish),
}


@pytest.mark.parametrize("name", sorted(AT_KINKS))
def test_values_and_gradients_at_the_kinks_are_pytorchs(name):
    """Which side owns each boundary (z = ±3, the threshold, 0) and what NaN does, as PyTorch."""
    ours, theirs = AT_KINKS[name]
    x = cr.tensor(KINKS, requires_grad=True)
    ours(x).backward(cr.ones(KINKS.size))
    t = torch.tensor(KINKS.astype(np.float32), requires_grad=True)
    expected = theirs(t)
    expected.backward(torch.ones(KINKS.size))
    np.testing.assert_allclose(ours(cr.tensor(KINKS)).numpy(), expected.detach().numpy(), 1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


EXTREME = np.array([-1000.0, -100.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 100.0, 1000.0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("mish", F.mish, TF.mish),
        ("softsign", F.softsign, TF.softsign),
        ("tanhshrink", F.tanhshrink, TF.tanhshrink),
        ("hardswish", F.hardswish, TF.hardswish),
    ],
)
def test_stable_at_plus_minus_1000(name, ours, theirs, dtype):
    x = cr.tensor(EXTREME, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = ours(x)
        out.backward(cr.ones(EXTREME.size, dtype=dtype))
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    t = torch.tensor(EXTREME.astype(dtype), requires_grad=True)
    theirs(t).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), theirs(t).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


SECOND = {
    "mish": (lambda x: F.mish(x).sum(), [(4, 3)]),
    "hardswish": (lambda x: (F.hardswish(x) ** 2).sum(), [(4, 3)]),
    "softsign": (lambda x: F.softsign(x).sum(), [(4, 3)]),
    "tanhshrink": (lambda x: F.tanhshrink(x).sum(), [(4, 3)]),
    "threshold": (lambda x: (F.threshold(x, 0.1, 2.0) ** 2).sum(), [(4, 3)]),
    "hardsigmoid": (lambda x: (F.hardsigmoid(x) ** 2).sum(), [(4, 3)]),
    "prelu": (lambda x, w: (F.prelu(x, w) ** 2).sum(), [(2, 3, 4), (3,)]),
    "glu": (lambda x: F.glu(x).sum(), [(3, 4)]),
    "bilinear": (lambda a, b, w: F.bilinear(a, b, w).sum(), [(3, 2), (3, 4), (2, 2, 4)]),
    "conv3d": (
        lambda x, w: (F.conv3d(x, w, padding=1) ** 2).sum(),
        [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)],
    ),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives_match_finite_differences(name):
    fn, shapes = SECOND[name]
    rng = np.random.default_rng(3)
    inputs = [cr.tensor(off_kinks(rng, s), dtype="float64", requires_grad=True) for s in shapes]
    assert gradgradcheck(fn, *inputs)


def test_mish_hessian_vector_product_matches_torch():
    x = np.random.default_rng(0).standard_normal(6) * 3
    ours = cr.tensor(x, dtype="float64", requires_grad=True)
    (g,) = cr.autograd.grad(F.mish(ours).sum(), [ours], create_graph=True)
    (h,) = cr.autograd.grad((g * g).sum(), [ours])
    theirs = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(TF.mish(theirs).sum(), [theirs], create_graph=True)
    (th,) = torch.autograd.grad((tg * tg).sum(), [theirs])
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.prelu(cr.ones(2, 3), cr.ones(4)), cr.ShapeError, "channel size = 3"),
        (lambda: F.prelu(cr.ones(3), cr.ones(3)), cr.ShapeError, "channel size = 1"),
        (lambda: F.prelu(cr.ones(2, 3), cr.ones(1, 3)), cr.ShapeError, "scalar or 1D"),
        (lambda: F.prelu(cr.tensor([1, 2]), cr.ones(1)), cr.DTypeError, "floating-point"),
        (lambda: F.glu(cr.ones(2, 3)), cr.ShapeError, "dimension 1 is size 3"),
        (lambda: F.glu(cr.tensor(1.0)), cr.ShapeError, "scalars"),
        (lambda: F.glu(cr.ones(2, 4), dim=2), IndexError, "out of range"),
        (
            lambda: F.bilinear(cr.ones(2, 3), cr.ones(2, 4), cr.ones(5, 3, 3)),
            cr.ShapeError,
            "input2 size does not match weight size: got 4 but expected 3",
        ),
        (
            lambda: F.bilinear(cr.ones(2, 3), cr.ones(3, 4), cr.ones(5, 3, 4)),
            cr.ShapeError,
            "dimensions do not match at dim 0",
        ),
        (lambda: F.bilinear(cr.ones(2, 3), cr.ones(2, 4), cr.ones(3, 4)), cr.ShapeError, "3-D"),
        (
            lambda: F.bilinear(cr.ones(2, 3), cr.ones(2, 4), cr.ones(5, 3, 4), cr.ones(4)),
            cr.ShapeError,
            r"bias must have shape \(5,\)",
        ),
        (lambda: F.conv3d(cr.ones(1, 2, 4, 4), cr.ones(3, 2, 1, 1, 1)), cr.ShapeError, "channels"),
        (lambda: F.conv3d(cr.ones(2, 4, 4, 4), cr.ones(3, 2, 1, 1)), cr.ShapeError, "5-D weight"),
        (lambda: F.conv3d(cr.ones(1, 2, 2, 4, 4), cr.ones(3, 2, 3, 1, 1)), cr.ShapeError, "depth"),
        (
            lambda: F.conv3d(cr.ones(1, 2, 4, 4, 4), cr.ones(3, 2, 1, 1, 1), stride=(1, 2)),
            ValueError,
            "triple",
        ),
        (
            lambda: F.conv3d(
                cr.ones(1, 2, 4, 4, 4), cr.ones(3, 2, 1, 1, 1), stride=2, padding="same"
            ),
            ValueError,
            "stride 1",
        ),
        (
            lambda: F.conv3d(cr.ones(1, 2, 4, 4, 4), cr.ones(3, 2, 1, 1, 1), padding="full"),
            ValueError,
            "'valid' or 'same'",
        ),
        (
            lambda: F.conv3d(cr.ones(1, 2, 4, 4, 4), cr.ones(3, 1, 1, 1, 1), groups=2),
            cr.ShapeError,
            "groups",
        ),
        (
            lambda: F.conv3d(cr.ones(1, 2, 4, 4, 4), cr.ones(3, 2, 1, 1, 1, dtype="float64")),
            cr.DTypeError,
            "float64 weight",
        ),
    ],
)
def test_bad_arguments_are_refused_with_what_to_do(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_softmin_without_dim_warns_and_picks_pytorchs_dim():
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.warns(UserWarning, match="softmin"):
        ours = F.softmin(cr.tensor(x))
    with pytest.warns(UserWarning):
        theirs = TF.softmin(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_inplace_functions_write_into_the_input_like_pytorch():
    for ours, theirs in [
        (lambda x: F.hardswish(x, inplace=True), lambda t: TF.hardswish(t, inplace=True)),
        (
            lambda x: F.threshold(x, 0.0, 9.0, inplace=True),
            lambda t: TF.threshold(t, 0.0, 9.0, inplace=True),
        ),
        (lambda x: F.mish(x, inplace=True), lambda t: TF.mish(t, inplace=True)),
    ]:
        x, t = cr.tensor([-4.0, -1.0, 2.0]), torch.tensor([-4.0, -1.0, 2.0])
        assert ours(x) is x
        theirs(t)
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
