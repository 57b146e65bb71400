"""``grid_sample``: read an image (or a volume) at the points of a sampling grid, as
``torch.nn.functional.grid_sample``, with gradients for the image and for the grid.

Every output point is a weighted sum of a few input pixels ("taps"): 4 corners (bilinear),
8 (trilinear, for 5-D input), 1 (nearest) or 16 (bicubic). The op gathers the taps' values
with fancy indexing and, going back, scatters the output's gradient onto them with
``np.add.at``. The grid's gradient is each tap's value times the derivative of its weight with
respect to the coordinate, times ``d coordinate / d grid`` (see :mod:`chainrule.ops.grid_coords`).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.grid_coords import Axis, cubic_weight_grads, cubic_weights
from chainrule.tensor import Tensor

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


class _Tap:
    """One input pixel read by every output point: its flat position, whether it lies inside
    the image, its weight, and the weight's derivative along each spatial dimension."""

    __slots__ = ("flat", "inside", "weight", "slopes")

    def __init__(self, flat, inside, weight, slopes):
        self.flat, self.inside, self.weight, self.slopes = flat, inside, weight, slopes


def _strides(spatial: tuple) -> list:
    return [int(np.prod(spatial[k + 1 :], dtype=np.int64)) for k in range(len(spatial))]


def _combine(axes, picks, spatial) -> tuple:
    """The flat position and the inside mask of one tap from its index along each dimension."""
    flat, inside = 0, True
    for axis, index, stride in zip(axes, picks, _strides(spatial)):
        inside = inside & axis.inside(index)
        flat = flat + index * stride
    return np.where(inside, flat, 0), inside


def _linear_weights(fracs, rests) -> list:
    """Per corner, in tap order: its weight (the product of one factor per dimension: the
    fraction past the lower pixel for the upper corner, the rest for the lower) and the
    weight's slopes along each coordinate. Arrays, or tensors for second derivatives."""
    d = len(fracs)
    order = range(d) if d == 2 else range(d - 1, -1, -1)  # PyTorch's product order
    out = []
    for bits in itertools.product((0, 1), repeat=d):
        factors = [fracs[k] if bits[k] else rests[k] for k in range(d)]
        weight = None
        for k in order:
            weight = factors[k] if weight is None else weight * factors[k]
        slopes = []
        for k in range(d):
            slope = None
            for j in order:
                if j != k:
                    slope = factors[j] if slope is None else slope * factors[j]
            slopes.append(slope if bits[k] else -slope)
        out.append((weight, slopes))
    return out


def _cubic_weights(fracs) -> list:
    """Per tap of the 4 × 4, in tap order: its weight and slopes (arrays or tensors)."""
    weights = [cubic_weights(t) for t in fracs]
    slopes = [cubic_weight_grads(t) for t in fracs]
    return [
        (
            weights[0][i] * weights[1][j],
            [slopes[0][i] * weights[1][j], weights[0][i] * slopes[1][j]],
        )
        for i, j in itertools.product(range(4), repeat=2)  # i along H, j along W
    ]


def _linear_taps(axes, grids, spatial) -> tuple:
    """The 2**d corners around each point, their (bi/tri)linear weights and slopes."""
    cols = [axis.source(g, True) for axis, g in zip(axes, grids)]
    coords = [coord for coord, _ in cols]
    lows = [np.floor(coord) for coord in coords]
    fracs = [coord - low for coord, low in zip(coords, lows)]
    # 1 − fraction (the 2-D kernel) or (low + 1) − coord (the 3-D one), as PyTorch rounds
    rests = [1 - f if len(axes) == 2 else (low + 1) - c for f, low, c in zip(fracs, lows, coords)]
    weights = _linear_weights(fracs, rests)
    indexes = [axis.index(low) for axis, low in zip(axes, lows)]
    taps = []
    for bits, (weight, slopes) in zip(itertools.product((0, 1), repeat=len(axes)), weights):
        flat, inside = _combine(axes, [low + b for low, b in zip(indexes, bits)], spatial)
        taps.append(_Tap(flat, inside, weight, slopes))
    return taps, [grad for _, grad in cols], coords, lows


def _nearest_taps(axes, grids, spatial) -> tuple:
    """The pixel nearest each point (halves to even, as PyTorch's ``nearbyint``)."""
    picks = [axis.index(np.rint(axis.source(g)[0])) for axis, g in zip(axes, grids)]
    flat, inside = _combine(axes, picks, spatial)
    return [_Tap(flat, inside, None, None)], None, None, None


def _cubic_taps(axes, grids, spatial) -> tuple:
    """The 4 × 4 pixels around each point and their bicubic weights; padding moves each tap
    into the image (PyTorch pads the taps, not the coordinate, so the grid's factor is the
    plain scale)."""
    coords = [axis.unnormalize(g) for axis, g in zip(axes, grids)]
    lows = [np.floor(c) for c in coords]
    weights = _cubic_weights([c - low for c, low in zip(coords, lows)])
    picks = [
        [axis.index(axis.tap(low + (k - 1))) for k in range(4)] for axis, low in zip(axes, lows)
    ]
    taps = []
    for (i, j), (weight, slopes) in zip(itertools.product(range(4), repeat=2), weights):
        flat, inside = _combine(axes, [picks[0][i], picks[1][j]], spatial)
        taps.append(_Tap(flat, inside, weight, slopes))
    factors = [np.full(c.shape, axis.scale, c.dtype) for axis, c in zip(axes, coords)]
    return taps, factors, coords, lows


class GridSample(Function):
    """``out[n, c, p] = Σ_taps w(p) · input[n, c, tap(p)]``. Local derivatives: the weights
    for the input; for the grid, each tap's value times ``d w / d coordinate`` times
    ``d coordinate / d grid`` (0 for nearest)."""

    label = "grid_sample"
    formulas = (
        "the taps' weights, scattered to the pixels they read",
        "Σ taps value · ∂weight/∂coordinate · ∂coordinate/∂grid",
    )

    def forward(self, x, grid, mode, padding_mode, align_corners):
        n, c, *spatial = x.shape
        self.x_shape, self.grid_shape, self.mode = x.shape, grid.shape, mode
        d, out_spatial = len(spatial), grid.shape[1:-1]
        axes = [Axis(s, padding_mode, align_corners, x.dtype, d == 3) for s in spatial]
        points = grid.reshape(n, int(np.prod(out_spatial)), d)
        grids = [points[..., d - 1 - k] for k in range(d)]  # grid's x is the last dim
        taps = {"nearest": _nearest_taps, "bicubic": _cubic_taps, "bilinear": _linear_taps}
        self.taps, self.factors, self.coords, self.lows = taps[mode](axes, grids, spatial)
        self.grids = grids
        # pixels last, channels inner: one fancy index reads every channel of a tap
        pixels = x.reshape(n, c, int(np.prod(spatial)))
        self.pixels = np.ascontiguousarray(pixels.transpose(0, 2, 1))
        out = np.zeros((n, points.shape[1], c), x.dtype)
        for tap in self.taps:
            values = self._read(tap)
            out += values if tap.weight is None else values * tap.weight[..., None]
        return np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(n, c, *out_spatial)

    def _read(self, tap) -> np.ndarray:
        batch = np.arange(self.pixels.shape[0])[:, None]
        values = self.pixels[batch, tap.flat]
        return np.where(tap.inside[..., None], values, 0)

    def backward(self, grad):
        n, c = self.x_shape[:2]
        grad = grad.reshape(n, c, self.taps[0].flat.shape[1]).transpose(0, 2, 1)  # (N, points, C)
        grad_x = grad_grid = None
        if self.needs_grad[0]:
            grad_x = self._input_grad(grad)
        if self.needs_grad[1]:
            grad_grid = self._grid_grad(grad)
        return grad_x, grad_grid

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return GridSampleGraph(self).gradients(grad)

    def _input_grad(self, grad) -> np.ndarray:
        n, c = self.x_shape[:2]
        pixels = self.pixels.shape[1]
        grad_x = np.zeros((n * pixels, c), grad.dtype)
        rows = np.arange(n)[:, None] * pixels
        for tap in self.taps:
            share = grad if tap.weight is None else grad * tap.weight[..., None]
            np.add.at(grad_x, (rows + tap.flat)[tap.inside], share[tap.inside])
        return np.ascontiguousarray(grad_x.reshape(n, pixels, c).transpose(0, 2, 1)).reshape(
            self.x_shape
        )

    def _grid_grad(self, grad) -> np.ndarray:
        d = len(self.x_shape) - 2
        grad_grid = np.zeros(self.grid_shape, grad.dtype).reshape(grad.shape[0], grad.shape[1], d)
        if self.mode == "nearest":  # piecewise constant: PyTorch's zeros
            return grad_grid.reshape(self.grid_shape)
        for tap in self.taps:
            along = np.einsum("npc,npc->np", self._read(tap), grad)
            for k in range(d):
                grad_grid[..., d - 1 - k] += along * tap.slopes[k]
        for k in range(d):
            grad_grid[..., d - 1 - k] *= self.factors[k]
        return grad_grid.reshape(self.grid_shape)


class GridSampleGraph:
    """GridSample's gradients written with tensor ops, for second derivatives: the taps'
    positions are fixed, the coordinates are the forward's plus ``factor · (grid − grid₀)``
    (their value and slope, the padding's kinks frozen where they were), so the weights and
    slopes are recomputed as tensors of the grid."""

    def __init__(self, op: GridSample):
        self.op = op

    def gradients(self, grad: Tensor) -> tuple:
        from chainrule.ops.getitem import PlaceAt

        op, (x, grid) = self.op, self.op.parents
        n, c = op.x_shape[:2]
        d, pixels, points = len(op.x_shape) - 2, op.pixels.shape[1], op.taps[0].flat.shape[1]
        grad = grad.reshape(n, c, points).transpose(1, 2)  # (N, points, C)
        rows = np.arange(n)[:, None] * pixels
        flats = [(rows + tap.flat).reshape(-1) for tap in op.taps]
        masks = [_constant(tap.inside[..., None], grad.dtype) for tap in op.taps]
        weights = self._weights(grid) if op.mode != "nearest" else [(1, None)] * len(op.taps)
        grad_x = grad_grid = None
        if op.needs_grad[0]:
            for flat, mask, (weight, _) in zip(flats, masks, weights):
                share = grad * mask if op.mode == "nearest" else grad * (weight[..., None] * mask)
                placed = PlaceAt.apply(
                    share.reshape(-1, c), shape=(n * pixels, c), index=flat, advanced=True
                )
                grad_x = placed if grad_x is None else grad_x + placed
            grad_x = grad_x.reshape(n, pixels, c).transpose(1, 2).reshape(op.x_shape)
        if op.needs_grad[1]:
            grad_grid = self._grid_grad(x, grad, flats, masks, weights, d)
        return grad_x, grad_grid

    def _weights(self, grid: Tensor) -> list:
        op = self.op
        d = len(op.x_shape) - 2
        points = grid.reshape(grid.shape[0], -1, d)
        fracs = []
        for k in range(d):
            moved = points[..., d - 1 - k] - _constant(op.grids[k], grid.dtype)
            coord = (
                _constant(op.coords[k], grid.dtype) + _constant(op.factors[k], grid.dtype) * moved
            )
            fracs.append(coord - _constant(op.lows[k], grid.dtype))
        if op.mode == "bicubic":
            return _cubic_weights(fracs)
        return _linear_weights(fracs, [1 - f for f in fracs])

    def _grid_grad(self, x, grad, flats, masks, weights, d) -> Tensor:
        from chainrule.ops.getitem import GetItem
        from chainrule.ops.shape import stack

        op = self.op
        n, c = op.x_shape[:2]
        if op.mode == "nearest":  # piecewise constant: zeros, as PyTorch's
            return Tensor._make(np.zeros(op.grid_shape, grad.dtype), False)
        table = x.reshape(n, c, -1).transpose(1, 2).reshape(-1, c)  # (N·pixels, C)
        per_dim = [None] * d
        for flat, mask, (_, slopes) in zip(flats, masks, weights):
            values = GetItem.apply(table, index=flat, advanced=True).reshape(grad.shape) * mask
            along = (values * grad).sum(-1)
            for k in range(d):
                term = along * slopes[k]
                per_dim[k] = term if per_dim[k] is None else per_dim[k] + term
        columns = [per_dim[k] * _constant(op.factors[k], grad.dtype) for k in range(d)]
        return stack(columns[::-1], -1).reshape(op.grid_shape)


def _constant(array, dtype) -> Tensor:
    return Tensor._make(np.asarray(array, dtype=dtype), False)


def _check(x: Tensor, grid: Tensor, mode: str) -> None:
    if x.ndim not in (4, 5) or grid.ndim != x.ndim:
        raise ShapeError(
            f"grid_sample expects a 4-D input (N, C, H_in, W_in) with a 4-D grid (N, H, W, 2), "
            f"or a 5-D input with a 5-D grid (N, D, H, W, 3); got input of shape {x.shape} and "
            f"grid of shape {grid.shape}"
        )
    if x.shape[0] != grid.shape[0]:
        raise ShapeError(
            f"grid_sample expects grid and input to have the same batch size, but got input of "
            f"shape {x.shape} and grid of shape {grid.shape}"
        )
    if grid.shape[-1] != x.ndim - 2:
        raise ShapeError(
            f"grid_sample expects grid to have size {x.ndim - 2} in its last dimension (one "
            f"coordinate per spatial dimension), but got grid of shape {grid.shape}"
        )
    for axis in range(2, x.ndim):
        if x.shape[axis] == 0:
            raise ShapeError(
                f"grid_sample expects input to have non-empty spatial dimensions, but input of "
                f"shape {x.shape} has dimension {axis} empty"
            )
    if x.ndim == 5 and mode == "bicubic":
        raise ArgumentError("grid_sample: bicubic interpolation only supports 4-D input")
    for name, t in (("input", x), ("grid", grid)):
        if t.array.dtype.kind != "f":
            raise DTypeError(
                f"grid_sample expects floating-point {name} and grid, got {name} of dtype "
                f"{t.array.dtype}; convert it with .float() or .double()"
            )
    if x.array.dtype != grid.array.dtype:
        raise DTypeError(
            f"grid_sample expects input and grid of the same dtype, got {x.array.dtype} and "
            f"{grid.array.dtype}"
        )


def grid_sample(
    input,  # noqa: A002 - PyTorch's name
    grid,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` at the points of ``grid``, as ``torch.nn.functional.grid_sample``.

    ``grid[n, h, w]`` holds an (x, y) point in [-1, 1] (x along the width); -1 and 1 are the
    centres of the corner pixels with ``align_corners=True``, the outer edges of the corner
    pixels with ``False`` (the default; leaving it out warns, as PyTorch does). Points outside
    read zeros, the border pixels, or the image mirrored, by ``padding_mode``. 5-D inputs take
    (x, y, z) points and ``'bilinear'`` (trilinear in fact) or ``'nearest'``.

    Args:
        input: (N, C, H_in, W_in) or (N, C, D_in, H_in, W_in).
        grid: (N, H, W, 2) or (N, D, H, W, 3), the same dtype as ``input``.
        mode: ``'bilinear'``, ``'nearest'`` or ``'bicubic'`` (4-D only).
        padding_mode: ``'zeros'``, ``'border'`` or ``'reflection'``.
        align_corners: see above.

    Shape: (N, C, H, W) or (N, C, D, H, W). Gradients flow to both ``input`` and ``grid``
    (the grid's is 0 for ``'nearest'``).

    Example:
        >>> import chainrule as cr
        >>> x = cr.arange(4.0).reshape(1, 1, 2, 2)
        >>> grid = cr.tensor([[[[0.0, 0.0]]]])
        >>> cr.nn.functional.grid_sample(x, grid, align_corners=False).tolist()
        [[[[1.5]]]]
    """
    if mode not in MODES:
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(ALIGN_CORNERS_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    x, grid = operand(input), operand(grid)
    _check(x, grid, mode)
    return GridSample.apply(
        x, grid, mode=mode, padding_mode=padding_mode, align_corners=bool(align_corners)
    )
