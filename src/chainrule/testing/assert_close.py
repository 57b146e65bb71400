"""``testing.assert_close``: PyTorch's ``torch.testing.assert_close`` on chainrule tensors.

Two values are close where |actual − expected| ≤ atol + rtol·|expected| element by element,
with PyTorch's default tolerances per dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7 and
1e-7; float16: 1e-3 and 1e-5; integers and bools: exact). Shapes and dtypes must match too
(``check_dtype=False`` compares values across dtypes). Sequences and mappings are compared item
by item. A failure raises ``AssertionError`` with PyTorch's report: how many elements differ
and the greatest absolute and relative differences, with their indices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["assert_close"]

_DEFAULTS = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


def _array(value) -> np.ndarray:
    array = getattr(value, "array", None)
    return array if isinstance(array, np.ndarray) else np.asarray(value)


def _is_tensor_like(value) -> bool:
    return hasattr(value, "array") or isinstance(value, (np.ndarray, int, float, bool, complex))


def _fail(msg, default: str) -> None:
    raise AssertionError(msg if msg is not None else default)


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, where: str) -> None:
    a, e = _array(actual), _array(expected)
    prefix = f"{where}: " if where else ""
    if a.shape != e.shape:
        _fail(
            msg, f"{prefix}The values for attribute 'shape' do not match: {a.shape} != {e.shape}."
        )
    if check_dtype and a.dtype != e.dtype:
        _fail(
            msg, f"{prefix}The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}."
        )
    if rtol is None:
        rtol, atol = _DEFAULTS.get(str(np.promote_types(a.dtype, e.dtype)), (0.0, 0.0))
    common = np.promote_types(a.dtype, e.dtype)
    floating = common.kind in "fc"
    work = common if floating else np.int64  # PyTorch's report: integers in int64
    aw, ew = a.astype(work), e.astype(work)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(aw - ew)
        close = diff <= atol + rtol * np.abs(ew)
    close |= aw == ew  # equal infinities
    if equal_nan and floating:
        close |= np.isnan(aw) & np.isnan(ew)
    if close.all():
        return
    _fail(msg, _report(prefix, diff, ew, close, rtol, atol, floating))


def _report(prefix, diff, expected, close, rtol, atol, floating) -> str:
    """PyTorch's mismatch report: the greatest absolute and relative differences among the
    mismatches (NaN wins, as ``torch.max``), with their indices."""
    shape = close.shape
    diff, expected, close = diff.ravel(), expected.ravel(), close.ravel()
    diff = np.where(close, diff.dtype.type(0), diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        if floating:
            rel = diff / np.abs(expected)
        else:  # PyTorch divides integers into its default float dtype
            rel = diff.astype(np.float32) / np.abs(expected).astype(np.float32)
    rel = np.where(close, rel.dtype.type(0), rel)
    i_abs, i_rel = int(np.argmax(diff)), int(np.argmax(rel))
    bad = int((~close).sum())
    exact = rtol == 0 and atol == 0

    def line(kind, values, i, tol):
        index = tuple(int(k) for k in np.unravel_index(i, shape)) if shape else ()
        text = f"Greatest {kind} difference: {values[i].item()} at index {index}"
        return text if exact else text + f" (up to {tol} allowed)"

    return "\n".join(
        [
            f"{prefix}Tensor-likes are not {'equal' if exact else 'close'}!",
            "",
            f"Mismatched elements: {bad} / {close.size} ({bad / close.size:.1%})",
            line("absolute", diff, i_abs, atol),
            line("relative", rel, i_rel, rtol),
        ]
    )


def assert_close(
    actual,
    expected,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | None = None,
) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close (see the module
    docstring)."""
    if (rtol is None) != (atol is None):  # PyTorch's words
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
            f"{'rtol' if rtol is None else 'atol'}."
        )
    _walk(actual, expected, rtol, atol, equal_nan, check_dtype, msg, "")


def _walk(actual, expected, rtol, atol, equal_nan, check_dtype, msg, where) -> None:
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, where)
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(
                msg,
                f"{where}The keys of the mappings do not match: {sorted(map(str, actual))} "
                f"!= {sorted(map(str, expected))}",
            )
        for key in expected:
            _walk(
                actual[key],
                expected[key],
                rtol,
                atol,
                equal_nan,
                check_dtype,
                msg,
                f"{where}item [{key!r}]",
            )
    elif (
        isinstance(actual, Sequence)
        and isinstance(expected, Sequence)
        and not isinstance(actual, str)
    ):
        if len(actual) != len(expected):
            _fail(
                msg,
                f"{where}The length of the sequences mismatch: {len(actual)} != {len(expected)}",
            )
        for i, (a, e) in enumerate(zip(actual, expected)):
            _walk(a, e, rtol, atol, equal_nan, check_dtype, msg, f"{where}item [{i}]")
    else:
        raise TypeError(
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}."
        )
