"""``y ← y + a·x`` in one pass through BLAS's axpy: NumPy's own OpenBLAS, called by ctypes.

NumPy has no fused multiply-add: ``y += x * a`` makes a scaled copy of ``x`` and then adds it,
two passes over memory and two roundings. BLAS's axpy reads ``x`` and ``y`` once and rounds
``y + a·x`` once (its kernels use FMA), as PyTorch's ``param.add_(grad, alpha=-lr)`` does.
Measured on a 2-core AMD EPYC, one thread: 22.9 against 38.4 µs on 200,704 float32 values,
105 against 211 µs on a million; and SGD's weights then equal PyTorch's bit for bit, where the
two-pass form differs in the last bit on about a quarter of them after a few steps.

Why NumPy's copy of OpenBLAS and not SciPy's ``blas.saxpy``: SciPy ships a second OpenBLAS
with its own thread pool. Alternating with NumPy's matrix products on two cores, the two pools'
spinning threads fought over the cores and a training step of case (c) took 16 ms instead of
2 ms (measured). NumPy's wheels bundle OpenBLAS built with 64-bit integers and its symbols
renamed (``scipy_cblas_saxpy64_``); the library is already loaded, so finding it costs one
``dlopen``. Where it is not found (NumPy built against MKL or Accelerate, a future layout),
:func:`axpy` answers False and the caller's two-pass NumPy update runs: same values to the
last bit or two.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

# A ctypes call costs about 2.6 µs here; below this size the two-pass update is as fast.
MIN_SIZE = 32768

_routines: dict | None = None  # dtype → cblas ?axpy; {} where NumPy's OpenBLAS is not found

_SUFFIXES = ("*.so", "*.so.*", "*.dylib", "*.dll")


def _numpy_openblas():
    """The OpenBLAS library inside NumPy's wheel (ILP64, ``scipy_`` prefix), or None."""
    numpy_dir = os.path.dirname(np.__file__)
    folders = (
        os.path.join(os.path.dirname(numpy_dir), "numpy.libs"),  # Linux, Windows wheels
        os.path.join(numpy_dir, ".dylibs"),  # macOS wheels
    )
    for folder in folders:
        for suffix in _SUFFIXES:
            for path in sorted(glob.glob(os.path.join(folder, "*openblas64_" + suffix))):
                try:
                    lib = ctypes.CDLL(path)
                except OSError:
                    continue
                if hasattr(lib, "scipy_cblas_saxpy64_"):
                    return lib
    return None


def _load() -> dict:
    global _routines
    _routines = {}
    if os.environ.get("CHAINRULE_BLAS_AXPY", "1") == "0":
        return _routines
    lib = _numpy_openblas()
    if lib is None:
        return _routines
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    for dtype, name, scalar in (
        (np.float32, "scipy_cblas_saxpy64_", ctypes.c_float),
        (np.float64, "scipy_cblas_daxpy64_", ctypes.c_double),
    ):
        routine = getattr(lib, name, None)
        if routine is not None:
            routine.restype = None
            routine.argtypes = [i64, scalar, ptr, i64, ptr, i64]  # n, a, x, incx, y, incy
            _routines[np.dtype(dtype)] = routine
    return _routines


def axpy(a: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y += a * x`` in place, rounded once; False (``y`` untouched) where BLAS cannot do it:
    fewer than :data:`MIN_SIZE` elements, no OpenBLAS found, a dtype other than float32 or
    float64, different shapes or dtypes, or an array that is not C-contiguous or not writable.

    ``a`` is rounded to ``y``'s dtype first, as NumPy does with a Python float.
    """
    if y.size < MIN_SIZE:
        return False
    routines = _routines if _routines is not None else _load()
    routine = routines.get(y.dtype)
    if routine is None or x.dtype != y.dtype or x.shape != y.shape:
        return False
    x_flags, y_flags = x.flags, y.flags
    if not (x_flags.c_contiguous and y_flags.c_contiguous and y_flags.writeable):
        return False
    # Two arrays that each own their memory cannot overlap; only views need NumPy's check
    # (0.44 µs, against 0.1 for the flags)
    owned_apart = x_flags.owndata and y_flags.owndata and x is not y
    if not owned_apart and np.may_share_memory(x, y):
        return False
    routine(y.size, a, address(x), 1, address(y), 1)
    return True


def address(array: np.ndarray) -> int:
    """The address of a contiguous array's first element, for a ctypes call.

    ``array.ctypes.data`` builds a ctypes helper object each time: about 2 µs, against 0.3 µs
    for the address of a one-byte ctypes view of the array's buffer, which needs a writable
    array (a read-only one takes the slow way)."""
    try:
        return _addressof(_byte_view(array))
    except TypeError:  # a read-only buffer
        return array.ctypes.data


_addressof, _byte_view = ctypes.addressof, ctypes.c_char.from_buffer


def core_name() -> str | None:
    """The kernel NumPy's OpenBLAS chose for this CPU, lower-cased (``"skylakex"``,
    ``"haswell"``, ...; ``OPENBLAS_CORETYPE`` overrides it), or None where that OpenBLAS is not
    found (NumPy built against MKL or Accelerate)."""
    lib = _numpy_openblas()
    routine = getattr(lib, "scipy_openblas_get_corename64_", None) if lib is not None else None
    if routine is None:
        return None
    routine.restype = ctypes.c_char_p
    routine.argtypes = []
    name = routine()
    return name.decode("ascii", "replace").strip().lower() if name else None


_thread_count = []  # [the ctypes routine, or None where NumPy's OpenBLAS is not found]


def blas_threads() -> int | None:
    """How many threads NumPy's OpenBLAS runs now (threadpoolctl's limits included), or None
    where that OpenBLAS is not found."""
    if not _thread_count:
        lib = _numpy_openblas()
        routine = getattr(lib, "scipy_openblas_get_num_threads64_", None) if lib else None
        if routine is not None:
            routine.restype = ctypes.c_int
            routine.argtypes = []
        _thread_count.append(routine)
    routine = _thread_count[0]
    return routine() if routine is not None else None
