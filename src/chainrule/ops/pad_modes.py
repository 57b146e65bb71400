"""``F.pad``'s other modes (``reflect``, ``replicate``, ``circular``) and negative sizes (cropping),
with PyTorch's rules on which shapes each mode takes.

A padded dimension is one gather: each output position reads one input position (its mirror
image, the nearest edge, or the position modulo the size), so the gradient is IndexSelect's:
every output position's gradient added to the input position it read.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeNotImplementedError, ShapeError
from chainrule.tensor import Tensor

MODES = ("constant", "reflect", "replicate", "circular")


def _positions(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """The input position each output position reads along one dimension."""
    if mode == "circular":  # PyTorch crops first, then wraps around what is left
        start, stop = max(-before, 0), size - max(-after, 0)
        kept = stop - start
        if max(before, after) > kept or size + before + after < 0:  # (PyTorch reads memory
            # outside the tensor when a pad passes what is left after cropping)
            raise ShapeError(
                f"pad(mode='circular'): Padding value causes wrapping around more than once "
                f"(pad ({before}, {after}) for a dimension of size {size}), as in PyTorch"
            )
        wrapped = np.arange(-max(before, 0), kept + max(after, 0)) % max(kept, 1)
        return start + wrapped
    out = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(out, 0, size - 1)
    out = np.abs(out)  # reflect: mirror at 0 and at size − 1, the edges not repeated
    return np.where(out > size - 1, 2 * (size - 1) - out, out)


def _check_mode_shape(x: Tensor, pad: list, mode: str) -> None:
    pairs = len(pad) // 2
    if pairs not in (1, 2, 3) or x.ndim not in (pairs + 1, pairs + 2):
        raise NotImplementedError(
            f"pad(mode={mode!r}): padding size {len(pad)} is not supported for {x.ndim}D input "
            f"tensor, as in PyTorch; pad 2, 4 or 6 numbers for the last 1, 2 or 3 dimensions of "
            f"an input with one or two more dimensions (batch and channels)"
        )
    if mode != "circular" and x.dtype == np.bool_:
        raise DTypeNotImplementedError(
            f"pad(mode={mode!r}) has no kernel for bool tensors (as in PyTorch); convert first"
        )
    padded = x.shape[x.ndim - pairs :]
    if mode != "circular" and 0 in x.shape[x.ndim - pairs - 1 :]:
        raise ShapeError(
            f"pad(mode={mode!r}) needs non-empty dimensions apart from the batch, got shape "
            f"{x.shape}"
        )
    for k, size in enumerate(reversed(padded)):
        before, after = pad[2 * k], pad[2 * k + 1]
        if mode == "reflect" and (before >= size or after >= size):
            raise ShapeError(
                f"pad(mode='reflect'): Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({before}, {after}) at dimension "
                f"{x.ndim - 1 - k} of input {x.shape}"
            )
    sizes = [size + pad[2 * k] + pad[2 * k + 1] for k, size in enumerate(reversed(padded))]
    # PyTorch's kernels refuse an output without elements in every padded dimension (one
    # empty dimension among several passes there, so it does here)
    if mode != "circular" and (min(sizes) < 0 or max(sizes) < 1):
        raise ShapeError(
            f"pad(mode={mode!r}): input of shape {x.shape} is too small for padding {pad}: the "
            f"padded dimensions would have sizes {sizes[::-1]}"
        )


def pad_by_mode(x: Tensor, pad: list, mode: str) -> Tensor:
    """``x`` padded as ``F.pad(x, pad, mode)`` for the modes that read the input's own values."""
    from chainrule.ops.indexing import IndexSelect

    _check_mode_shape(x, pad, mode)
    for k in range(len(pad) // 2):
        dim = x.ndim - 1 - k
        where = _positions(x.shape[dim], pad[2 * k], pad[2 * k + 1], mode)
        x = IndexSelect.apply(x, dim=dim, index=where)
    return x


def crop_negative(x: Tensor, pad: list) -> tuple[Tensor, list]:
    """Constant mode's negative sizes: cut those elements off first (as PyTorch's ``narrow``),
    then pad by what is left positive."""
    index = [slice(None)] * x.ndim
    for k in range(len(pad) // 2):
        dim = x.ndim - 1 - k
        before, after, size = pad[2 * k], pad[2 * k + 1], x.shape[dim]
        start, stop = max(-before, 0), size - max(-after, 0)
        if stop < start:
            raise ShapeError(
                f"pad: padding ({before}, {after}) crops more than the {size} elements of "
                f"dimension {dim} (narrow(): length must be non-negative, in PyTorch)"
            )
        index[dim] = slice(start, stop)
    return x[tuple(index)], [max(p, 0) for p in pad]
