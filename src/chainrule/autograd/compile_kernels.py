"""Numba kernels for ``cr.compile``'s jit tier (imported only when numba is installed).

Each op the jit tier knows has a forward and a backward kernel here, written as loops over
contiguous arrays, and each fused optimizer an update kernel. They compute the same formulas as
the ops in ``chainrule.ops`` but not always in the same floating-point order (sums in loops
rather than BLAS blocks, libm's exp rather than NumPy's), so results agree with the eager step
to rounding, not bit for bit (see docs/compile.md for the tolerance).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Up to this many multiply-adds a matrix product runs as plain loops: a BLAS call costs more
# than the arithmetic. Measured on the AVX-512 Xeon, one thread, float32: BLAS wins from about
# 1,024 (32×2→16 forward 1.01 against 1.29 µs; 32×16→16 forward 1.16 against 2.50 µs, its
# weight gradient 0.79 against 2.24), loops up to 512 (the seed network's 1×2→1 0.60 against
# 0.70). The earlier 16,384 kept (b)'s layers in loops: its jit step took 29–31 µs, now 19.
_LOOP_MACS = 768


@njit(cache=True)
def linear_fwd(x, w, b):
    n, m, o = x.shape[0], x.shape[1], w.shape[0]
    if n * m * o > _LOOP_MACS:
        out = np.dot(x, w.T)
        for i in range(n):
            for j in range(o):
                out[i, j] += b[j]
        return out
    out = np.empty((n, o), x.dtype)
    for i in range(n):
        for j in range(o):
            s = b[j]
            for k in range(m):
                s += x[i, k] * w[j, k]
            out[i, j] = s
    return out


@njit(cache=True)
def linear_fwd_nobias(x, w):
    return linear_fwd(x, w, np.zeros(w.shape[0], x.dtype))


@njit(cache=True)
def linear_bwd(g, x, w, need_x):
    """(grad_x, grad_w, grad_b) of out = x·wᵀ + b; grad_x is empty when not needed."""
    n, m, o = x.shape[0], x.shape[1], w.shape[0]
    gb = np.zeros(o, g.dtype)
    for i in range(n):
        for j in range(o):
            gb[j] += g[i, j]
    if n * m * o > _LOOP_MACS:
        gw = np.dot(g.T, x)
        gx = np.dot(g, w) if need_x else np.empty((0, 0), g.dtype)
        return gx, gw, gb
    gw = np.zeros((o, m), g.dtype)
    for i in range(n):
        for j in range(o):
            gij = g[i, j]
            for k in range(m):
                gw[j, k] += gij * x[i, k]
    if not need_x:
        return np.empty((0, 0), g.dtype), gw, gb
    gx = np.zeros((n, m), g.dtype)
    for i in range(n):
        for j in range(o):
            gij = g[i, j]
            for k in range(m):
                gx[i, k] += gij * w[j, k]
    return gx, gw, gb


@njit(cache=True)
def sigmoid_fwd(z):
    out = np.empty_like(z)
    zf, of = z.reshape(-1), out.reshape(-1)
    for i in range(zf.size):
        v = zf[i]
        if v >= 0:
            of[i] = 1 / (1 + math.exp(-v))
        else:
            e = math.exp(v)
            of[i] = e / (1 + e)
    return out


@njit(cache=True)
def sigmoid_bwd(z, g):
    """σ(z)·(1 − σ(z)) as e/(1 + e)², e = e^(−|z|), as the eager op computes it: where σ(z)
    rounds to 1 the product σ·(1 − σ) would be 0, this stays e (what BCELoss's guarded
    derivative, large there, multiplies)."""
    res = np.empty_like(g)
    zf, gf, rf = z.reshape(-1), g.reshape(-1), res.reshape(-1)
    for i in range(gf.size):
        e = math.exp(-abs(zf[i]))
        s = e + 1
        rf[i] = gf[i] * (e / (s * s))
    return res


def _tanh_fraction(terms: int):
    """Numerator and denominator of Lambert's continued fraction for tanh, cut after ``terms``:
    tanh x = x / (1 + x²/(3 + x²/(5 + …))) = x·P(x²)/Q(x²), coefficients highest power first."""
    q, p = np.array([2.0 * terms + 1]), np.array([1.0])  # the innermost level, lowest power first
    for k in range(terms - 1, -1, -1):  # level k: (2k + 1) + x²/(level k + 1)
        q, p = np.polynomial.polynomial.polyadd((2 * k + 1) * q, np.append(0.0, p)), q
    return p[::-1].copy(), q[::-1].copy()


# 14 levels: within 3e-10 of tanh on |x| ≤ 9.1 in float64, so float32 results are within 0.504 ulp
# (correctly rounded on all but 0.002 % of float32 inputs, against 84 % for glibc's tanhf); all
# coefficients are positive, so Horner's rule does not cancel. Past 9.1 tanh rounds to ±1.
_TANH_P, _TANH_Q = _tanh_fraction(14)


@njit(cache=True)
def tanh_fwd(z):
    out = np.empty_like(z)
    zf, of = z.reshape(-1), out.reshape(-1)
    if zf.itemsize == 4:
        # float32: the rational form in float64, no libm call (512 values: 3.8 against 6.2 µs
        # through tanhf on the AVX-512 Xeon); ±0 keeps its sign, NaN stays NaN, ±inf gives ±1
        for i in range(zf.size):
            v = min(max(np.float64(zf[i]), -9.1), 9.1)
            t = v * v
            p = _TANH_P[0]
            for c in _TANH_P[1:]:
                p = p * t + c
            q = _TANH_Q[0]
            for c in _TANH_Q[1:]:
                q = q * t + c
            of[i] = v * p / q
        return out
    for i in range(zf.size):  # float64: 3e-10 is not enough, libm's tanh
        of[i] = math.tanh(zf[i])
    return out


@njit(cache=True)
def tanh_bwd(out, g):
    res = np.empty_like(g)
    of, gf, rf = out.reshape(-1), g.reshape(-1), res.reshape(-1)
    for i in range(gf.size):
        rf[i] = gf[i] * (1 - of[i] * of[i])
    return res


@njit(cache=True)
def relu_fwd(z):
    out = np.empty_like(z)
    zf, of = z.reshape(-1), out.reshape(-1)
    for i in range(zf.size):
        of[i] = 0 if zf[i] < 0 else zf[i]  # NaN stays NaN and −0 stays −0, as eagerly
    return out


@njit(cache=True)
def relu_bwd(out, g):
    res = np.empty_like(g)
    of, gf, rf = out.reshape(-1), g.reshape(-1), res.reshape(-1)
    for i in range(gf.size):
        # PyTorch's rule, as eagerly: the gradient passes where out ≠ 0 (a NaN output too); a
        # NaN gradient stays NaN
        rf[i] = gf[i] * (0 if of[i] == 0 else 1)
    return res


@njit(cache=True)
def leaky_relu_fwd(z, slope):
    out = np.empty_like(z)
    zf, of = z.reshape(-1), out.reshape(-1)
    for i in range(zf.size):
        of[i] = zf[i] if zf[i] > 0 else zf[i] * slope
    return out


@njit(cache=True)
def leaky_relu_bwd(z, g, slope):
    """The local derivative is read from the input: with a negative slope the output's sign
    no longer tells the two sides apart."""
    res = np.empty_like(g)
    zf, gf, rf = z.reshape(-1), g.reshape(-1), res.reshape(-1)
    for i in range(gf.size):
        rf[i] = gf[i] if zf[i] > 0 else gf[i] * slope
    return res


@njit(cache=True)
def neg(a):
    out = np.empty_like(a)
    af, of = a.reshape(-1), out.reshape(-1)
    for i in range(af.size):
        of[i] = -af[i]
    return out


@njit(cache=True)
def mul_fwd(a, b):
    out = np.empty_like(a)
    af, bf, of = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    for i in range(af.size):
        of[i] = af[i] * bf[i]
    return out


@njit(cache=True)
def bce_fwd(z, t):
    """Mean of ln(1 + e^z) − t·z over all elements, computed stably, in PyTorch's order of
    terms: (1 − t)·z + max(−z, 0), so that an infinite logit gives PyTorch's ∞ or NaN."""
    zf, tf = z.reshape(-1), t.reshape(-1)
    total = 0.0
    for i in range(zf.size):
        v = zf[i]
        total += (1 - tf[i]) * v + max(-v, 0) + math.log1p(math.exp(-abs(v)))
    return total / zf.size


@njit(cache=True)
def bce_bwd(z, t, g):
    res = np.empty_like(z)
    zf, tf, rf = z.reshape(-1), t.reshape(-1), res.reshape(-1)
    scale = g / zf.size
    for i in range(zf.size):
        v = zf[i]
        e = math.exp(-abs(v))
        sig = 1 / (1 + e) if v >= 0 else e / (1 + e)
        rf[i] = (sig - tf[i]) * scale
    return res


@njit(cache=True)
def bce_prob_fwd(p, t):
    """Mean of (t − 1)·ln(1 − p) − t·ln p, each logarithm clamped at −100 as in PyTorch.

    NaN when a probability lies outside [0, 1] (or is NaN): the generated kernel then returns
    before any update and the step runs eagerly, where the loss raises its usual error.
    """
    pf, tf = p.reshape(-1), t.reshape(-1)
    total = 0.0
    for i in range(pf.size):
        v = pf[i]
        if not (v >= 0 and v <= 1):
            return np.nan
        log_p = max(math.log(v), -100.0) if v > 0 else -100.0
        log_q = max(math.log1p(-v), -100.0) if v < 1 else -100.0
        total += (tf[i] - 1) * log_q - tf[i] * log_p
    return total / pf.size


@njit(cache=True)
def bce_prob_bwd(p, t, g):
    """(p − t)·g / max(p·(1 − p), 1e-12): PyTorch's guard keeps p = 0 or 1 finite."""
    res = np.empty_like(p)
    pf, tf, rf = p.reshape(-1), t.reshape(-1), res.reshape(-1)
    scale = g / pf.size
    for i in range(pf.size):
        v = pf[i]
        rf[i] = (v - tf[i]) * scale / max(v * (1 - v), 1e-12)
    return res


@njit(cache=True)
def mse_fwd(x, t):
    xf, tf = x.reshape(-1), t.reshape(-1)
    total = 0.0
    for i in range(xf.size):
        d = xf[i] - tf[i]
        total += d * d
    return total / xf.size


@njit(cache=True)
def mse_bwd(x, t, g):
    res = np.empty_like(x)
    xf, tf, rf = x.reshape(-1), t.reshape(-1), res.reshape(-1)
    scale = 2 * g / xf.size
    for i in range(xf.size):
        rf[i] = (xf[i] - tf[i]) * scale
    return res


@njit(cache=True)
def l1_fwd(x, t):
    xf, tf = x.reshape(-1), t.reshape(-1)
    total = 0.0
    for i in range(xf.size):
        total += abs(xf[i] - tf[i])
    return total / xf.size


@njit(cache=True)
def l1_bwd(x, t, g):
    res = np.empty_like(x)
    xf, tf, rf = x.reshape(-1), t.reshape(-1), res.reshape(-1)
    scale = g / xf.size
    for i in range(xf.size):
        d = xf[i] - tf[i]
        # sign(d), 0 at 0 and at NaN (the eager op's ops._util.sgn, PyTorch's sign)
        rf[i] = (1.0 if d > 0 else -1.0 if d < 0 else 0.0) * scale
    return res


@njit(cache=True)
def huber_fwd(x, t, delta):
    xf, tf = x.reshape(-1), t.reshape(-1)
    total = 0.0
    for i in range(xf.size):
        d = xf[i] - tf[i]
        size = abs(d)
        total += 0.5 * d * d if size < delta else (size - 0.5 * delta) * delta
    return total / xf.size


@njit(cache=True)
def huber_bwd(x, t, g, delta):
    res = np.empty_like(x)
    xf, tf, rf = x.reshape(-1), t.reshape(-1), res.reshape(-1)
    scale = g / xf.size
    for i in range(xf.size):
        d = min(max(xf[i] - tf[i], -delta), delta)
        rf[i] = d * scale
    return res


@njit(cache=True)
def ce_fwd(z, labels):
    """Mean over rows of logsumexp(z) − z[label]; returns (loss, softmax)."""
    n, c = z.shape
    p = np.empty_like(z)
    total = 0.0
    for i in range(n):
        top = z[i, 0]
        for j in range(1, c):
            top = max(top, z[i, j])
        s = 0.0
        for j in range(c):
            e = math.exp(z[i, j] - top)
            p[i, j] = e
            s += e
        for j in range(c):
            p[i, j] /= s
        total += math.log(s) + top - z[i, labels[i]]
    return total / n, p


@njit(cache=True)
def ce_bwd(p, labels, g):
    n, c = p.shape
    res = np.empty_like(p)
    scale = g / n
    for i in range(n):
        for j in range(c):
            res[i, j] = p[i, j] * scale
        res[i, labels[i]] -= scale
    return res


@njit(cache=True)
def sgd_update(w, g, buf, lr, momentum, dampening, weight_decay, nesterov, first):
    """PyTorch's SGD for one parameter (see chainrule.optim.SGD), in place."""
    wf, gf, bf = w.reshape(-1), g.reshape(-1), buf.reshape(-1)
    for i in range(wf.size):
        d = gf[i] + weight_decay * wf[i] if weight_decay != 0 else gf[i]
        if momentum != 0:
            if first:
                bf[i] = d
            else:
                bf[i] = momentum * bf[i] + (1 - dampening) * d
            d = d + momentum * bf[i] if nesterov else bf[i]
        wf[i] -= lr * d


@njit(cache=True)
def adam_update(w, g, m, v, keep, weight_decay, beta1, beta2, step_size, eps_hat):
    """Adam / AdamW for one parameter with precomputed bias corrections, in place:
    θ ← keep·θ − step_size · m / (√v + eps_hat) (see chainrule.optim.Adam)."""
    wf, gf, mf, vf = w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)
    for i in range(wf.size):
        if keep != 1:
            wf[i] *= keep
        d = gf[i] + weight_decay * wf[i] if weight_decay != 0 else gf[i]
        mf[i] += (d - mf[i]) * (1 - beta1)
        vf[i] = vf[i] * beta2 + d * d * (1 - beta2)
        wf[i] -= step_size * (mf[i] / (math.sqrt(vf[i]) + eps_hat))
