"""Parity probe, round 6: bool and small-integer arithmetic (``**``, ``//``, ``%`` of bools;
out-of-range Python ints with uint8/int8/... tensors) and the gradients of rounded divisions,
checked against PyTorch itself."""

import re

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _outcome(fn):
    """The value as a list with its dtype's name, or the kind of error PyTorch's code sees."""
    try:
        result = fn()
    except NotImplementedError:  # before RuntimeError: it is one
        return "NotImplementedError"
    except RuntimeError:
        return "RuntimeError"
    except OverflowError:
        return "OverflowError"
    return result.tolist(), str(result.dtype).replace("torch.", "")


def _with(op):
    """``op`` on a clone, returning the clone (for in-place ops and index assignment)."""

    def run(t):
        t = t.clone()
        op(t)
        return t

    return run


def _bool_calls(lib):
    b, c = lib.tensor([True, False, True, False]), lib.tensor([True, True, False, False])
    b0, i, f = lib.tensor(True), lib.tensor([1, 2, 3, 4]), lib.tensor([1.5, 2.0, -1.0, 0.5])
    calls = {
        "b ** c": lambda: b**c,
        "b ** True": lambda: b**True,
        "b ** False": lambda: b**False,
        "True ** c": lambda: True**c,
        "b ** b0": lambda: b**b0,
        "pow(b, c)": lambda: lib.pow(b, c),
        "b.pow(True)": lambda: b.pow(True),
        "b ** 2": lambda: b**2,
        "b ** 2.0": lambda: b**2.0,
        "b ** -1": lambda: b**-1,
        "b ** i": lambda: b**i,
        "i ** b": lambda: i**b,
        "f ** b": lambda: f**b,
        "b // c": lambda: b // c,
        "b // True": lambda: b // True,
        "True // c": lambda: True // c,
        "b // 2": lambda: b // 2,
        "b // f": lambda: b // f,
        "b % c": lambda: b % c,
        "b % True": lambda: b % True,
        "b % 2": lambda: b % 2,
        "i % c": lambda: i % c,  # divisor 0 where c is False
        "fmod(b, c)": lambda: lib.fmod(b, c),
        "fmod(b, True)": lambda: lib.fmod(b, True),
        "fmod(b, 2)": lambda: lib.fmod(b, 2),
        "remainder(b, True)": lambda: lib.remainder(b, True),
        "floor_divide(b, c)": lambda: lib.floor_divide(b, c),
        "div(b, c, floor)": lambda: lib.div(b, c, rounding_mode="floor"),
        "div(b, True, trunc)": lambda: lib.div(b, True, rounding_mode="trunc"),
        "b.pow_(True)": lambda: _with(lambda t: t.pow_(True))(b),
        "b **= c": lambda: _with(lambda t: t.__ipow__(c))(b),
        "b //= c": lambda: _with(lambda t: t.__ifloordiv__(c))(b),
        "b %= c": lambda: _with(lambda t: t.__imod__(c))(b),
        "b.fmod_(c)": lambda: _with(lambda t: t.fmod_(c))(b),
        "i // (c * 0)": lambda: i // (i * 0),
    }
    return {name: _outcome(call) for name, call in calls.items()}


def test_bool_powers_and_divisions_as_pytorchs():
    ours, theirs = _bool_calls(cr), _bool_calls(torch)
    assert ours == theirs
    assert ours["b ** True"] == ([True, False, True, False], "bool")
    assert ours["b // c"] == "NotImplementedError"


def test_the_refusals_name_the_fix():
    with pytest.raises(cr.errors.DTypeNotImplementedError, match=r"bool tensors.*mask\.long\(\)"):
        cr.tensor([True]) // cr.tensor([True])
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        cr.tensor([1]) // cr.tensor([0])  # still a ZeroDivisionError, as before
    with pytest.raises(RuntimeError, match="negative integer powers.*x.float\\(\\)"):
        cr.tensor([2]) ** -1


def _integer_calls(lib):
    u = lib.tensor([1, 2, 250], dtype=lib.uint8)
    i8 = lib.tensor([1, -2, 100], dtype=lib.int8)
    i32, i64 = lib.tensor([1, -2], dtype=lib.int32), lib.tensor([1, -2])
    calls = {
        "u + (-3)": lambda: u + (-3),
        "u + 300": lambda: u + 300,
        "u * -1": lambda: u * -1,
        "u + 2**40": lambda: u + 2**40,
        "u + 2**70": lambda: u + 2**70,
        "u - (-3)": lambda: u - (-3),
        "-3 - u": lambda: -3 - u,
        "300 * u": lambda: 300 * u,
        "u // -1": lambda: u // -1,
        "u % -3": lambda: u % -3,
        "fmod(u, -3)": lambda: lib.fmod(u, -3),
        "u & -1": lambda: u & -1,
        "u | 300": lambda: u | 300,
        "300 ^ u": lambda: 300 ^ u,
        "u == -3": lambda: u == -3,
        "u < 300": lambda: u < 300,
        "u > -1": lambda: u > -1,
        "u.add(-3)": lambda: u.add(-3),
        "add(u, 3, alpha=-2)": lambda: lib.add(u, 3, alpha=-2),
        "u.div(-1, trunc)": lambda: u.div(-1, rounding_mode="trunc"),
        "u.add_(-3)": lambda: _with(lambda t: t.add_(-3))(u),
        "u *= -1": lambda: _with(lambda t: t.__imul__(-1))(u),
        "i8 += 300": lambda: _with(lambda t: t.__iadd__(300))(i8),
        "u ** -1": lambda: u**-1,
        "i8 + 300": lambda: i8 + 300,
        "i8 * 200": lambda: i8 * 200,
        "i8 - (-129)": lambda: i8 - (-129),
        "i8 + np.int64(300)": lambda: i8 + np.int64(300),
        "i32 + 2**33": lambda: i32 + 2**33,
        "i32 * 2**31": lambda: i32 * 2**31,
        "i64 + 2**63": lambda: i64 + 2**63,
        "i64 + 2**64": lambda: i64 + 2**64,
        "i64 + (-2**63)": lambda: i64 + (-(2**63)),
        "u + (-3.0)": lambda: u + (-3.0),
        # written values are checked: an unsigned dtype takes down to -max (wrapped)
        "u.fill_(-1)": lambda: _with(lambda t: t.fill_(-1))(u),
        "u.fill_(-255)": lambda: _with(lambda t: t.fill_(-255))(u),
        "u.fill_(-256)": lambda: _with(lambda t: t.fill_(-256))(u),
        "u.fill_(300)": lambda: _with(lambda t: t.fill_(300))(u),
        "i8.fill_(128)": lambda: _with(lambda t: t.fill_(128))(i8),
        "i8.fill_(-128)": lambda: _with(lambda t: t.fill_(-128))(i8),
        "u.masked_fill(-1)": lambda: u.masked_fill(u > 1, -1),
        "u.masked_fill(300)": lambda: u.masked_fill(u > 1, 300),
        "u.masked_fill_(-2)": lambda: _with(lambda t: t.masked_fill_(t > 1, -2))(u),
        "u[0] = -1": lambda: _with(lambda t: t.__setitem__(0, -1))(u),
        "u[0] = 256": lambda: _with(lambda t: t.__setitem__(0, 256))(u),
        "u[u > 1] = -2": lambda: _with(lambda t: t.__setitem__(t > 1, -2))(u),
        "i8[0] = 128": lambda: _with(lambda t: t.__setitem__(0, 128))(i8),
        "clamp(u, min=-1)": lambda: u.clamp(min=-1),
        "clamp(u, -5, 300)": lambda: lib.clamp(u, -5, 300),
        "where(u > 1, u, -1)": lambda: lib.where(u > 1, u, -1),
        "where(u > 1, 300, u)": lambda: lib.where(u > 1, 300, u),
        "full(-1, uint8)": lambda: lib.full((2,), -1, dtype=lib.uint8),
        "full(300, uint8)": lambda: lib.full((2,), 300, dtype=lib.uint8),
        "tensor([[1, -1], [255, -255]], uint8)": lambda: lib.tensor(
            [[1, -1], [255, -255]], dtype=lib.uint8
        ),
        "tensor([256], uint8)": lambda: lib.tensor([256], dtype=lib.uint8),
        "tensor([-129], int8)": lambda: lib.tensor([-129], dtype=lib.int8),
        "u.copy_(int64)": lambda: _with(lambda t: t.copy_(lib.tensor([-1, -2, 300])))(u),
    }
    return {name: _outcome(call) for name, call in calls.items()}


def test_out_of_range_python_ints_wrap_or_raise_as_pytorch():
    ours, theirs = _integer_calls(cr), _integer_calls(torch)
    assert ours == theirs
    assert ours["u + (-3)"] == ([254, 255, 247], "uint8")
    assert ours["u.fill_(300)"] == "RuntimeError"


def _rounded_division_story(lib):
    """What backward through each rounding op gives: gradients, or the error's first words."""
    results = {}
    for name, fn in {
        "x // y": lambda x, y: x // y,
        "x // 2": lambda x, y: x // 2,
        "3 // y": lambda x, y: 3 // y,
        "floor_divide": lambda x, y: lib.floor_divide(x, y),
        "x.floor_divide(y)": lambda x, y: x.floor_divide(y),
        "(x // y) * x": lambda x, y: (x // y) * x,
        "div floor": lambda x, y: lib.div(x, y, rounding_mode="floor"),
        "div trunc": lambda x, y: lib.div(x, y, rounding_mode="trunc"),
        "x.div(2, floor)": lambda x, y: x.div(2, rounding_mode="floor"),
        "x % y": lambda x, y: x % y,
        "x % 2": lambda x, y: x % 2,
        "3 % y": lambda x, y: 3 % y,
        "np.float64(3) % y": lambda x, y: np.float64(3.0) % y,
        "remainder(3, y)": lambda x, y: lib.remainder(3, y),
        "tensor(3) % y": lambda x, y: lib.tensor(3.0) % y,
        "fmod(x, y)": lambda x, y: lib.fmod(x, y),
        "fmod(x, 2)": lambda x, y: lib.fmod(x, 2),
        "round": lambda x, y: lib.round(x),
        "round(decimals=1)": lambda x, y: lib.round(x, decimals=1),
        "floor": lambda x, y: lib.floor(x),
        "ceil": lambda x, y: lib.ceil(x),
        "trunc": lambda x, y: lib.trunc(x),
        "sign": lambda x, y: lib.sign(x),
    }.items():
        x = lib.tensor([7.5, -3.2, 4.0, 2.5], requires_grad=True)
        y = lib.tensor([2.0, 1.5, -2.0, 0.5], requires_grad=True)
        out = fn(x, y)
        entry = [out.tolist(), out.requires_grad, out.grad_fn.name()]
        try:
            out.sum().backward()
            entry += [None if t.grad is None else t.grad.tolist() for t in (x, y)]
        except RuntimeError as err:
            entry.append(re.match(r"derivative for aten::\w+ is not implemented", str(err))[0])
        results[name] = entry
    return results


def test_gradients_of_rounded_divisions_as_pytorchs():
    ours, theirs = _rounded_division_story(cr), _rounded_division_story(torch)
    assert ours == theirs
    assert ours["x // y"][-1] == "derivative for aten::floor_divide is not implemented"
    assert ours["div floor"][-2:] == [[0.0] * 4, [0.0] * 4]


def test_a_floor_division_in_the_graph_is_fine_until_backward_reaches_it():
    def run(lib):
        x = lib.tensor([7.5, -3.2], requires_grad=True)
        z = lib.tensor([1.0], requires_grad=True)
        quotient = x // 2
        loss = (quotient.detach() * x).sum() + z.sum()  # a detached quotient is a constant
        loss.backward()
        with lib.no_grad():
            assert not (x // 2).requires_grad
        return x.grad.tolist(), repr(quotient).split("grad_fn=")[1]

    assert run(cr) == run(torch) == ([3.0, -2.0], "<NotImplemented>)")


def test_floor_division_has_no_derivative_in_autograd_grad_either():
    x = cr.tensor([7.5, -3.2], requires_grad=True)
    with pytest.raises(cr.errors.GraphError, match=r'rounding_mode="floor"'):
        cr.autograd.grad((x // 2).sum(), x)
    with pytest.raises(cr.errors.GraphError, match="floor_divide"):
        cr.autograd.grad((x * x + x // 2).sum(), x, create_graph=True)


def _probe_round6_calls(lib):
    x = lib.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    logits = lib.tensor([[1, 2], [3, 4]])
    calls = {
        "where(int cond)": lambda: lib.where(lib.tensor([1, 0, 2]), 1.0, 0.0),
        "where(float cond)": lambda: lib.where(lib.tensor([1.0, 0.0, 2.0]), 1.0, 0.0),
        "where(bool cond)": lambda: lib.where(x > 0, x, 0.0),
        "index_select(-1)": lambda: lib.index_select(x, 1, lib.tensor([-1])),
        "index_select(3)": lambda: lib.index_select(x, 1, lib.tensor([3])),
        "index_select(0, [-2])": lambda: x.index_select(0, lib.tensor([-2])),
        "index_select ok": lambda: x.index_select(1, lib.tensor([2, 0, 2])),
        "cat([empty, 2-D])": lambda: lib.cat([lib.tensor([]), x]),
        "cat([2-D, empty], 1)": lambda: lib.cat([x, lib.tensor([])], 1),
        "cat([empty, empty])": lambda: lib.cat([lib.tensor([]), lib.tensor([])]),
        "cat([empty, ints])": lambda: lib.cat([lib.tensor([]), lib.tensor([1, 2])]),
        "cat([(0, 3), 2-D])": lambda: lib.cat([lib.zeros(0, 3), x]),
        "stack([empty, 2-D])": lambda: lib.stack([lib.tensor([]), x]),
        "softmax(int, dtype)": lambda: lib.softmax(logits, 1, dtype=lib.float64),
        "log_softmax(dtype)": lambda: logits.float().log_softmax(0, dtype=lib.float64),
        "F.softmax(dtype)": lambda: lib.nn.functional.softmax(x, 1, dtype=lib.float64),
        "F.log_softmax(dtype)": lambda: lib.nn.functional.log_softmax(x, dim=0, dtype=lib.float64),
        "x.softmax(dim, dtype)": lambda: x.softmax(1, lib.float64),
    }
    results = {}
    for name, call in calls.items():
        try:  # PyTorch's index_select raises IndexError on dim 0, RuntimeError on dim 1
            outcome = _outcome(call)
        except IndexError:
            outcome = "RuntimeError"
        if isinstance(outcome, tuple):  # softmax: values to 6 places
            values = np.round(np.array(outcome[0], dtype=float), 6).tolist()
            outcome = values, outcome[1]
        results[name] = outcome
    return results


def test_where_index_select_cat_and_softmax_dtype_as_pytorchs():
    assert _probe_round6_calls(cr) == _probe_round6_calls(torch)


def test_softmax_dtype_converts_inside_the_graph():
    def run(lib):
        x = lib.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
        y = lib.nn.functional.log_softmax(x, 1, dtype=lib.float64)
        (y * lib.tensor([[1.0, 0.0, 2.0]], dtype=lib.float64)).sum().backward()
        return str(y.dtype).replace("torch.", ""), np.round(x.grad.numpy(), 6).tolist()

    assert run(cr) == run(torch)


def test_detach_in_place_as_pytorch_for_leaves_and_refused_for_op_outputs():
    def run(lib):
        leaf = lib.tensor([1.0, 2.0], requires_grad=True)
        plain = lib.ones(2)
        return [
            (t.detach_() is t, t.requires_grad, t.is_leaf, t.grad_fn is None) for t in (leaf, plain)
        ]

    assert run(cr) == run(torch)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * 3
    with pytest.raises(cr.errors.GraphError, match=r"y = y.detach\(\)"):
        y.detach_()  # PyTorch detaches y and z still reaches x: refused rather than cut
    z.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_atan2_gradient_at_the_origin_is_zero_as_pytorchs():
    def run(lib):
        a = lib.tensor([1.0, 0.0, 0.0, -2.0], requires_grad=True)
        b = lib.tensor([1.0, 0.0, 3.0, 0.0], requires_grad=True)
        lib.atan2(a, b).sum().backward()
        return a.grad.numpy().tolist(), b.grad.numpy().tolist(), np.signbit(b.grad.numpy()).tolist()

    assert run(cr) == run(torch)
    assert not np.isnan(run(cr)[0]).any()


@pytest.mark.parametrize("p", [0.5, -0.5, 2, 3, -1, -2, 1.5, 0])
def test_number_powers_at_the_corners_as_pytorchs(p):
    """PyTorch computes x ** -0.5 as 1/√x (−0 gives −∞, −∞ NaN), x ** 3 as x·x·x, ...: the
    values and gradients at ±0, ±∞ and NaN, signs included, and on random floats for the
    powers PyTorch multiplies out, the bits."""
    corners = [float("-inf"), -2.0, -0.0, 0.0, 0.5, 2.0, float("inf"), float("nan")]
    values = np.concatenate([corners, np.random.default_rng(0).standard_normal(2000) * 3])

    def run(lib):
        x = lib.tensor(values.astype(np.float32), requires_grad=True)
        y = x**p
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    with np.errstate(all="ignore"):
        ours, theirs = run(cr), run(torch)
    n = len(corners)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine[:n], expected[:n])
        signed = ~np.isnan(expected[:n])
        np.testing.assert_array_equal(
            np.signbit(mine[:n])[signed], np.signbit(expected[:n])[signed]
        )
        np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=0)
    if p in (2, 3, -1, -2, -0.5):  # multiplied out as PyTorch does: the same bits
        np.testing.assert_array_equal(ours[0], theirs[0])


@pytest.mark.parametrize("name", ["fmax", "fmin"])
@pytest.mark.parametrize("n", [3, 11, 100])  # NumPy's own fmax answers a ±0 tie by size
def test_fmax_fmin_keep_the_first_zero_on_a_tie_as_pytorchs(name, n):
    rng = np.random.default_rng(n)
    a = rng.choice(np.array([-0.0, 0.0, np.nan, 1.0, -1.0, np.inf], np.float32), n)
    b = rng.choice(np.array([-0.0, 0.0, np.nan, 1.0, -1.0, -np.inf], np.float32), n)
    ours = getattr(cr, name)(cr.tensor(a), cr.tensor(b)).numpy()
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def _random_and_range_calls(lib):
    ints = lib.ones(3, dtype=lib.int64)
    calls = {
        "rand(int64)": lambda: lib.rand(2, dtype=lib.int64),
        "randn(bool)": lambda: lib.randn(2, dtype=lib.bool),
        "rand_like(int)": lambda: lib.rand_like(ints),
        "randn_like(int)": lambda: lib.randn_like(ints),
        "randn_like(float, dtype=int)": lambda: lib.randn_like(ints.float(), dtype=lib.int64),
        "normal_ on int": lambda: ints.clone().normal_(),
        "uniform_ on int": lambda: ints.clone().uniform_(0, 5),
        "rand float64 shape": lambda: lib.rand(2, dtype=lib.float64).sum() * 0,
        "arange(5, 0)": lambda: lib.arange(5, 0),
        "arange(0, 5, -1)": lambda: lib.arange(0, 5, -1),
        "arange(0.0, 1.0, -0.5)": lambda: lib.arange(0.0, 1.0, -0.5),
        "arange(1, 1, -1)": lambda: lib.arange(1, 1, -1),
        "arange(5, 0, -2)": lambda: lib.arange(5, 0, -2),
    }
    return {name: _outcome(call) for name, call in calls.items()}


def test_random_draws_refuse_integer_dtypes_and_arange_refuses_a_wrong_step_sign():
    assert _random_and_range_calls(cr) == _random_and_range_calls(torch)
    with pytest.raises(NotImplementedError, match="randint"):
        cr.randn(2, dtype=cr.int64)  # NumPy would have given truncated zeros
