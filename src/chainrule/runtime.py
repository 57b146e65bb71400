"""PyTorch's process-wide settings and number facts: ``finfo``/``iinfo``, ``get_num_threads``/
``set_num_threads`` and ``use_deterministic_algorithms``.

Threads: chainrule's parallel work is NumPy's BLAS (matrix products, convolutions), so
``set_num_threads(n)`` sets the threads of NumPy's own OpenBLAS, at once, as PyTorch's sets its
intra-op pool; elementwise work runs on one thread either way. Where NumPy is built on another
BLAS (MKL, Accelerate) the call raises with the environment variable to use instead.

Determinism: every chainrule op gives the same bits on every run with the same inputs, thread
count and machine (NumPy's kernels and OpenBLAS's products at a fixed thread count are
deterministic; there is no GPU scatter-add). ``use_deterministic_algorithms(True)`` therefore
changes nothing and is recorded, as PyTorch's flag, for the code that reads it back.
"""

from __future__ import annotations

import ctypes

import numpy as np

from chainrule import _dtype
from chainrule._blas import _numpy_openblas, blas_threads

__all__ = [
    "are_deterministic_algorithms_enabled",
    "finfo",
    "get_num_threads",
    "iinfo",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_num_threads",
    "use_deterministic_algorithms",
]


def _numpy_dtype(dtype):
    try:
        return np.dtype(_dtype.resolve_dtype(dtype))
    except Exception:  # noqa: BLE001 - anything that is not a dtype is PyTorch's TypeError
        raise TypeError(f"expected a dtype (cr.float32, cr.int64, ...), got {dtype!r}") from None


class finfo:  # noqa: N801 - PyTorch's name
    """Facts about a floating-point dtype, PyTorch's ``torch.finfo`` (the default dtype when
    none is given): ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution`` and ``dtype``."""

    def __init__(self, dtype=None):
        np_dtype = _numpy_dtype(_dtype.get_default_dtype() if dtype is None else dtype)
        if np_dtype.kind != "f":  # PyTorch's words
            raise TypeError(
                "torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                "'torch.finfo'"
            )
        info = np.finfo(np_dtype)
        self.bits, self.eps = int(info.bits), float(info.eps)
        self.max, self.min = float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution, self.dtype = 10.0 ** -info.precision, str(np_dtype)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - PyTorch's name
    """Facts about an integer dtype, PyTorch's ``torch.iinfo``: ``bits``, ``max``, ``min`` and
    ``dtype``."""

    def __init__(self, dtype):
        np_dtype = _numpy_dtype(dtype)
        if np_dtype.kind not in "iub":  # PyTorch's words
            raise TypeError(
                "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                "'torch.iinfo'"
            )
        info = np.iinfo(np.uint8 if np_dtype.kind == "b" else np_dtype)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = str(np_dtype)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


_SET_THREADS: list = []  # [the ctypes routine, or None]


def get_num_threads() -> int:
    """How many threads NumPy's BLAS (chainrule's matrix products) runs."""
    threads = blas_threads()
    if threads is None:
        raise RuntimeError(_NO_OPENBLAS)
    return threads


def set_num_threads(n: int) -> None:
    """Run NumPy's BLAS on ``n`` threads from now on (PyTorch's ``torch.set_num_threads``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n!r}")
    if not _SET_THREADS:
        lib = _numpy_openblas()
        routine = getattr(lib, "scipy_openblas_set_num_threads64_", None) if lib else None
        if routine is not None:
            routine.restype = None
            routine.argtypes = [ctypes.c_int]
        _SET_THREADS.append(routine)
    if _SET_THREADS[0] is None:
        raise RuntimeError(_NO_OPENBLAS)
    _SET_THREADS[0](int(n))


_NO_OPENBLAS = (
    "NumPy's OpenBLAS was not found (NumPy is built on another BLAS): set OMP_NUM_THREADS (or "
    "MKL_NUM_THREADS) before starting Python, or use threadpoolctl.threadpool_limits"
)

_DETERMINISTIC = {"enabled": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's switch, recorded; chainrule's ops are deterministic already (module
    docstring)."""
    if not isinstance(mode, bool):  # PyTorch's check
        raise RuntimeError(f"use_deterministic_algorithms expects a bool, but got {type(mode)}")
    _DETERMINISTIC["enabled"], _DETERMINISTIC["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _DETERMINISTIC["enabled"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _DETERMINISTIC["warn_only"]
