"""grid_sample (4-D, bilinear, zeros padding) at a NaN grid point, against PyTorch: every
corner of the point is outside the image, so the image's gradient gets nothing from it (it
used to get NaN through the upper corner) and the grid's gradient is 0 along the NaN
coordinate."""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _run(lib, x, grid, align_corners):
    xx = lib.from_numpy(x.copy()).requires_grad_(True)
    gg = lib.from_numpy(grid.copy()).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = lib.nn.functional.grid_sample(
            xx, gg, mode="bilinear", padding_mode="zeros", align_corners=align_corners
        )
        out.sum().backward()
    return out.detach().numpy(), xx.grad.numpy(), gg.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_nan_grid_point_reads_no_pixel(dtype, align_corners):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 5)).astype(dtype)
    values = [np.nan, 0.3, -0.7, 0.999]
    grid = np.array(list(itertools.product(values, repeat=2)), dtype=dtype)
    grid = np.broadcast_to(grid.reshape(1, 4, 4, 2), (2, 4, 4, 2)).copy()
    ours = _run(cr, x, grid, align_corners)
    theirs = _run(torch, x, grid, align_corners)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert np.isfinite(ours[1]).all()
