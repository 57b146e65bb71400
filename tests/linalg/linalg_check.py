"""The shared check of the linalg tests: one function run in chainrule and in PyTorch on the
same random batched inputs, values and every input's gradient compared (float32 and float64),
then a float64 finite-difference gradcheck.

``ours`` takes chainrule tensors and ``theirs`` torch tensors; each returns one tensor (a loss
of a decomposition's outputs that does not depend on the arbitrary signs of its vectors).
"""

from __future__ import annotations

import numpy as np

import chainrule as cr

TOL = {"float64": dict(rtol=1e-9, atol=1e-9), "float32": dict(rtol=2e-4, atol=2e-4)}


# ---- inputs ------------------------------------------------------------------------------------
def general(rng, shape):
    return rng.standard_normal(shape)


def well_conditioned(rng, shape):
    """Square matrices with the identity times n added: invertible, cond ~ a few."""
    n = shape[-1]
    return rng.standard_normal(shape) + n * np.eye(n)


def spd(rng, shape):
    """Symmetric positive-definite matrices."""
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric(rng, shape):
    """Symmetric matrices (eigenvalues distinct with probability 1)."""
    x = rng.standard_normal(shape)
    return x + np.swapaxes(x, -1, -2)


def check(ours, theirs, arrays, dtype, *, tol=None, gradcheck=True, grad=True):
    """Values and gradients of ``ours`` against ``theirs`` in ``dtype``, then gradcheck."""
    import torch

    tol = {**TOL[dtype], **(tol or {})}
    arrays = [np.asarray(a).astype(dtype) for a in arrays]
    mine = [cr.tensor(a, dtype=dtype, requires_grad=grad) for a in arrays]
    ref = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == tuple(expected.shape), (out.shape, tuple(expected.shape))
    assert out.dtype == np.dtype(dtype), out.dtype
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    if not grad:
        return
    upstream = np.random.default_rng(7).standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(upstream, dtype=dtype))
    expected.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(mine, ref)):
        if b.grad is None:  # PyTorch leaves it unset where the gradient is 0 (ord=0 norms)
            assert a.grad is None or not np.any(a.grad), f"input {i} got a gradient"
            continue
        scale = max(1.0, float(np.max(np.abs(b.grad.numpy()), initial=0.0)))
        np.testing.assert_allclose(
            a.grad,
            b.grad.numpy(),
            rtol=tol["rtol"],
            atol=tol["atol"] * scale,
            err_msg=f"gradient of input {i}",
        )
        assert a.grad.dtype == np.dtype(dtype)
    if gradcheck and dtype == "float64":
        checked = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
        cr.gradcheck(ours, *checked, atol=1e-6, rtol=1e-5)
