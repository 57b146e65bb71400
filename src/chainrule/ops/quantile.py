"""Quantiles with PyTorch's names and rules: ``quantile`` and ``nanquantile``.

As PyTorch does, each slice is sorted (NaN last, ties in input order), the rank ``q·(n − 1)``
is read between its two neighbouring sorted elements, and the result is ``lerp`` of the two,
built from ``gather`` and ``lerp`` so the gradient reaches those two elements with weights
``1 − w`` and ``w`` (all of it to one element for 'lower', 'higher' and 'nearest').
``quantile`` answers NaN for a slice holding a NaN; ``nanquantile`` skips NaNs.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DimensionError, DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.indexing import gather
from chainrule.ops.lerp import lerp
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor

INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_values(q, x: Tensor, op: str) -> tuple[np.ndarray, bool]:
    """``q`` as a 1-D float array, and whether the output gets a leading q dim."""
    if isinstance(q, Tensor):
        if q.array.dtype != x.array.dtype:
            raise DTypeError(
                f"{op}() q tensor must be same dtype as the input tensor, got {q.array.dtype} "
                f"and {x.array.dtype}"
            )
        if q.ndim > 1:
            raise DimensionError(f"{op}() q must be a scalar or 1D tensor, got shape {q.shape}")
        values, leading = q.array.reshape(-1).astype(np.float64), q.ndim == 1
    elif isinstance(q, (float, int, np.floating, np.integer)) and not isinstance(q, bool):
        values, leading = np.array([float(q)]), False
    else:
        raise TypeError(f"{op}() q must be a float or a tensor, got {type(q).__name__}")
    if np.any((values < 0) | (values > 1)) or np.any(np.isnan(values)):
        bad = values[~((values >= 0) & (values <= 1))][0]
        raise ValueError(f"{op}() q values must be in the range [0, 1], got {bad}")
    return values, leading


def _ranks(sorted_last: np.ndarray, q: np.ndarray, ignore_nan: bool) -> np.ndarray:
    """PyTorch's ranks into each sorted slice, shape (..., len(q))."""
    nans = np.isnan(sorted_last)
    if ignore_nan:
        count = (~nans).sum(axis=-1, keepdims=True)
        ranks = q * (count - 1).astype(q.dtype)
        return np.maximum(ranks, q.dtype.type(0))  # an all-NaN slice reads its first NaN
    last = q.dtype.type(sorted_last.shape[-1] - 1)
    return np.where(nans.any(axis=-1, keepdims=True), last, q * last)


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan) -> Tensor:  # noqa: A002
    x = operand(input)
    if x.array.dtype.kind != "f":
        raise DTypeError(
            f"{op}() input tensor must be either float or double dtype, got {x.array.dtype}"
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"{op}() interpolation must be one of {', '.join(INTERPOLATIONS)}, "
            f"got {interpolation!r}"
        )
    q_values, leading = _q_values(q, x, op)
    if x.array.size == 0:
        raise ShapeError(f"{op}() input tensor must be non-empty")
    if dim is None:
        last, kept_shape = x.reshape(-1), (1,) * x.ndim
    else:
        axis = _one_axis(x.reshape(1) if x.ndim == 0 else x, dim, op)
        last = x.reshape(1) if x.ndim == 0 else x.movedim(axis, -1)
        kept_shape = x.shape[:axis] + (1,) + x.shape[axis + 1 :] if x.ndim else ()
    order = np.argsort(last.array, axis=-1, kind="stable")  # NaN last, ties in input order
    sorted_last = np.take_along_axis(last.array, order, axis=-1)
    # ranks in the input's dtype, as PyTorch: 0.4·5 is 2 in float32 but 2.0000000298 from
    # float32 0.4 in float64, which would move 'higher' one element up
    ranks = _ranks(sorted_last, q_values.astype(x.array.dtype), ignore_nan)
    below, above = np.floor(ranks), np.ceil(ranks)
    if interpolation == "lower":
        above = below
    elif interpolation == "higher":
        below = above
    elif interpolation == "nearest":
        below = above = np.round(ranks)  # half to even, as PyTorch's round
    weights = np.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below

    def pick(rank):
        return gather(last, -1, np.take_along_axis(order, rank.astype(np.int64), axis=-1))

    low = pick(below)
    if interpolation in ("lower", "higher", "nearest"):
        out = low
    else:
        out = lerp(low, pick(above), Tensor._make(weights.astype(x.array.dtype), False))
    out = out.movedim(-1, 0)  # (q, ...)
    if keepdim:
        out = out.reshape(out.shape[0], *kept_shape)
    return out if leading else out.reshape(out.shape[1:])


def quantile(
    input,  # noqa: A002 - PyTorch's name
    q,
    dim=None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The ``q``-th quantiles of ``input`` (all elements, or along ``dim``), as
    ``torch.quantile``: a float ``q`` gives one value per slice, a 1-D tensor ``q`` a leading
    dim of them. NaN where a slice holds a NaN. ``interpolation``: 'linear', 'lower',
    'higher', 'midpoint' or 'nearest' (ranks at .5 round to even).

    Example:
        >>> import chainrule as cr
        >>> cr.quantile(cr.tensor([0.0, 10.0, 20.0, 30.0]), 0.5).item()
        15.0
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(
    input,  # noqa: A002 - PyTorch's name
    q,
    dim=None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` of the values that are not NaN (NaN for an all-NaN slice), as
    ``torch.nanquantile``.

    Example:
        >>> import chainrule as cr
        >>> cr.nanquantile(cr.tensor([0.0, float("nan"), 20.0]), 0.5).item()
        10.0
    """
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)
