"""The harness of the differential tests: one function, run on chainrule and on PyTorch tensors
made from the same NumPy arrays, must give the same values, dtypes and shapes (and, for
float64 inputs of differentiable functions, the same gradients), or both must raise.

A case is ``(name, fn, inputs)``: ``fn(lib, *tensors)`` is written once and called with
``lib=chainrule`` and ``lib=torch``, so it can only use the names both spell alike.
"""

from __future__ import annotations

import numpy as np

TOL = dict(rtol=1e-9, atol=1e-12)
TOL32 = dict(rtol=2e-6, atol=1e-6)  # float32 (and float16) results: a few ulp apart


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _flatten(out, torch):
    """Tensors, numbers and bools of a result, in order (tuples, lists, named tuples)."""
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in _flatten(item, torch)]
    return [out]


def _to_numpy(leaf, torch):
    if isinstance(leaf, torch.Tensor):
        return leaf.detach().numpy(), _dtype_name(leaf.dtype), tuple(leaf.shape)
    if hasattr(leaf, "numpy") and hasattr(leaf, "dtype"):
        return np.asarray(leaf.detach().numpy()), _dtype_name(leaf.dtype), tuple(leaf.shape)
    return np.asarray(leaf), type(leaf).__name__, ()


def _make(lib, arrays, grad: bool):
    out = []
    for a in arrays:
        if isinstance(a, np.generic):  # a NumPy scalar (np.abs of a 0-d array): a 0-d array
            a = np.asarray(a)
        if not isinstance(a, np.ndarray):
            out.append(a)  # a number, a list, None: passed as is
            continue
        t = lib.from_numpy(a.copy())
        if grad and a.dtype == np.float64:
            t.requires_grad_(True)
        out.append(t)
    return out


def _run(lib, fn, arrays, grad):
    tensors = _make(lib, arrays, grad)
    try:
        out = fn(lib, *tensors)
    except Exception as error:  # noqa: BLE001 - any error counts as "raised"
        return None, tensors, error
    return out, tensors, None


def compare(fn, arrays, *, grad: bool = True, tol=None, check_dtype: bool = True):
    """Run ``fn`` both ways; returns a list of differences (empty when they agree)."""
    import torch

    import chainrule as cr

    tol = tol or TOL
    ours, our_in, our_err = _run(cr, fn, arrays, grad)
    theirs, their_in, their_err = _run(torch, fn, arrays, grad)
    if their_err is not None or our_err is not None:
        if (their_err is None) != (our_err is None):
            return [f"raised: torch={their_err!r} chainrule={our_err!r}"]
        return []
    problems = []
    a_leaves, b_leaves = _flatten(ours, torch), _flatten(theirs, torch)
    if len(a_leaves) != len(b_leaves):
        return [f"result count {len(a_leaves)} != torch's {len(b_leaves)}"]
    for i, (a, b) in enumerate(zip(a_leaves, b_leaves, strict=True)):
        (av, ad, ash), (bv, bd, bsh) = _to_numpy(a, torch), _to_numpy(b, torch)
        if ash != bsh:
            problems.append(f"out{i} shape {ash} != torch's {bsh}")
            continue
        if check_dtype and ad != bd:
            problems.append(f"out{i} dtype {ad} != torch's {bd}")
        try:
            np.testing.assert_allclose(
                np.asarray(av, dtype=np.float64) if av.dtype.kind != "c" else av,
                np.asarray(bv, dtype=np.float64) if bv.dtype.kind != "c" else bv,
                equal_nan=True,
                **(TOL32 if bd in ("float32", "float16") else tol),
            )
        except AssertionError as e:
            problems.append(f"out{i} values differ: {str(e)[:400]}")
    if problems or not grad:
        return problems
    return problems + _compare_grads(a_leaves, b_leaves, our_in, their_in, torch, tol)


def _compare_grads(a_leaves, b_leaves, our_in, their_in, torch, tol):
    """Backward through every float64 output with the same fixed weights, compare .grad."""
    import chainrule as cr

    pairs = [
        (a, b)
        for a, b in zip(a_leaves, b_leaves, strict=True)
        if isinstance(b, torch.Tensor) and b.requires_grad and b.dtype == torch.float64
    ]
    if not pairs:
        return []
    rng = np.random.default_rng(7)
    our_total, their_total = 0, 0
    for a, b in pairs:
        w = rng.standard_normal(tuple(b.shape))
        if not getattr(a, "requires_grad", False):
            return ["chainrule's output does not require grad where torch's does"]
        our_total = our_total + (a * cr.from_numpy(w)).sum()
        their_total = their_total + (b * torch.from_numpy(w)).sum()
    try:
        their_total.backward()
    except RuntimeError:  # PyTorch has no derivative here (floor_divide, ...): values only
        return []
    our_total.backward()
    problems = []
    for i, (a, b) in enumerate(zip(our_in, their_in, strict=True)):
        if not isinstance(b, torch.Tensor) or not b.requires_grad:
            continue
        bg = b.grad
        ag = a.grad
        if bg is None and ag is None:
            continue
        bg = np.zeros(tuple(b.shape)) if bg is None else bg.numpy()
        ag = np.zeros(tuple(a.shape)) if ag is None else np.asarray(ag)
        try:
            np.testing.assert_allclose(ag, bg, equal_nan=True, **tol)
        except AssertionError as e:
            problems.append(f"grad of input {i} differs: {str(e)[:400]}")
    return problems
