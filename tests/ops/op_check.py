"""The one shared helper of the ops tests: run an op in chainrule and in PyTorch on the same
numbers, compare forward values and every input's gradient, then gradient-check it in float64.

A case is one line: ``case(name, ours, theirs, shapes, domain=...)`` where ``ours`` takes
chainrule tensors and ``theirs`` torch tensors, and ``shapes`` lists input-shape tuples.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr

UNARY = [((),), ((3,),), ((4, 3),), ((2, 3, 4),)]
BINARY = [
    ((), ()),
    ((3,), (3,)),
    ((4, 3), (4, 3)),
    ((2, 3, 4), (2, 3, 4)),
    ((4, 3), (3,)),
    ((4, 1), (1, 3)),
    ((), (4, 3)),
    ((2, 3, 4), ()),
]
TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-5)}


# ---- input domains ----------------------------------------------------------------------------
def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    """Normal values pushed at least 0.1 away from 0 (for kinks at 0)."""
    x = rng.standard_normal(shape)
    return x + np.where(x >= 0, 0.1, -0.1)


def unit(rng, shape):
    """Values in (0.05, 0.95): probabilities and targets."""
    return rng.uniform(0.05, 0.95, shape)


@dataclass
class Case:
    name: str
    ours: object
    theirs: object
    shapes: tuple
    domain: object = normal  # one callable, or one per input
    grad: tuple | None = None  # which inputs require grad (default: all)
    gradcheck: bool = True
    tol: dict = field(default_factory=dict)

    def domains(self, n):
        return self.domain if isinstance(self.domain, (list, tuple)) else [self.domain] * n


def case(name, ours, theirs, shapes, **options) -> list:
    """Expand one op line into one Case per shape set (``shapes``: list of input-shape tuples)."""
    return [Case(f"{name}{list(s)}", ours, theirs, s, **options) for s in shapes]


def ids(cases) -> list:
    return [c.name for c in cases]


def make_inputs(c: Case, seed_text: str = ""):
    rng = np.random.default_rng(zlib.crc32((c.name + seed_text).encode()))
    return [d(rng, s) for d, s in zip(c.domains(len(c.shapes)), c.shapes)]


def check_case(c: Case, dtype: str) -> None:
    """Forward and backward against PyTorch in ``dtype``; float64 gradcheck when asked."""
    import torch

    arrays = [a.astype(dtype) for a in make_inputs(c)]
    wanted = c.grad if c.grad is not None else tuple(range(len(arrays)))
    ours_in = [cr.tensor(a, dtype=dtype, requires_grad=i in wanted) for i, a in enumerate(arrays)]
    theirs_in = [torch.tensor(a, requires_grad=i in wanted) for i, a in enumerate(arrays)]
    out = c.ours(*ours_in)
    ref = c.theirs(*theirs_in)
    tol = {**TOL[dtype], **c.tol.get(dtype, {})}
    ref_np = ref.detach().numpy()
    assert out.shape == tuple(ref_np.shape), f"{c.name}: shape {out.shape} vs {ref_np.shape}"
    assert out.dtype == np.dtype(dtype), f"{c.name}: dtype {out.dtype}, expected {dtype}"
    np.testing.assert_allclose(out.data, ref_np, **tol, err_msg=f"{c.name} forward")
    if not out.requires_grad:
        return
    rng = np.random.default_rng(1)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for i in wanted:
        mine, theirs = ours_in[i].grad, theirs_in[i].grad
        if theirs is None:
            assert mine is None or not np.any(mine), f"{c.name}: input {i} got a gradient"
            continue
        assert mine is not None, f"{c.name}: input {i} has no gradient"
        assert mine.shape == arrays[i].shape and mine.dtype == np.dtype(dtype)
        scale = max(1.0, float(np.max(np.abs(theirs.numpy()), initial=0.0)))
        np.testing.assert_allclose(
            mine,
            theirs.numpy(),
            rtol=tol["rtol"],
            atol=tol["atol"] * scale,
            err_msg=f"{c.name} gradient of input {i}",
        )
    if c.gradcheck and dtype == "float64":
        checked = [
            cr.tensor(a, dtype="float64", requires_grad=i in wanted)
            for i, a in enumerate(make_inputs(c))
        ]
        cr.gradcheck(c.ours, *checked, atol=1e-6, rtol=1e-5)


def same_as_torch(ours, theirs) -> None:
    """One chainrule result equals one PyTorch result exactly: same dtype, same values."""
    a, b = np.asarray(ours.numpy()), theirs.numpy()
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_array_equal(a, b)
