"""PyTorch's other dropouts: channel-wise (``dropout1d``, ``dropout2d``, ``dropout3d``) and
alpha dropout (``alpha_dropout``, ``feature_alpha_dropout``), as functions and modules.

Channel-wise dropout zeros whole feature maps: one draw per (sample, channel), the mask of
shape (N, C, 1, ...) broadcast over the rest. Alpha dropout is for self-normalising (SELU)
networks: a dropped value becomes SELU's negative saturation −λα, and an affine map a·x + b
brings the mean and variance of a standardised input back to 0 and 1, as PyTorch's (with
PyTorch's a and b). Masks come from chainrule's seeded generator (``cr.manual_seed``), so
they are reproducible but not PyTorch's bits; the gradient is the mask times the scale.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from chainrule.autograd.compile_hooks import per_call
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.nn.activation import in_place
from chainrule.nn.dropout import Dropout, keep_mask
from chainrule.ops._util import operand
from chainrule.random import Generator, get_generator

#: SELU's λ·α: a dropped unit of alpha dropout sits at −λα before the affine correction.
_ALPHA = 1.7580993408473766


def _check_p(p) -> None:
    if not 0.0 <= p <= 1.0:  # NaN fails too
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")


def _drop(x, p, training, inplace, mask_shape, alpha, generator=None, what="dropout"):
    """PyTorch's ``_dropout_impl``: ``x`` times a mask of ``mask_shape`` (plus the alpha
    dropout shift), or ``x`` itself when nothing is dropped. ``mask_shape`` is called only
    when a mask is drawn (it checks the rank then, as PyTorch does)."""
    if p == 0 or not training or x.array.size == 0:
        return x
    if p == 1:
        return in_place(x * np.zeros((), dtype=x.array.dtype), x, inplace)
    dtype = x.array.dtype
    if dtype.kind != "f":
        raise DTypeError(
            f"{what}: an input of dtype {dtype} cannot hold the scaled result (as in "
            f"PyTorch); convert it first, e.g. x.float()"
        )
    shape = mask_shape()
    if not alpha:
        return in_place(x * per_call(keep_mask, generator, shape, p, dtype), x, inplace)
    # PyTorch's a·(x·keep + b′): with m = a·keep it is (x + λα)·m + λα·a·(p − 1)
    scale = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    multiplier = per_call(alpha_multiplier, generator, shape, p, scale, dtype)
    shift = dtype.type(_ALPHA * scale * (p - 1))
    return in_place((x + dtype.type(_ALPHA)) * multiplier + shift, x, inplace)


def alpha_multiplier(generator: Generator | None, shape: tuple, p: float, scale: float, dtype):
    """``scale`` where a unit is kept (probability 1 − p), else 0."""
    keep = get_generator(generator).random(shape) >= p
    return keep * np.asarray(scale, dtype=dtype)


def _channels(x, batched: bool):
    """The shape of a channel mask: (N, C, 1, ...), or (C, 1, ...) for an unbatched input."""

    def shape():
        lead = 2 if batched else 1
        if x.ndim < lead:
            raise ShapeError("Feature dropout requires at least 2 dimensions in the input")
        return x.shape[:lead] + (1,) * (x.ndim - lead)

    return shape


def dropout1d(
    input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
):  # noqa: A002, E501
    """Zero whole channels of a (N, C, L) or (C, L) input with probability ``p`` and scale
    the rest by 1/(1 − p), as ``torch.nn.functional.dropout1d``."""
    _check_p(p)
    x = operand(input)
    if x.ndim not in (2, 3):
        raise ShapeError(
            f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input. Note that "
            f"dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            f"dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            f"inputs)."
        )
    return _drop(x, p, training, inplace, _channels(x, x.ndim == 3), False, generator, "dropout1d")


def _deprecated_rank(name: str, ndim: int, ranks: str, spatial: int) -> None:
    warnings.warn(
        f"{name}: Received a {ndim}-D input to {name}, which is deprecated and will result in "
        f"an error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {name} exists to provide channel-wise dropout on "
        f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {ranks} inputs).",
        stacklevel=3,
    )


def dropout2d(
    input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
):  # noqa: A002, E501
    """Zero whole channels of a (N, C, H, W) input with probability ``p`` and scale the rest
    by 1/(1 − p), as ``torch.nn.functional.dropout2d``.

    As PyTorch's, a 3-D input is read as (N, C, L) (with PyTorch's warning that this will
    change; :func:`dropout1d` is the function for it), and other ranks warn that they are
    deprecated and drop channels of dimension 1."""
    _check_p(p)
    x = operand(input)
    if x.ndim not in (3, 4):
        _deprecated_rank("dropout2d", x.ndim, "3D or 4D", 2)
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _drop(x, p, training, inplace, _channels(x, True), False, generator, "dropout2d")


def dropout3d(
    input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
):  # noqa: A002, E501
    """Zero whole channels of a (N, C, D, H, W) or (C, D, H, W) input with probability ``p``
    and scale the rest by 1/(1 − p), as ``torch.nn.functional.dropout3d`` (other ranks warn,
    as PyTorch's, and are read as unbatched)."""
    _check_p(p)
    x = operand(input)
    if x.ndim not in (4, 5):
        _deprecated_rank("dropout3d", x.ndim, "4D or 5D", 3)
    return _drop(x, p, training, inplace, _channels(x, x.ndim == 5), False, generator, "dropout3d")


def alpha_dropout(
    input, p: float = 0.5, training: bool = False, inplace: bool = False, *, generator=None
):  # noqa: A002, E501
    """Alpha dropout, as ``torch.nn.functional.alpha_dropout`` (note PyTorch's default
    ``training=False``): each element is dropped to SELU's saturation with probability ``p``,
    then an affine map keeps a standardised input's mean 0 and variance 1."""
    _check_p(p)
    x = operand(input)
    return _drop(x, p, training, inplace, lambda: x.shape, True, generator, "alpha_dropout")


def feature_alpha_dropout(
    input, p: float = 0.5, training: bool = False, inplace: bool = False, *, generator=None
):  # noqa: A002, E501
    """:func:`alpha_dropout` of whole channels (one draw per sample and channel, dimension 1),
    as ``torch.nn.functional.feature_alpha_dropout``."""
    _check_p(p)
    x = operand(input)
    return _drop(
        x, p, training, inplace, _channels(x, True), True, generator, "feature_alpha_dropout"
    )


# ---- modules --------------------------------------------------------------------------------
class Dropout1d(Dropout):
    """Zero whole channels with probability ``p`` in training, scaling the rest by 1/(1 − p).
    Arguments as :class:`Dropout`. Shape: (N, C, L) or (C, L) → same."""

    def forward(self, x):
        return dropout1d(x, self.p, self.training, self.inplace, generator=self.generator)


class Dropout3d(Dropout):
    """Zero whole channels with probability ``p`` in training, scaling the rest by 1/(1 − p).
    Arguments as :class:`Dropout`. Shape: (N, C, D, H, W) or (C, D, H, W) → same."""

    def forward(self, x):
        return dropout3d(x, self.p, self.training, self.inplace, generator=self.generator)


class AlphaDropout(Dropout):
    """Alpha dropout in training (for SELU networks; see :func:`alpha_dropout`), the identity
    in evaluation. Arguments as :class:`Dropout`; as PyTorch's, ``inplace`` is only shown in
    the repr and the input is never overwritten. Shape: any → same."""

    def forward(self, x):
        return alpha_dropout(x, self.p, self.training, generator=self.generator)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels in training (see :func:`feature_alpha_dropout`), the
    identity in evaluation. Arguments as :class:`AlphaDropout`. Shape: (N, C, *) → same."""

    def forward(self, x):
        return feature_alpha_dropout(x, self.p, self.training, generator=self.generator)
