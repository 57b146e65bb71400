"""Convolution and pooling ops against torch.nn.functional (forward and every gradient, float64
and float32) over a grid of options, plus float64 finite-difference checks on small shapes."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import conv as C

try:
    import torch

    F = torch.nn.functional
except ImportError:  # the checks against PyTorch skip; gradchecks and errors still run
    torch = None

    class F:  # noqa: N801 - stands in for torch.nn.functional in the case table
        def __getattr__(self, name):
            return None

    F = F()
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch (the test oracle)")

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-4)}

# name: (ours, theirs, input shapes)
CASES = {
    "conv2d": (C.conv2d, F.conv2d, [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], {}),
    # rows of 50·52 = 2,600 positions: the input gradient's row-by-row col2im (over 2,048)
    "conv2d_long_rows": (C.conv2d, F.conv2d, [(1, 2, 50, 50), (3, 2, 3, 3), (3,)], dict(padding=1)),
    "conv2d_stride2_pad1": (
        C.conv2d,
        F.conv2d,
        [(2, 3, 7, 6), (4, 3, 3, 3), (4,)],
        dict(stride=2, padding=1),
    ),
    "conv2d_rect": (
        C.conv2d,
        F.conv2d,
        [(2, 2, 8, 7), (3, 2, 2, 3)],
        dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
    ),
    "conv2d_same_dilated_groups": (
        C.conv2d,
        F.conv2d,
        [(2, 4, 7, 6), (6, 2, 2, 3)],
        dict(padding="same", dilation=2, groups=2),
    ),
    "conv2d_valid_depthwise": (
        C.conv2d,
        F.conv2d,
        [(2, 3, 6, 6), (6, 1, 3, 3), (6,)],
        dict(padding="valid", groups=3),
    ),
    "conv2d_same_even_kernel": (
        C.conv2d,
        F.conv2d,
        [(1, 2, 5, 6), (2, 2, 4, 2)],
        dict(padding="same"),
    ),
    "conv2d_dilated_same_flat": (
        C.conv2d,
        F.conv2d,
        [(2, 2, 7, 8), (3, 2, 3, 2), (3,)],
        dict(padding="same", dilation=(2, 3)),
    ),
    "conv2d_unbatched": (C.conv2d, F.conv2d, [(3, 5, 5), (2, 3, 3, 3)], dict(padding=1)),
    "conv1d": (C.conv1d, F.conv1d, [(2, 3, 9), (4, 3, 3), (4,)], dict(stride=2, padding=2)),
    "conv1d_same_groups": (
        C.conv1d,
        F.conv1d,
        [(2, 4, 9), (4, 2, 4)],
        dict(padding="same", dilation=2, groups=2),
    ),
    "conv_transpose2d": (
        C.conv_transpose2d,
        F.conv_transpose2d,
        [(2, 3, 4, 5), (3, 4, 3, 3), (4,)],
        dict(stride=2, padding=1, output_padding=1),
    ),
    "conv_transpose2d_groups_dilation": (
        C.conv_transpose2d,
        F.conv_transpose2d,
        [(2, 6, 4, 5), (6, 2, 3, 2)],
        dict(stride=(2, 1), groups=3, dilation=2),
    ),
    "conv_transpose1d": (
        C.conv_transpose1d,
        F.conv_transpose1d,
        [(2, 3, 5), (3, 2, 3), (2,)],
        dict(stride=3, padding=1, output_padding=2),
    ),
    "max_pool2d": (C.max_pool2d, F.max_pool2d, [(2, 3, 8, 8)], dict(kernel_size=2)),
    "max_pool2d_ceil_pad": (
        C.max_pool2d,
        F.max_pool2d,
        [(2, 3, 8, 7)],
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ),
    "max_pool2d_dilated_rect": (
        C.max_pool2d,
        F.max_pool2d,
        [(2, 2, 9, 8)],
        dict(kernel_size=(2, 3), stride=(1, 2), dilation=2),
    ),
    "max_pool1d": (
        C.max_pool1d,
        F.max_pool1d,
        [(2, 3, 10)],
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ),
    "avg_pool2d": (C.avg_pool2d, F.avg_pool2d, [(2, 3, 8, 8)], dict(kernel_size=2)),
    "avg_pool2d_ceil_pad": (
        C.avg_pool2d,
        F.avg_pool2d,
        [(2, 3, 8, 7)],
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ),
    "avg_pool2d_no_pad_count": (
        C.avg_pool2d,
        F.avg_pool2d,
        [(2, 3, 8, 7)],
        dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    ),
    "avg_pool2d_divisor": (
        C.avg_pool2d,
        F.avg_pool2d,
        [(1, 2, 6, 6)],
        dict(kernel_size=3, padding=1, divisor_override=5),
    ),
    "avg_pool1d": (
        C.avg_pool1d,
        F.avg_pool1d,
        [(2, 3, 9)],
        dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
    ),
    "adaptive_avg_pool2d": (
        C.adaptive_avg_pool2d,
        F.adaptive_avg_pool2d,
        [(2, 3, 8, 7)],
        dict(output_size=(3, 4)),
    ),
    "adaptive_avg_pool2d_global": (
        C.adaptive_avg_pool2d,
        F.adaptive_avg_pool2d,
        [(2, 3, 5, 5)],
        dict(output_size=1),
    ),
    "adaptive_avg_pool2d_upsample": (
        C.adaptive_avg_pool2d,
        F.adaptive_avg_pool2d,
        [(1, 2, 3, 4)],
        dict(output_size=(5, None)),
    ),
    "adaptive_avg_pool1d": (
        C.adaptive_avg_pool1d,
        F.adaptive_avg_pool1d,
        [(2, 3, 10)],
        dict(output_size=4),
    ),
}


def _inputs(name, shapes):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [rng.standard_normal(s) for s in shapes]


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype):
    ours, theirs, shapes, options = CASES[name]
    arrays = [a.astype(dtype) for a in _inputs(name, shapes)]
    mine = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine, **options), theirs(*ref, **options)
    assert tuple(out.shape) == tuple(expected.shape)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
    upstream = np.random.default_rng(1).standard_normal(expected.shape).astype(dtype)
    (out * cr.tensor(upstream, dtype=dtype)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for i, (a, b) in enumerate(zip(mine, ref)):
        assert np.asarray(a.grad).dtype == np.dtype(dtype)
        np.testing.assert_allclose(
            np.asarray(a.grad), b.grad.numpy(), err_msg=f"gradient of input {i}", **TOL[dtype]
        )


GRADCHECK = [
    "conv2d_dilated_same_flat",
    "conv2d_stride2_pad1",
    "conv2d_same_dilated_groups",
    "conv1d",
    "conv_transpose2d",
    "conv_transpose2d_groups_dilation",
    "max_pool2d_ceil_pad",
    "avg_pool2d_no_pad_count",
    "adaptive_avg_pool2d",
]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    ours, _, shapes, options = CASES[name]
    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in _inputs(name, shapes)]
    assert cr.gradcheck(lambda *t: ours(*t, **options), *inputs)


@needs_torch
def test_max_pool_indices_match_torch():
    x = np.random.default_rng(2).standard_normal((2, 3, 8, 7))
    _, ours = C.max_pool2d(cr.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    _, theirs = F.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(ours, theirs.numpy())


@needs_torch
def test_max_pool_ties_route_to_first_maximum():
    x = cr.tensor(np.ones((1, 1, 2, 2)), dtype="float64", requires_grad=True)
    C.max_pool2d(x, 2).sum().backward()
    ref = torch.ones((1, 1, 2, 2), dtype=torch.float64, requires_grad=True)
    F.max_pool2d(ref, 2).sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad), ref.grad.numpy())


def test_max_pool_propagates_nan():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    out = C.max_pool2d(cr.tensor(x), 2).numpy()
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 0, 1, 1])


def test_float32_stays_float32_through_a_small_cnn():
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 1, 8, 8)), requires_grad=True)
    w = cr.tensor(np.ones((3, 1, 3, 3)), requires_grad=True)
    out = C.max_pool2d(C.conv2d(x, w, padding=1).relu(), 2)
    out.sum().backward()
    assert out.dtype == np.float32 and np.asarray(w.grad).dtype == np.float32


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: C.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 3, 3, 3))), cr.ShapeError, "channels"),
        (lambda: C.conv2d(np.ones((2, 5, 5)), np.ones((3, 2, 3))), cr.ShapeError, "4-D weight"),
        (lambda: C.conv2d(np.ones((1, 2, 2, 2)), np.ones((3, 2, 3, 3))), cr.ShapeError, "smaller"),
        (
            lambda: C.conv2d(
                np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), stride=2, padding="same"
            ),
            ValueError,
            "stride 1",
        ),
        (
            lambda: C.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 1, 3, 3)), groups=2),
            cr.ShapeError,
            "groups",
        ),
        (
            lambda: C.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), padding="full"),
            ValueError,
            "same",
        ),
        (
            lambda: C.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), stride=0),
            ValueError,
            "stride",
        ),
        (
            lambda: C.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(2)),
            cr.ShapeError,
            "bias",
        ),
        (
            lambda: C.conv2d(np.ones((1, 2, 5, 5), np.int64), np.ones((3, 2, 3, 3))),
            cr.DTypeError,
            "floating",
        ),
        (
            lambda: C.conv2d(
                cr.ones(1, 2, 5, 5), cr.tensor(np.ones((3, 2, 3, 3)), dtype="float64")
            ),
            cr.DTypeError,
            "convert",
        ),
        (lambda: C.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), ValueError, "half"),
        (lambda: C.max_pool2d(np.ones((4, 4)), 2), cr.ShapeError, "N, C, H, W"),
        (lambda: C.avg_pool2d(np.ones((1, 1, 2, 2)), 3), cr.ShapeError, "smaller"),
        (
            lambda: C.conv_transpose2d(
                np.ones((1, 2, 3, 3)), np.ones((2, 1, 3, 3)), output_padding=1
            ),
            ValueError,
            "output_padding",
        ),
    ],
)
def test_errors_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


@needs_torch
def test_max_pool_nan_routes_like_torch():
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    ours = cr.tensor(x, dtype="float64", requires_grad=True)
    out, idx = C.max_pool2d(ours, 2, return_indices=True)
    out.sum().backward()
    ref = torch.tensor(x, requires_grad=True)
    expected, expected_idx = F.max_pool2d(ref, 2, return_indices=True)
    expected.sum().backward()
    np.testing.assert_array_equal(idx, expected_idx.numpy())
    np.testing.assert_array_equal(np.asarray(ours.grad), ref.grad.numpy())


@needs_torch
@pytest.mark.parametrize(
    "options",
    [dict(padding=1), dict(stride=2, padding=1), dict(padding=(1, 0), groups=3)],
    ids=["rows", "windows", "groups"],
)
def test_reused_scratch_buffers_never_mix_two_layers(options):
    """Two same-shaped convolutions alive at once, a graph kept for a second backward, and an
    evaluation pass in between: every gradient still matches PyTorch."""
    rng = np.random.default_rng(5)
    cg = 3 // options.get("groups", 1)
    x = rng.standard_normal((4, 3, 9, 9))
    w1, w2 = rng.standard_normal((3, cg, 3, 3)), rng.standard_normal((3, cg, 3, 3))
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in (x, w1, w2)]
    ref = [torch.tensor(a, requires_grad=True) for a in (x, w1, w2)]
    out = C.conv2d(C.conv2d(ours[0], ours[1], **options).tanh(), ours[2], **options)
    expected = F.conv2d(F.conv2d(ref[0], ref[1], **options).tanh(), ref[2], **options)
    with cr.no_grad():
        C.conv2d(cr.tensor(rng.standard_normal((4, 3, 9, 9)), dtype="float64"), ours[1], **options)
    (out * out).sum().backward(retain_graph=True)
    (out * out).sum().backward()
    (2 * (expected * expected).sum()).backward()
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_a_cnn_compiles_and_replays_the_same_gradients():
    cr.manual_seed(0)
    nn = cr.nn
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.AvgPool2d(1, count_include_pad=False),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    loss_fn = nn.MSELoss()  # class-index targets cannot be compiled (see cr.compile)
    rng = np.random.default_rng(6)
    x, y = rng.random((8, 1, 12, 12)).astype(np.float32), rng.random((8, 3)).astype(np.float32)
    step = cr.compile(lambda a, b: loss_fn(model(a), b))
    for _ in range(3):  # record, then replay
        model.zero_grad()
        step(x, y)
    replayed = [np.asarray(p.grad).copy() for p in model.parameters()]
    model.zero_grad()
    loss_fn(model(x), y).backward()
    for a, p in zip(replayed, model.parameters()):
        np.testing.assert_array_equal(a, np.asarray(p.grad))


def test_clear_buffers_empties_the_pool():
    x = cr.tensor(np.ones((8, 3, 16, 16)), requires_grad=True)
    C.conv2d(x, cr.ones(4, 3, 3, 3), padding=1).sum().backward()
    assert C._free
    C.clear_buffers()
    assert not C._free


# Stride-1 layers take one of two column layouts (ops/conv_flat.py), chosen by the layer's
# shape; each layout must give PyTorch's values and gradients for every geometry.
STRIDE1 = {
    "padded": ([(2, 3, 7, 6), (4, 3, 3, 3), (4,)], dict(padding=1)),
    "valid_5x5": ([(3, 2, 9, 8), (4, 2, 5, 5), (4,)], {}),
    "same_dilated": ([(2, 2, 7, 8), (3, 2, 3, 2), (3,)], dict(padding="same", dilation=(2, 3))),
    "same_even_kernel": ([(1, 2, 5, 6), (2, 2, 4, 2)], dict(padding="same")),
    "asymmetric_pad_dilated_rows": (
        [(2, 2, 8, 7), (3, 2, 2, 3)],
        dict(padding=(0, 2), dilation=(3, 1)),
    ),
    "one_by_one": ([(2, 4, 5, 3), (3, 4, 1, 1), (3,)], {}),
    "unit_height": ([(2, 3, 1, 9), (2, 3, 1, 3), (2,)], dict(padding=(0, 1))),
    # over 2,048 positions a run: the plain strided adds instead of the gapped buffer
    "long_runs": ([(1, 2, 48, 50), (2, 2, 3, 3)], dict(padding=1)),
    "long_rows": ([(1, 2, 1, 2100), (2, 2, 1, 3), (2,)], dict(padding=(0, 1))),
}


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "rows"])
@pytest.mark.parametrize("name", sorted(STRIDE1))
def test_both_stride1_layouts_match_torch(name, exact, monkeypatch):
    from chainrule.ops import conv_flat

    monkeypatch.setattr(conv_flat, "exact_columns", lambda *args: exact)
    shapes, options = STRIDE1[name]
    for dtype in ("float64", "float32"):
        arrays = [a.astype(dtype) for a in _inputs(name, shapes)]
        mine = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
        ref = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, expected = C.conv2d(*mine, **options), F.conv2d(*ref, **options)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
        upstream = np.random.default_rng(1).standard_normal(expected.shape).astype(dtype)
        out.backward(cr.tensor(upstream, dtype=dtype))
        expected.backward(torch.tensor(upstream))
        for i, (a, b) in enumerate(zip(mine, ref)):
            np.testing.assert_allclose(
                np.asarray(a.grad), b.grad.numpy(), err_msg=f"input {i}", **TOL[dtype]
            )


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "rows"])
@pytest.mark.parametrize("name", ["same_dilated", "asymmetric_pad_dilated_rows", "unit_height"])
def test_both_stride1_layouts_gradcheck(name, exact, monkeypatch):
    from chainrule.ops import conv_flat

    monkeypatch.setattr(conv_flat, "exact_columns", lambda *args: exact)
    shapes, options = STRIDE1[name]
    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in _inputs(name, shapes)]
    assert cr.gradcheck(lambda *t: C.conv2d(*t, **options), *inputs)


def test_layout_rule_picks_exact_columns_for_lenet_and_rows_for_large_planes():
    from chainrule.ops.conv_flat import exact_columns

    assert exact_columns((64, 1, 28, 28), (6, 1, 5, 5), (2, 2, 2, 2), (1, 1))
    assert exact_columns((64, 6, 14, 14), (16, 6, 5, 5), (0, 0, 0, 0), (1, 1))
    assert not exact_columns((4, 16, 128, 128), (16, 16, 3, 3), (1, 1, 1, 1), (1, 1))
