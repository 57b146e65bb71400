"""F.grid_sample and F.affine_grid against PyTorch: values, gradients for input, grid and
theta, every mode × padding × align_corners, points outside [-1, 1] and exactly on pixel
centres and edges, float32 and float64, warnings and errors."""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
F = nn.functional
TF = torch.nn.functional

# grid values that land on pixel centres, edges and borders, inside and outside the image
SPECIAL = np.array([-1.0, 1.0, 0.0, -0.5, 0.5, 1 / 3, -1 / 3, 2.0, -3.0, 1.5, 0.25, -0.75, -1.25])
CASES = [
    (d, mode, padding, align)
    for d, mode, padding, align in itertools.product(
        (2, 3), ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection"), (False, True)
    )
    if not (d == 3 and mode == "bicubic")
]


def _grid(rng, shape):
    """Uniform points in [-1.6, 1.6] with the special values written over the first ones."""
    grid = rng.uniform(-1.6, 1.6, shape).reshape(-1)
    grid[: 3 * len(SPECIAL)] = np.tile(SPECIAL, 3)
    return grid.reshape(shape)


def _both(x, grid, upstream, dtype, **kwargs):
    """Output and gradients (input, grid) of chainrule and of torch."""
    xc = cr.tensor(x, dtype=dtype, requires_grad=True)
    gc = cr.tensor(grid, dtype=dtype, requires_grad=True)
    out = F.grid_sample(xc, gc, **kwargs)
    out.backward(cr.tensor(upstream, dtype=dtype))
    tdtype = getattr(torch, dtype)
    xt = torch.tensor(x, dtype=tdtype, requires_grad=True)
    gt = torch.tensor(grid, dtype=tdtype, requires_grad=True)
    expected = TF.grid_sample(xt, gt, **kwargs)
    expected.backward(torch.tensor(upstream, dtype=tdtype))
    ours = (out.detach().numpy(), np.asarray(xc.grad), np.asarray(gc.grad))
    theirs = (expected.detach().numpy(), xt.grad.numpy(), gt.grad.numpy())
    return ours, theirs


@pytest.mark.parametrize(("d", "mode", "padding", "align"), CASES)
def test_grid_sample_values_and_gradients_match_torch_float64(d, mode, padding, align):
    rng = np.random.default_rng(CASES.index((d, mode, padding, align)))
    spatial, out_spatial = ((3, 4), (5, 6)) if d == 2 else ((3, 4, 2), (3, 4, 2))
    x = rng.standard_normal((2, 3, *spatial))
    grid = _grid(rng, (2, *out_spatial, d))
    upstream = rng.standard_normal((2, 3, *out_spatial))
    kwargs = {"mode": mode, "padding_mode": padding, "align_corners": align}
    ours, theirs = _both(x, grid, upstream, "float64", **kwargs)
    assert ours[0].shape == theirs[0].shape
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    if mode == "nearest":  # piecewise constant: the grid's gradient is zeros, as PyTorch's
        assert not ours[2].any()


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_float32_matches_torch(mode, padding):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 2, 5, 4))
    grid = rng.uniform(-1.3, 1.3, (2, 3, 7, 2))
    upstream = rng.standard_normal((2, 2, 3, 7))
    ours, theirs = _both(
        x, grid, upstream, "float32", mode=mode, padding_mode=padding, align_corners=False
    )
    assert ours[0].dtype == np.float32 and ours[2].dtype == np.float32
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_grid_sample_single_pixel_image_and_large_coordinates_match_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 1, 1))
    grid = np.array([[[[0.0, 0.0], [7.5, -9.0], [1.0, 1.0], [-1.0, 0.3]]]])
    upstream = rng.standard_normal((1, 2, 1, 4))
    for padding, align, mode in itertools.product(
        ("zeros", "border", "reflection"), (False, True), ("bilinear", "bicubic")
    ):
        kwargs = {"mode": mode, "padding_mode": padding, "align_corners": align}
        ours, theirs = _both(x, grid, upstream, "float64", **kwargs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, atol=1e-10, err_msg=str(kwargs))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("d", [2, 3])
def test_grid_sample_points_on_pixel_halves_and_edges_pick_torchs_pixel(dtype, d):
    """Grid values k/W, k/2W, k/(W−1), k/3W land on pixel centres, edges and halves, where one
    rounding decides the pixel: 'nearest' reads the same pixel as PyTorch (whose 2-D kernel
    fuses a multiply and a subtract) and the grid's gradient comes from the same cell."""
    rng = np.random.default_rng(d)
    for width in range(1, 8):
        k = np.arange(-3 * width, 3 * width + 1)
        values = np.concatenate(
            [k / width, k / (2 * width), k / max(width - 1, 1), k / (3 * width)]
        )
        grid = rng.choice(values, size=(1, 4, 5, d) if d == 2 else (1, 3, 4, 5, d))
        x = rng.standard_normal((1, 2, 3, width) if d == 2 else (1, 2, 2, 3, width))
        upstream = np.ones((1, 2, *grid.shape[1:-1]))
        tol = 1e-10 if dtype == "float64" else 1e-4
        for mode, padding, align in itertools.product(
            ("nearest", "bilinear"), ("zeros", "border", "reflection"), (False, True)
        ):
            kwargs = {"mode": mode, "padding_mode": padding, "align_corners": align}
            ours, theirs = _both(x, grid, upstream, dtype, **kwargs)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=f"{width} {kwargs}")


@pytest.mark.parametrize(("d", "mode", "padding", "align"), CASES)
def test_grid_sample_second_derivatives_match_torch(d, mode, padding, align):
    """create_graph=True: the gradients of Σ gx·u + Σ gg·v w.r.t. input and grid."""
    rng = np.random.default_rng(100 + CASES.index((d, mode, padding, align)))
    x = rng.standard_normal((2, 2, 3, 4) if d == 2 else (2, 2, 3, 4, 2))
    grid = rng.uniform(-1.4, 1.4, (2, 3, 2, d) if d == 2 else (2, 2, 2, 3, d))
    u, v = rng.standard_normal(x.shape), rng.standard_normal(grid.shape)
    kwargs = {"mode": mode, "padding_mode": padding, "align_corners": align}
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
    out = TF.grid_sample(xt, gt, **kwargs)
    gx, gg = torch.autograd.grad((out**2).sum(), (xt, gt), create_graph=True)
    first = (gx.detach().numpy(), gg.detach().numpy())
    total = (gx * torch.tensor(u)).sum() + (gg * torch.tensor(v)).sum()
    expected = torch.autograd.grad(total, (xt, gt), allow_unused=True)
    xc = cr.tensor(x, dtype="float64", requires_grad=True)
    gc = cr.tensor(grid, dtype="float64", requires_grad=True)
    out = F.grid_sample(xc, gc, **kwargs)
    gx, gg = cr.autograd.grad((out**2).sum(), (xc, gc), create_graph=True)
    for a, b in zip((gx, gg), first):  # the first derivatives, now tensors in the graph
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=0, atol=1e-12)
    total = (gx * cr.tensor(u, dtype="float64")).sum() + (gg * cr.tensor(v, dtype="float64")).sum()
    ours = cr.autograd.grad(total, (xc, gc), allow_unused=True)
    for a, b, like in zip(ours, expected, (x, grid)):
        a = np.zeros_like(like) if a is None else np.asarray(a.detach())
        b = np.zeros_like(like) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-11)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_grid_sample_gradcheck(mode):
    rng = np.random.default_rng(11)
    x = cr.tensor(rng.standard_normal((1, 2, 4, 3)), dtype="float64", requires_grad=True)
    # away from pixel boundaries, where the sample is smooth in the grid
    grid = cr.tensor(rng.uniform(-0.9, 0.9, (1, 3, 2, 2)), dtype="float64", requires_grad=True)
    assert cr.gradcheck(
        lambda a, g: F.grid_sample(a, g, mode=mode, padding_mode="border", align_corners=False),
        x,
        grid,
    )


def test_grid_sample_without_align_corners_warns_as_torch_and_uses_false():
    x, grid = np.ones((1, 1, 2, 2)), np.zeros((1, 1, 1, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        out = F.grid_sample(cr.tensor(x), cr.tensor(grid))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit value does not warn
        F.grid_sample(cr.tensor(x), cr.tensor(grid), align_corners=False)
    assert out.tolist() == [[[[1.0]]]]


def test_grid_sample_empty_batch_and_channels_give_empty_outputs_as_torch():
    out = F.grid_sample(cr.zeros(2, 0, 3, 3), cr.zeros(2, 4, 5, 2), align_corners=False)
    assert out.shape == (2, 0, 4, 5)
    assert F.grid_sample(cr.zeros(0, 3, 3, 3), cr.zeros(0, 4, 5, 2), align_corners=True).shape == (
        0,
        3,
        4,
        5,
    )


@pytest.mark.parametrize(
    ("x_shape", "grid_shape", "kwargs", "error", "match"),
    [
        ((2, 3, 4, 5), (2, 6, 7, 2), {"mode": "area"}, ValueError, "expected mode to be"),
        ((2, 3, 4, 5), (2, 6, 7, 2), {"padding_mode": "circular"}, ValueError, "padding_mode"),
        ((2, 3, 4, 5), (1, 6, 7, 2), {}, cr.ShapeError, "same batch size"),
        ((2, 3, 4, 5), (2, 6, 7, 1), {}, cr.ShapeError, "size 2 in its last dimension"),
        ((2, 3, 4, 5), (2, 6, 7, 8, 3), {}, cr.ShapeError, "4-D input"),
        ((3, 4, 5), (6, 7, 2), {}, cr.ShapeError, "4-D input"),
        ((2, 3, 0, 5), (2, 6, 7, 2), {}, cr.ShapeError, "non-empty spatial"),
        ((2, 3, 4, 5, 6), (2, 1, 1, 1, 3), {"mode": "bicubic"}, ValueError, "bicubic"),
    ],
)
def test_grid_sample_errors_as_torch(x_shape, grid_shape, kwargs, error, match):
    x, grid = np.zeros(x_shape), np.zeros(grid_shape)
    with pytest.raises(Exception):  # noqa: B017 - PyTorch refuses too (RuntimeError/ValueError)
        TF.grid_sample(torch.tensor(x), torch.tensor(grid), align_corners=False, **kwargs)
    with pytest.raises(error, match=match):
        F.grid_sample(cr.tensor(x), cr.tensor(grid), align_corners=False, **kwargs)


def test_grid_sample_dtype_errors():
    x, grid = cr.zeros(1, 1, 2, 2, dtype="float64"), cr.zeros(1, 1, 1, 2, dtype="float32")
    with pytest.raises(cr.DTypeError, match="same dtype"):
        F.grid_sample(x, grid, align_corners=False)
    with pytest.raises(cr.DTypeError, match="floating-point"):
        F.grid_sample(cr.tensor(np.zeros((1, 1, 2, 2), np.int64)), grid, align_corners=False)


# ---- affine_grid ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "size", [(2, 3, 4, 5), (2, 1, 1, 5), (2, 1, 7, 1), (3, 2, 4, 5, 6), (3, 2, 1, 5, 2)]
)
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_values_and_theta_gradient_match_torch(size, align):
    rng = np.random.default_rng(sum(size) + align)
    d = len(size) - 2
    theta = rng.standard_normal((size[0], d, d + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit-size grids with align_corners=True warn
        tt = torch.tensor(theta, requires_grad=True)
        expected = TF.affine_grid(tt, size, align_corners=align)
        tc = cr.tensor(theta, dtype="float64", requires_grad=True)
        out = F.affine_grid(tc, size, align_corners=align)
    upstream = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(upstream))
    out.backward(cr.tensor(upstream, dtype="float64"))
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(np.asarray(tc.grad), tt.grad.numpy(), atol=1e-12)


def test_affine_grid_float32_and_gradcheck():
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.4]]])
    out = F.affine_grid(cr.tensor(theta, dtype="float32"), (1, 1, 3, 4), align_corners=False)
    expected = TF.affine_grid(torch.tensor(theta, dtype=torch.float32), (1, 1, 3, 4), False)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-6)
    t64 = cr.tensor(theta, dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda t: F.affine_grid(t, (1, 2, 3, 4), align_corners=True), t64)


def test_affine_grid_then_grid_sample_is_identity_for_the_identity_map():
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 5)), dtype="float64")
    theta = cr.tensor(np.tile(np.eye(2, 3), (2, 1, 1)), dtype="float64")
    for align in (False, True):
        grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=align)
        out = F.grid_sample(x, grid, align_corners=align)
        np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-12)


def test_affine_grid_warnings_as_torch():
    theta = cr.tensor(np.tile(np.eye(2, 3), (1, 1, 1)))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(theta, (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(theta, (1, 1, 1, 2), align_corners=True)


@pytest.mark.parametrize(
    ("theta_shape", "size", "error", "match"),
    [
        ((2, 3, 4), (2, 3, 4, 5), cr.ShapeError, "Nx2x3"),
        ((2, 2, 3), (2, 3, 4, 5, 6), cr.ShapeError, "Nx3x4"),
        ((2, 3, 4), (2, 3, 4), NotImplementedError, "4-D and 5-D sizes"),
        ((2, 2, 3), (2, 3, 0, 5), ValueError, "positive output size"),
        ((2, 2, 3), (3, 3, 4, 5), cr.ShapeError, "batch of 3"),
    ],
)
def test_affine_grid_errors_as_torch(theta_shape, size, error, match):
    theta = np.zeros(theta_shape)
    with pytest.raises(Exception):  # noqa: B017 - PyTorch refuses too (RuntimeError/ValueError)
        TF.affine_grid(torch.tensor(theta), size, align_corners=False)
    with pytest.raises(error, match=match):
        F.affine_grid(cr.tensor(theta), size, align_corners=False)


def test_affine_grid_refuses_integer_theta():
    with pytest.raises(cr.DTypeError, match="floating-point"):
        F.affine_grid(cr.tensor(np.zeros((1, 2, 3), np.int64)), (1, 1, 2, 2), align_corners=False)
