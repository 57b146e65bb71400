"""``affine_grid``: the sampling grid of a batch of affine maps, as
``torch.nn.functional.affine_grid`` (the grid that :func:`grid_sample` reads with).

The grid is a constant base grid of homogeneous points ``(x, y, 1)`` (or ``(x, y, z, 1)``)
times ``thetaᵀ``: one matmul, so the gradient with respect to ``theta`` (and its second
derivative) is the matmul's own.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import check_int, operand
from chainrule.ops.grid_sample import ALIGN_CORNERS_WARNING
from chainrule.tensor import Tensor


def _linspace(steps: int, align_corners: bool, dtype) -> np.ndarray:
    """PyTorch's ``linspace_from_neg_one``: ``steps`` points from -1 to 1 (halves computed from
    each end, as ``torch.linspace``), pulled in to the pixel centres unless ``align_corners``;
    one point is 0."""
    kind = np.dtype(dtype).type
    if steps <= 1:
        return np.zeros(1, dtype)
    step = (kind(1) - kind(-1)) / kind(steps - 1)
    i = np.arange(steps)
    half = steps // 2
    points = np.where(
        i < half, kind(-1) + step * i.astype(dtype), kind(1) - step * (steps - 1 - i).astype(dtype)
    ).astype(dtype)
    if not align_corners:
        points = (points * kind(steps - 1) / kind(steps)).astype(dtype)
    return points


def _base_grid(spatial: tuple, align_corners: bool, dtype) -> np.ndarray:
    """(*spatial, d + 1) homogeneous points: x varies along the last dimension, then y, z."""
    d = len(spatial)
    base = np.ones((*spatial, d + 1), dtype)
    for k, size in enumerate(reversed(spatial)):  # x runs along the width (the last dim)
        shape = [1] * d
        shape[d - 1 - k] = -1
        base[..., k] = _linspace(size, align_corners, dtype).reshape(shape)
    return base


def _check(theta: Tensor, size: tuple, align_corners: bool) -> tuple:
    if theta.array.dtype.kind != "f":
        raise DTypeError(
            f"affine_grid expects theta to have a floating-point dtype, but got "
            f"{theta.array.dtype}; convert it with .float() or .double()"
        )
    if len(size) not in (4, 5):
        raise NotImplementedError(
            f"affine_grid only supports 4-D and 5-D sizes, for 2-D and 3-D affine transforms "
            f"respectively; got size {size}"
        )
    d = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (d, d + 1):
        rows = "Nx2x3" if d == 2 else "Nx3x4"
        raise ShapeError(
            f"affine_grid expects a batch of {d}-D affine matrices of shape {rows} for size "
            f"{size}; got theta of shape {theta.shape}"
        )
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            UserWarning,
            stacklevel=3,
        )
    elif min(size) <= 0:
        raise ValueError(f"affine_grid expects a non-zero, positive output size; got {size}")
    if theta.shape[0] != size[0]:
        raise ShapeError(
            f"affine_grid: size {size} asks for a batch of {size[0]} but theta holds "
            f"{theta.shape[0]} matrices (shape {theta.shape}); they must agree"
        )
    return spatial


def affine_grid(theta, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps ``theta``, as ``torch.nn.functional.affine_grid``.

    ``grid[n, h, w] = theta[n] @ (x_w, y_h, 1)``, where ``x``/``y`` run over [-1, 1] across the
    width and height of ``size`` (the corner pixels' centres with ``align_corners=True``, their
    outer edges with ``False``, the default; leaving it out warns, as PyTorch does).

    Args:
        theta: (N, 2, 3) for a 4-D ``size`` (N, C, H, W), (N, 3, 4) for a 5-D one
            (N, C, D, H, W).
        size: the output image size the grid is for.
        align_corners: see above; use the same value with :func:`grid_sample`.

    Shape: (N, H, W, 2) or (N, D, H, W, 3). Differentiable in ``theta``.

    Example:
        >>> import chainrule as cr
        >>> theta = cr.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        >>> cr.nn.functional.affine_grid(theta, (1, 1, 2, 2), align_corners=True).tolist()
        [[[[-1.0, -1.0], [1.0, -1.0]], [[-1.0, 1.0], [1.0, 1.0]]]]
    """
    if align_corners is None:
        warnings.warn(ALIGN_CORNERS_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    theta = operand(theta)
    size = tuple(check_int(s, "size", "affine_grid") for s in size)  # int() would truncate
    spatial = _check(theta, size, bool(align_corners))
    d = len(spatial)
    base = _base_grid(spatial, bool(align_corners), theta.array.dtype).reshape(1, -1, d + 1)
    grid = Tensor._make(base, False) @ theta.transpose(1, 2)
    return grid.reshape(size[0], *spatial, d)
