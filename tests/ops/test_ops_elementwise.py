"""Elementwise arithmetic against PyTorch and finite differences (one line per op)."""

import numpy as np
import pytest
from op_check import BINARY, UNARY, away_from_zero, case, check_case, ids, normal, positive

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = [
    *case("add", lambda a, b: a + b, lambda a, b: a + b, BINARY),
    *case("sub", lambda a, b: a - b, lambda a, b: a - b, BINARY),
    *case("mul", lambda a, b: a * b, lambda a, b: a * b, BINARY),
    *case("div", lambda a, b: a / b, lambda a, b: a / b, BINARY, domain=[normal, away_from_zero]),
    *case("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, BINARY, domain=[positive, normal]),
    *case("maximum", cr.maximum, torch.maximum, BINARY),
    *case("minimum", cr.minimum, torch.minimum, BINARY),
    *case(
        "where", lambda a, b: cr.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), BINARY
    ),
    *case("radd", lambda a: 1.5 + a, lambda a: 1.5 + a, UNARY),
    *case("rsub", lambda a: 2.0 - a, lambda a: 2.0 - a, UNARY),
    *case("rmul", lambda a: 3.0 * a, lambda a: 3.0 * a, UNARY),
    *case("rdiv", lambda a: 2.0 / a, lambda a: 2.0 / a, UNARY, domain=away_from_zero),
    *case("rpow", lambda a: 2.0**a, lambda a: 2.0**a, UNARY),
    *case("neg", lambda a: -a, lambda a: -a, UNARY),
    *case("exp", cr.exp, torch.exp, UNARY),
    *case("log", cr.log, torch.log, UNARY, domain=positive),
    *case("sqrt", cr.sqrt, torch.sqrt, UNARY, domain=positive),
    *case("abs", cr.abs, torch.abs, UNARY, domain=away_from_zero),
    *case("pow2", lambda a: a**2, lambda a: a**2, UNARY),
    *case("pow3", lambda a: a**3, lambda a: a**3, UNARY),
    *case("pow_half", lambda a: a**0.5, lambda a: a**0.5, UNARY, domain=positive),
    *case("pow_neg", lambda a: a**-1.5, lambda a: a**-1.5, UNARY, domain=positive),
    *case("clip", lambda a: cr.clip(a, -0.5, 0.7), lambda a: torch.clamp(a, -0.5, 0.7), UNARY),
    *case("clip_min", lambda a: a.clamp(min=0.2), lambda a: a.clamp(min=0.2), UNARY),
    *case("clip_max", lambda a: a.clip(max=0.2), lambda a: a.clamp(max=0.2), UNARY),
    *case(
        "cast",
        lambda a: a.double().astype(a.dtype) * a.float().astype(a.dtype),
        lambda a: a.double().to(a.dtype) * a.float().to(a.dtype),
        UNARY,
        gradcheck=False,
    ),
    *case("clone", lambda a: a.clone() * 2, lambda a: a.clone() * 2, UNARY),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_elementwise(c, dtype):
    check_case(c, dtype)


@pytest.mark.parametrize("ours, theirs", [(cr.maximum, torch.maximum), (cr.minimum, torch.minimum)])
def test_maximum_minimum_ties_split_the_gradient(ours, theirs):
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, 5.0])
    x, y = (
        cr.tensor(a, dtype="float64", requires_grad=True),
        cr.tensor(b, dtype="float64", requires_grad=True),
    )
    ours(x, y).sum().backward()
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    theirs(tx, ty).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    np.testing.assert_array_equal(y.grad, ty.grad.numpy())
    assert x.grad[0] == 0.5 and y.grad[0] == 0.5


def test_clip_boundaries_pass_the_gradient_like_torch():
    a = np.array([-1.0, -0.5, 0.0, 0.7, 2.0])
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    cr.clip(x, -0.5, 0.7).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    torch.clamp(t, -0.5, 0.7).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_ndarray_on_the_left_gives_a_tensor():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x - np.array([1.0, 1.0], dtype=np.float32)
    assert isinstance(y, cr.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_python_scalars_never_upcast():
    x = cr.tensor([1.0, 2.0])
    for y in (x + 1.5, 2.0 * x, x / 3, x**2, 2.0**x, 1 - x):
        assert y.dtype == np.float32


def test_comparisons_are_bool_and_without_grad():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x == 2, x != 2, x < 2, x <= 2, x > 2, x >= 2):
        assert result.dtype == np.bool_ and not result.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])


def test_where_masked_branch_nan_gradient_is_pinned():
    """Documented behaviour (docs/ops.md): the masked branch's NaN derivative times 0 is NaN."""
    a = np.array([-1.0, 4.0])
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cr.where(x > 0, cr.sqrt(x), 0.0).sum().backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 0.25
    t = torch.tensor(a, requires_grad=True)
    torch.where(t > 0, torch.sqrt(t), 0.0).sum().backward()
    assert np.isnan(t.grad[0].item())  # PyTorch behaves the same way

    # the safe pattern: make the masked branch's input harmless before the risky op
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    with np.errstate(all="raise"):
        cr.where(x > 0, cr.sqrt(cr.where(x > 0, x, 1.0)), 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.25])
