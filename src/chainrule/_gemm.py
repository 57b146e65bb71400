"""2-D matrix products for the ops: ``ndarray.dot`` when small, ``np.matmul`` when large.

Both call the same BLAS gemm with the same arguments, so they give the same bits (checked on
4,800 random shapes, float32 and float64, with transposed operands, at one and two threads;
``tests/ops/test_gemm_route.py`` keeps checking). What differs is the work around the call:

- ``ndarray.dot`` is cheaper to call: 0.8 against 1.6 µs for a 1×8 · 8×8 product, 5.5 against
  6.2 µs for 32×64 · 64×64 (AMD EPYC Zen 3, one thread).
- But ``dot`` fills its result with zeros before BLAS writes it (NumPy's
  ``cblas_matrixproduct`` calls ``memset`` on the output), and BLAS, asked for β = 0, clears it
  once more. That is one extra pass over every product's output. In case (c)'s training step
  (784-256-128-10, batch 128) it is 1.3 MB of stores a step: callgrind counted 1.34 M of the
  step's 21.0 M instructions in ``memset`` from ``dot``, the whole difference in ``memset``
  between chainrule's ops and the hand-written NumPy step, which multiplies with ``@``.

So a product with at least :data:`MATMUL_FROM` output elements goes through ``np.matmul``;
a smaller one, where the call's cost matters more than one pass over a few kilobytes, keeps
``dot``. Only float32 and float64 operands of one dtype that BLAS reads as they are (C- or
F-contiguous) take the ``matmul`` route, the case measured above. Anything else (strided
views, float16, integers, mixed dtypes) keeps ``dot`` as before: NumPy 2.4's ``matmul`` gave
the same bits and time on a strided float32 view, but ``matmul`` runs its own loops where it
does not call BLAS, so the route is kept to the operands where both calls are the same gemm.
"""

from __future__ import annotations

import os

import numpy as np

from chainrule._blas import blas_threads

# Output elements (m·n) from which np.matmul is used: at 128 × 128 (16,384) the two cost the
# same in a hot loop, and in a training step the output is seldom in cache, which favours matmul.
MATMUL_FROM = 8192

_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_matmul = np.matmul


def _blas_reads(x: np.ndarray) -> bool:
    flags = x.flags
    return flags.c_contiguous or flags.f_contiguous


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of a 2-D ``a`` (m, k) and a 2-D ``b`` (k, n), by the cheaper NumPy route."""
    rows = a.shape[0]
    outputs = rows * b.shape[1]
    if outputs < DOT_BELOW:  # a tiny network's products (nine a step): one test, then dot
        return a.dot(b)
    if rows <= _SWAP_MAX_ROWS and _SWAP[0] and _swap_wins(a, b):
        return np.ascontiguousarray(_matmul(b.T, a.T).T)
    if outputs < MATMUL_FROM or b.shape[0] == 1:
        # (an inner dimension of 1, a batch of one's weight gradient gᵀ · x: np.matmul runs
        # its own loops there, 225 against 29 µs for 256 × 1 · 1 × 784)
        return a.dot(b)
    if a.dtype == b.dtype and a.dtype in _BLAS_DTYPES and _blas_reads(a) and _blas_reads(b):
        return _matmul(a, b)
    return a.dot(b)


def product_plus(a: np.ndarray, b: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``a @ b + bias`` (a C-ordered new array), by the route :func:`product` would take; on
    the swapped route the bias is added in the pass that puts the result back in C order."""
    rows = a.shape[0]
    outputs = rows * b.shape[1]
    if outputs < DOT_BELOW:  # as in product, without a second call (a linear layer's forward)
        out = a.dot(b)
        out += bias
        return out
    if (
        outputs >= _SWAP_MIN_OUTPUTS
        and rows <= _SWAP_MAX_ROWS
        and _SWAP[0]
        and bias.dtype == a.dtype
        and bias.ndim == 1
        and _swap_wins(a, b)
    ):
        return np.add(_matmul(b.T, a.T).T, bias, order="C")
    out = product(a, b)
    out += bias
    return out


# ---- the swapped route: (bᵀ · aᵀ)ᵀ for a few rows times a transposed matrix ----------------
#
# OpenBLAS's SkylakeX kernel (the one it picks on AVX-512 CPUs, AMD Zen 4 and Intel Xeon alike)
# is slow at x · Wᵀ, the product of a linear layer, when x has few rows: 8 × 784 · 784 × 256
# took 175 µs, and the same numbers as (W · xᵀ)ᵀ 85 µs (float32, one thread, AMD EPYC Zen 4).
# The two are one gemm with the roles of the operands swapped; on this kernel they give the
# same bits (0 of 180 shapes of the measured grid differ, nor any shape of
# tests/ops/test_gemm_route.py). The grid (docs/benchmarks.md, "The swapped product"): with
# n ≥ 2m columns and m·n ≥ 2,048 outputs, the swapped product took 0.35 to 0.9 of the time for
# 2 to 32 rows (k ≥ 256 above 16), 0.75 to 0.98 for 64 rows (k ≥ 784), at one thread and two;
# 128 rows gained 1-9 % at one thread but lost 5 % at two (128 × 784 · 784 × 256), so 65 to
# 128 rows (k ≥ 784) take it only while OpenBLAS runs one thread (asked per product, 0.08 µs):
# case (c)'s whole step, one thread, 2.7-3.7 % faster (stop 38, alternating in one process,
# 31 rounds); fewer outputs, fewer columns or a shorter k gained nothing or lost.
# Other kernels (Haswell, on AVX2 CPUs) gained little and changed the last bits on some shapes,
# so they keep the plain route. CHAINRULE_GEMM_SWAP=0 turns the route off, =1 on (tests).
_SWAP_KERNELS = frozenset({"skylakex"})
_SWAP_MIN_OUTPUTS, _SWAP_MAX_ROWS = 2048, 128  # the rule's bounds, tested before its call
_SWAP = [False]  # set once at import by _decide_swap()
# Below this many outputs neither the swap rule nor np.matmul applies: dot, after one test
DOT_BELOW = min(_SWAP_MIN_OUTPUTS, MATMUL_FROM)


def _swap_wins(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a @ b`` runs faster as ``(bᵀ @ aᵀ)ᵀ`` here: a C-ordered float32 ``a`` of 2 to
    64 rows (up to 128 while OpenBLAS runs one thread) times a C-ordered float32 matrix seen
    transposed (a layer's Wᵀ), with at least twice as many columns as rows, at least 2,048
    outputs, and a long enough inner dimension for the row count (the measured grid: k ≥ 256
    above 16 rows, k ≥ 784 above 32)."""
    if a.ndim != 2:
        return False
    m, k = a.shape
    n = b.shape[1]
    if m > 64 and (k < 784 or blas_threads() != 1):
        return False
    return (
        2 <= m <= 128
        and k >= 2
        and n >= 2 * m
        and m * n >= 2048
        and (m <= 16 or k >= 256)
        and (m <= 32 or k >= 784)
        and a.dtype == _FLOAT32
        and b.dtype == _FLOAT32
        and b.T.flags.c_contiguous
        and a.flags.c_contiguous
    )


_FLOAT32 = np.dtype(np.float32)


def _decide_swap() -> bool:
    setting = os.environ.get("CHAINRULE_GEMM_SWAP", "auto").strip().lower()
    if setting in ("0", "1"):
        return setting == "1"
    from chainrule._blas import core_name

    return core_name() in _SWAP_KERNELS


_SWAP[0] = _decide_swap()
