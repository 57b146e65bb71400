"""Stable primitives against an mpmath reference (50 digits) for logits in [-1e4, 1e4].

Relative error ≤ 1e-12 in float64 and ≤ 1e-5 in float32, including the points where the naive
formulas break (|x| = 17 in float32, 37 in float64: there e^(−|x|) drops below the rounding of
1). A reference below the dtype's smallest normal number only has to be matched to within that
number (it underflows). Gradients must be finite everywhere and match too.
"""

import mpmath as mp
import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as fn

mp.mp.dps = 50
POINTS = [
    -1e4,
    -1000.0,
    -745.0,
    -100.0,
    -88.0,
    -37.0,
    -36.5,
    -17.0,
    -16.5,
    -5.0,
    -1.0,
    -1e-8,
    0.0,
    1e-8,
    1.0,
    5.0,
    16.5,
    17.0,
    36.5,
    37.0,
    88.0,
    100.0,
    745.0,
    1000.0,
    1e4,
]
RTOL = {"float64": 1e-12, "float32": 1e-5}


def _close(ours, ref, dtype, what):
    """|ours − ref| ≤ rtol·|ref|, or ≤ tiny where the reference underflows."""
    ours = np.asarray(ours, dtype=np.float64).ravel()
    ref = np.array([float(r) for r in np.ravel(ref)])
    tiny = float(np.finfo(dtype).tiny)
    assert np.isfinite(ours).all(), f"{what}: non-finite {ours}"
    bound = np.maximum(RTOL[dtype] * np.abs(ref), tiny)
    bad = np.abs(ours - ref) > bound
    assert not bad.any(), f"{what}: ours {ours[bad]} vs mpmath {ref[bad]}"


def _inputs(dtype):
    x = np.array(POINTS, dtype=dtype)
    return x, [mp.mpf(float(v)) for v in x]  # the reference sees the exact stored values


def _sig(v):
    return 1 / (1 + mp.exp(-v))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid(dtype):
    x, xs = _inputs(dtype)
    t = cr.tensor(x, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = fn.sigmoid(t)
        out.sum().backward()
    _close(out.data, [_sig(v) for v in xs], dtype, "sigmoid")
    _close(t.grad, [_sig(v) * _sig(-v) for v in xs], dtype, "sigmoid'")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log_sigmoid(dtype):
    x, xs = _inputs(dtype)
    t = cr.tensor(x, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = fn.log_sigmoid(t)
        out.sum().backward()
    _close(out.data, [-mp.log1p(mp.exp(-v)) for v in xs], dtype, "log_sigmoid")
    _close(t.grad, [_sig(-v) for v in xs], dtype, "log_sigmoid'")


@pytest.mark.parametrize("target", [0.0, 1.0, 0.25])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bce_with_logits(dtype, target):
    x, xs = _inputs(dtype)
    t = cr.tensor(x, dtype=dtype, requires_grad=True)
    y = np.full(x.shape, target, dtype=dtype)
    with np.errstate(all="raise", under="ignore"):
        out = fn.binary_cross_entropy_with_logits(t, y, reduction="none")
        out.sum().backward()
    tm = mp.mpf(target)
    # the same function in the form that does not cancel for the sign of v (50 digits are not
    # enough to subtract 1e4 from 1e4 + e^−1e4)
    ref = [
        (1 - tm) * v + mp.log1p(mp.exp(-v)) if v >= 0 else mp.log1p(mp.exp(v)) - tm * v for v in xs
    ]
    _close(out.data, ref, dtype, "bce")
    _close(t.grad, [(1 - tm) * _sig(v) - tm * _sig(-v) for v in xs], dtype, "bce'")


def _rows(dtype):
    """Logit rows [x, 0, −x/2] for every point: a large gap in both directions."""
    x, xs = _inputs(dtype)
    rows = np.stack([x, np.zeros_like(x), (x / 2).astype(dtype)], axis=1)
    return rows, [[mp.mpf(float(v)) for v in row] for row in rows]


def _mp_log_softmax(row):
    """ln softmax_i = −ln(1 + Σ_(j≠i) e^(v_j − v_i)): no huge terms for 50 digits to lose."""
    return [
        -mp.log1p(sum(mp.exp(w - v) for j, w in enumerate(row) if j != i))
        for i, v in enumerate(row)
    ]


def _mp_logsumexp(row):
    top = max(row)
    rest = list(row)
    rest.remove(top)
    return top + mp.log1p(sum(mp.exp(v - top) for v in rest))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log_softmax_and_softmax(dtype):
    rows, mrows = _rows(dtype)
    ref_log = [_mp_log_softmax(r) for r in mrows]
    g = np.array([1.0, -2.0, 0.5], dtype=dtype)
    for name, op, ref in [
        ("log_softmax", fn.log_softmax, ref_log),
        ("softmax", fn.softmax, [[mp.exp(v) for v in r] for r in ref_log]),
    ]:
        t = cr.tensor(rows, dtype=dtype, requires_grad=True)
        with np.errstate(all="raise", under="ignore"):
            out = op(t, dim=1)
            out.backward(np.broadcast_to(g, rows.shape))
        _close(out.data, ref, dtype, name)
        assert np.isfinite(t.grad).all()
        gm = [mp.mpf(float(v)) for v in g]
        if name == "log_softmax":  # g − p·Σg
            grad_ref = [[gm[i] - mp.exp(r[i]) * sum(gm) for i in range(3)] for r in ref_log]
        else:  # p·(g − Σ g·p)
            grad_ref = []
            for r in ref_log:
                p = [mp.exp(v) for v in r]
                dot = sum(a * b for a, b in zip(gm, p))
                grad_ref.append([p[i] * (gm[i] - dot) for i in range(3)])
        # the gradient is a difference of O(1) terms: compared to the row's scale
        scale = np.max(np.abs(np.array(grad_ref, dtype=float)), axis=1, keepdims=True)
        diff = np.abs(t.grad - np.array(grad_ref, dtype=float))
        assert (diff <= 4 * np.finfo(dtype).eps * np.maximum(scale, 1)).all(), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_logsumexp(dtype):
    rows, mrows = _rows(dtype)
    t = cr.tensor(rows, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = cr.logsumexp(t, axis=1)
        out.sum().backward()
    _close(out.data, [_mp_logsumexp(r) for r in mrows], dtype, "logsumexp")
    softmax = [[mp.exp(v) for v in r] for r in (_mp_log_softmax(r) for r in mrows)]
    _close(t.grad, softmax, dtype, "logsumexp'")
    # the naive break point: ln(1 + e^−37) must not round to 0
    tiny = cr.logsumexp(cr.tensor([0.0, -37.0], dtype="float64")).item()
    assert tiny == pytest.approx(float(mp.log1p(mp.exp(-37))), rel=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_entropy(dtype):
    rows, mrows = _rows(dtype)
    ref_log = [_mp_log_softmax(r) for r in mrows]
    for target in range(3):
        t = cr.tensor(rows, dtype=dtype, requires_grad=True)
        labels = np.full(len(rows), target)
        with np.errstate(all="raise", under="ignore"):
            out = fn.cross_entropy(t, labels, reduction="none")
            out.sum().backward()
        _close(out.data, [-r[target] for r in ref_log], dtype, f"cross_entropy[{target}]")
        ref_grad = [
            [mp.expm1(r[i]) if i == target else mp.exp(r[i]) for i in range(3)] for r in ref_log
        ]  # p − 1 as expm1(ln p): no 50-digit cancellation
        _close(t.grad, ref_grad, dtype, f"cross_entropy'[{target}]")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_naive_formulas_do_break_where_we_say(dtype):
    """The reason for the care above: 1 − σ(x) computed naively is exactly 0 at the break point."""
    edge = 37.0 if dtype == "float64" else 17.0
    x = np.array(edge, dtype=dtype)
    naive = 1 / (1 + np.exp(-x))
    assert 1 - naive == 0  # the naive derivative σ(1 − σ) would be 0
    t = cr.tensor([edge], dtype=dtype, requires_grad=True)
    fn.sigmoid(t).sum().backward()
    assert t.grad[0] > 0
