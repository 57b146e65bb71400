"""float16 arithmetic (+ − × ÷ // % **, out of place and in place) against PyTorch, bit for bit:
values, dtypes and gradients, for tensor∘tensor, tensor∘number, number∘tensor and by a 0-d float32
tensor (ops/half_scalar.py). NaNs compare as one NaN: their sign is no part of either library's
contract."""

import operator

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, -3.0, 7.0, 0.1, 0.3, 1e-3, 6e-8, -6e-8, 100.0]
SPECIALS += [1000.0, -1000.0, 65504.0, -65504.0, np.inf, -np.inf, np.nan]


def _values(seed: int) -> np.ndarray:
    """Specials, normal numbers at several scales, small integers and random bit patterns."""
    rng = np.random.default_rng(seed)
    parts = [
        np.array(SPECIALS),
        rng.standard_normal(300) * 3,
        rng.standard_normal(300) * 300,
        rng.uniform(-1e-3, 1e-3, 200),
        rng.integers(-20, 20, 200),
        rng.integers(0, 2**16, 1000).astype(np.uint16).view(np.float16),
    ]
    return np.concatenate([p.astype(np.float16) for p in parts])


A, B = _values(1), _values(2)
UPSTREAM = np.random.default_rng(3).standard_normal(A.shape).astype(np.float16)

OPS = {
    "+": (operator.add, operator.iadd),
    "-": (operator.sub, operator.isub),
    "*": (operator.mul, operator.imul),
    "/": (operator.truediv, operator.itruediv),
    "//": (operator.floordiv, operator.ifloordiv),
    "%": (operator.mod, operator.imod),
    "**": (operator.pow, operator.ipow),
}
NUMBERS = [3, -2, 0.1, -7.3, 1e-3, 1e5, 1 / 3, np.float64(0.1)]
EXPONENTS = [2, 3, -1, -2, 0.5, -0.5, 0.1, 1 / 3, 2.5, np.float64(0.3)]


def _bits(x) -> np.ndarray:
    x = np.asarray(x)
    assert x.dtype == np.float16, x.dtype
    bits = x.view(np.uint16).copy()
    bits[np.isnan(x)] = 0x7E00
    return bits


def _assert_same(ours, theirs):
    np.testing.assert_array_equal(_bits(np.asarray(ours)), _bits(np.asarray(theirs)))


def _tensors(values, requires_grad=False):
    ours = cr.tensor(values, dtype="float16", requires_grad=requires_grad)
    return ours, torch.tensor(values, requires_grad=requires_grad)


def _numbers(symbol):
    return EXPONENTS if symbol == "**" else NUMBERS


def _cases(form):
    return [(s, n) for s in OPS for n in _numbers(s)] if form else list(OPS)


@pytest.mark.parametrize("symbol", list(OPS))
@pytest.mark.parametrize("in_place", [False, True])
def test_tensor_with_tensor(symbol, in_place):
    op = OPS[symbol][in_place]
    (ca, ta), (cb, tb) = _tensors(A), _tensors(B)
    _assert_same(op(ca, cb).numpy(), op(ta, tb).numpy())


@pytest.mark.parametrize(("symbol", "number"), _cases("number"))
@pytest.mark.parametrize("in_place", [False, True])
def test_tensor_with_number(symbol, number, in_place):
    op = OPS[symbol][in_place]
    ca, ta = _tensors(A)
    _assert_same(op(ca, number).numpy(), op(ta, number).numpy())


@pytest.mark.parametrize(("symbol", "number"), _cases("number"))
def test_number_with_tensor(symbol, number):
    op = OPS[symbol][0]
    cb, tb = _tensors(B)
    _assert_same(op(number, cb).numpy(), op(number, tb).numpy())


@pytest.mark.parametrize(("symbol", "number"), _cases("number"))
def test_tensor_with_a_0d_float32_tensor(symbol, number):
    """PyTorch reads a right-hand 0-d tensor of another float dtype as a number (in float32)."""
    op = OPS[symbol][0]
    ca, ta = _tensors(A)
    cz, tz = cr.tensor(number, dtype="float32"), torch.tensor(number, dtype=torch.float32)
    _assert_same(op(ca, cz).numpy(), op(ta, tz).numpy())


def _backward(a, b, op, upstream):
    out = op(a, b)
    out.backward(upstream)
    return [x.grad.numpy() for x in (a, b) if hasattr(x, "grad") and x.grad is not None]


def _assert_same_gradients(ca, cb, ta, tb, op):
    ours = _backward(ca, cb, op, UPSTREAM)
    theirs = _backward(ta, tb, op, torch.tensor(UPSTREAM))
    assert len(ours) == len(theirs)
    for our_grad, their_grad in zip(ours, theirs):
        _assert_same(our_grad, their_grad)


DIFFERENTIABLE = [s for s in OPS if s != "//"]  # PyTorch's // raises in backward, as ours


@pytest.mark.parametrize("symbol", DIFFERENTIABLE)
def test_gradients_tensor_with_tensor(symbol):
    (ca, ta), (cb, tb) = _tensors(A, True), _tensors(B, True)
    _assert_same_gradients(ca, cb, ta, tb, OPS[symbol][0])


@pytest.mark.parametrize(("symbol", "number"), [c for c in _cases("n") if c[0] != "//"])
def test_gradients_tensor_with_number(symbol, number):
    ca, ta = _tensors(A, True)
    _assert_same_gradients(ca, number, ta, number, OPS[symbol][0])


@pytest.mark.parametrize(("symbol", "number"), [c for c in _cases("n") if c[0] not in "//%"])
def test_gradients_number_with_tensor(symbol, number):
    cb, tb = _tensors(B, True)
    _assert_same_gradients(number, cb, number, tb, OPS[symbol][0])


@pytest.mark.parametrize("base", [0, 0.0, 2, 0.1])
def test_gradient_of_a_number_to_a_float16_power(base):
    """ln(number) in float32, and 0 (times the gradient: −0 too) where 0 ** x is flat."""
    cb, tb = _tensors(B[:300], True)
    upstream = UPSTREAM[:300]
    ours, theirs = base**cb, base**tb
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    _assert_same(ours.detach().numpy(), theirs.detach().numpy())
    _assert_same(cb.grad.numpy(), tb.grad.numpy())


def test_one_element_divisor_floor_divides_in_float32_as_pytorch():
    """PyTorch's // by a one-element float16 tensor takes its float32 path, by more its float16
    steps: 2 // 0.000605 is 3304 for one element, 3306 for two."""
    for size in (1, 2):
        cb, tb = _tensors(np.full(size, 0.000605, np.float16))
        ca, ta = _tensors(np.full(size, 2.0, np.float16))
        _assert_same((ca // cb).numpy(), (ta // tb).numpy())
    cb, tb = _tensors(np.full(1, 0.000605, np.float16))
    ca, ta = _tensors(A)
    _assert_same((ca // cb).numpy(), (ta // tb).numpy())


def test_in_place_remainder_keeps_the_dividends_zero_sign():
    """-4 % 2 is −0 and 3 % −1.5 is +0 in PyTorch, in place as out of place (float32 too)."""
    for dtype in ("float16", "float32"):
        ours = cr.tensor([3.0, -4.0, 0.5, -0.5], dtype=dtype)
        theirs = torch.tensor([3.0, -4.0, 0.5, -0.5], dtype=getattr(torch, dtype))
        divisor = [-1.5, 2.0, 0.25, -0.25]
        ours %= cr.tensor(divisor, dtype=dtype)
        theirs %= torch.tensor(divisor, dtype=getattr(torch, dtype))
        assert np.signbit(ours.numpy()).tolist() == np.signbit(theirs.numpy()).tolist()


def test_in_place_float16_keeps_its_errors_and_promotions():
    """A shape that does not fit raises the in-place ShapeError; a float32 operand goes through
    float32 and is written back, as PyTorch's."""
    x = cr.tensor([1.0, 2.0], dtype="float16")
    with pytest.raises(cr.ShapeError, match="mul_"):
        x *= cr.tensor([1.0, 2.0, 3.0], dtype="float16")
    ca, ta = _tensors(A)
    ca *= cr.tensor(B, dtype="float32")
    ta *= torch.tensor(B, dtype=torch.float32)
    _assert_same(ca.numpy(), ta.numpy())


@pytest.mark.parametrize(("base", "exponent"), [(2, None), (0.1, None), (0, None), (None, 0.3)])
def test_first_and_second_derivative_of_float16_powers(base, exponent):
    """With create_graph the gradient is built from ops, and it keeps PyTorch's bits too."""
    values = B[:300]

    def power(x):
        return base**x if exponent is None else x**exponent

    grads = []
    for lib, x in zip((cr, torch), _tensors(values, True)):
        (grad,) = lib.autograd.grad(power(x).sum(), x, create_graph=True)
        grad.sum().backward()
        grads.append((grad.detach().numpy(), x.grad.numpy()))
    for ours, theirs in zip(*grads):
        _assert_same(ours, theirs)


@pytest.mark.parametrize("symbol", DIFFERENTIABLE)
def test_gradients_built_as_a_graph_tensor_with_tensor(symbol):
    """create_graph=True builds the gradients from ops (backward_graph): the same bits."""
    op = OPS[symbol][0]
    grads = []
    for lib, (a, b) in zip((cr, torch), zip(_tensors(np.abs(A)), _tensors(B))):
        a.requires_grad_(True)
        b.requires_grad_(True)
        grads.append(lib.autograd.grad(op(a, b).sum(), (a, b), create_graph=True))
    for ours, theirs in zip(*grads):
        _assert_same(ours.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize("divisor", ["tensor", "one element", 0.1, -7.3, 1e5])
@pytest.mark.parametrize("in_place", [False, True])
def test_div_with_a_rounding_mode(mode, divisor, in_place):
    """torch.div(x, y, rounding_mode=...): by a number or a one-element tensor in float32, by a
    tensor in float16 steps, as PyTorch's kernels."""
    ca, ta = _tensors(A)
    cb, tb = divisor, divisor
    if divisor == "tensor":
        cb, tb = _tensors(B)
    elif divisor == "one element":
        cb, tb = _tensors(np.full(1, 0.3, np.float16))
    if in_place:
        ours, theirs = ca.div_(cb, rounding_mode=mode), ta.div_(tb, rounding_mode=mode)
    else:
        ours, theirs = cr.div(ca, cb, rounding_mode=mode), torch.div(ta, tb, rounding_mode=mode)
    _assert_same(ours.numpy(), theirs.numpy())
