"""Large matrix products through Intel MKL's ``cblas_?gemm``, when the optional ``mkl`` wheel
is installed (``pip install "chainrule[mkl]"``); NumPy's own ``dot`` otherwise.

Why: on Intel CPUs with AVX-512, NumPy's bundled OpenBLAS multiplies float32 matrices of a
training step's shapes 8-30 % slower than MKL, which PyTorch uses (measured on a 2-core Xeon,
one thread: 128×784 · 784×256 at 134 GFLOP/s against 176; 256×1024 · 1024×1024 at 153 against
194). The matrix products are most of a medium network's step, so that gap was most of
PyTorch's lead there. Nothing changes for a user without the wheel: the default install stays
NumPy-only.

Intel CPUs only, unless asked: on an AMD EPYC (Zen 4, AVX-512) MKL multiplied the same shapes
at 78-99 GFLOP/s against OpenBLAS's 93-103 (MKL takes its AVX2 code there), and case (d)'s step
was 8 % slower with the route. ``CHAINRULE_MKL=0`` turns the route off, ``CHAINRULE_MKL=1`` turns
it on whatever the CPU; unset, it is on where the CPU says GenuineIntel.

The operands may be C-contiguous or transposed views of C-contiguous arrays (``W.T``,
``grad.T``): BLAS reads those through its transpose flags, with no copy. Anything else (other
strides, other dtypes, mixed dtypes, small products where a ctypes call's ~2.6 µs would cost
more than MKL saves) declines with None and the caller's ``dot`` runs. MKL rounds sums in its
own order, so results differ from NumPy's in the last bits (as PyTorch's do), never more.

Threads: MKL runs sequential (one thread), and only while NumPy's OpenBLAS is limited to one
thread too (``OPENBLAS_NUM_THREADS=1``, ``OMP_NUM_THREADS=1`` or threadpoolctl's
``threadpool_limits(1)``, checked on every call). Two BLAS thread pools on the same cores fight:
with two threads each, OpenBLAS's workers spin after every call (an optimizer's axpy, a bias's
column sum) and starve MKL's, and a case (c) step took 12.8 ms instead of 1.2 (measured on the
2-core Xeon; ``KMP_BLOCKTIME=0`` and MKL's GNU threading layer did not help). With more than one
thread NumPy's threaded OpenBLAS does the products, as without the wheel.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

import numpy as np

from chainrule._gemm import product

# m·n·k below which NumPy's dot is as fast: a 128×128·128×10 product ran at 34 GFLOP/s
# through ctypes + MKL against 60 for NumPy; 128×256·256×128 (4 M) was 16 % faster in MKL.
MIN_WORK = 1 << 20

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

_routines: dict | None = None  # dtype → cblas_?gemm; {} where MKL is not found or turned off


def _library_paths() -> list[str]:
    """Where pip's ``mkl`` wheel puts ``libmkl_rt``: the environment's lib (or Library\\bin)."""
    folders = [os.path.join(sys.prefix, "lib"), os.path.join(sys.prefix, "Library", "bin")]
    names = ("libmkl_rt.so*", "libmkl_rt*.dylib", "mkl_rt*.dll")
    return [p for f in folders for n in names for p in sorted(glob.glob(os.path.join(f, n)))]


def _openblas_threads():
    """A function giving NumPy's OpenBLAS thread count now, or None where it is not found."""
    from chainrule._blas import _numpy_openblas

    lib = _numpy_openblas()
    get = getattr(lib, "scipy_openblas_get_num_threads64_", None) if lib is not None else None
    if get is not None:
        get.restype = ctypes.c_int
        get.argtypes = []
    return get


_blas_threads = None  # set by _load: NumPy's OpenBLAS thread count, read per call


def _intel_cpu() -> bool:
    """True where the CPU's vendor is Intel (Linux's /proc/cpuinfo, else the platform string)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" in line
    except OSError:
        pass
    import platform

    return "Intel" in platform.processor()


def _load(any_cpu: bool = False) -> dict:
    """Find MKL and set up its gemm routines (``{}`` where the route stays off)."""
    global _routines, _blas_threads
    _routines = {}
    setting = os.environ.get("CHAINRULE_MKL", "")
    if setting == "0" or not (any_cpu or setting == "1" or _intel_cpu()):
        return _routines
    lib = None
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError:
            continue
    _blas_threads = _openblas_threads()
    if lib is None or not hasattr(lib, "cblas_sgemm") or _blas_threads is None:
        return _routines
    lib.MKL_Set_Threading_Layer(ctypes.c_int(1))  # MKL_THREADING_SEQUENTIAL, before any call
    i32, ptr = ctypes.c_int, ctypes.c_void_p
    for dtype, name, scalar in (
        (np.float32, "cblas_sgemm", ctypes.c_float),
        (np.float64, "cblas_dgemm", ctypes.c_double),
    ):
        routine = getattr(lib, name)
        routine.restype = None
        # layout, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
        routine.argtypes = [i32] * 6 + [scalar, ptr, i32, ptr, i32, scalar, ptr, i32]
        _routines[np.dtype(dtype)] = routine
    return _routines


def available() -> bool:
    """True where the MKL route is on: the wheel found, an Intel CPU or ``CHAINRULE_MKL=1``,
    and ``CHAINRULE_MKL`` not 0."""
    return bool(_routines if _routines is not None else _load())


def _operand(x: np.ndarray):
    """(transpose flag, leading dimension) of a 2-D operand BLAS can read as is, or None."""
    item = x.itemsize
    if x.strides[1] == item and x.strides[0] >= max(x.shape[1], 1) * item:
        return _NO_TRANS, x.strides[0] // item
    if x.strides[0] == item and x.strides[1] >= max(x.shape[0], 1) * item:
        return _TRANS, x.strides[1] // item
    return None


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray | None:
    """``a @ b`` for 2-D ``a`` (m, k) and ``b`` (k, n) through MKL, or None where it declines;
    written into ``out`` where given (a C-contiguous (m, n) array of the operands' dtype)."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k < MIN_WORK or a.dtype != b.dtype:
        return None
    routines = _routines if _routines is not None else _load()
    routine = routines.get(a.dtype)
    if routine is None or max(m, n, k) >= 2**31 or _blas_threads() != 1:
        return None
    layout_a, layout_b = _operand(a), _operand(b)
    if layout_a is None or layout_b is None:
        return None
    if out is None:
        out = np.empty((m, n), dtype=a.dtype)
    elif out.dtype != a.dtype or out.shape != (m, n) or not out.flags.c_contiguous:
        return None
    routine(
        _ROW_MAJOR, layout_a[0], layout_b[0], m, n, k, 1.0,
        a.ctypes.data, layout_a[1], b.ctypes.data, layout_b[1], 0.0, out.ctypes.data, n,
    )  # fmt: skip
    return out


def dot(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D operands: MKL for large float products where installed, else NumPy
    (``chainrule._gemm.product``, or ``np.dot`` into ``out`` where given)."""
    result = gemm(a, b, out)
    if result is not None:
        return result
    if out is not None:
        return np.dot(a, b, out=out)
    return product(a, b)
