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

import numpy as np

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
    if a.shape[0] * b.shape[1] < MATMUL_FROM:
        return a.dot(b)
    if a.dtype == b.dtype and a.dtype in _BLAS_DTYPES and _blas_reads(a) and _blas_reads(b):
        return _matmul(a, b)
    return a.dot(b)
