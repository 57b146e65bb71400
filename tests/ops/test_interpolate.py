"""F.interpolate, nn.Upsample, nn.UpsamplingNearest2d and nn.UpsamplingBilinear2d against
PyTorch: every mode on 3-D, 4-D and 5-D input, size= and scale_factor=, align_corners,
recompute_scale_factor, values and gradients in float32 and float64, edges and errors."""

import math

import numpy as np
import pytest
from op_check import case, check_case, ids, same_as_torch

import chainrule as cr
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
F, TF = cr.nn.functional, torch.nn.functional
DIMS = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}


def _interp(mode, **kw):
    shapes = {3: [((2, 3, 5),)], 4: [((2, 2, 3, 4),)], 5: [((1, 2, 2, 3, 4),)]}
    ndims = [DIMS[mode]] if mode in DIMS else [3, 4, 5]
    return [
        c
        for n in ndims
        for c in case(
            f"interpolate_{mode}_{n}d_{kw}",
            lambda a: F.interpolate(a, mode=mode, **kw),
            lambda a: TF.interpolate(a, mode=mode, **kw),
            shapes[n],
        )
    ]


CASES = [
    *_interp("nearest", scale_factor=2),
    *_interp("nearest", scale_factor=0.6),
    *_interp("nearest-exact", scale_factor=1.7),
    *_interp("area", scale_factor=0.5),
    *_interp("area", scale_factor=1.5),
    *[
        c
        for mode in ("linear", "bilinear", "trilinear", "bicubic")
        for align in (False, True)
        for kw in (
            {"scale_factor": 2.5},
            {"scale_factor": 0.7},
            {"scale_factor": 1.3, "recompute_scale_factor": True},
        )
        for c in _interp(mode, align_corners=align, **kw)
    ],
    *case(
        "interpolate_bilinear_size",
        lambda a: F.interpolate(a, size=(5, 2), mode="bilinear"),
        lambda a: TF.interpolate(a, size=(5, 2), mode="bilinear"),
        [((1, 2, 3, 4),)],
    ),
    *case(
        "interpolate_bicubic_size_one",
        lambda a: F.interpolate(a, size=(1, 6), mode="bicubic", align_corners=True),
        lambda a: TF.interpolate(a, size=(1, 6), mode="bicubic", align_corners=True),
        [((1, 1, 3, 4),)],
    ),
    *case(
        "upsample_module",
        lambda a: cr.nn.Upsample(scale_factor=(2, 1.5), mode="bicubic")(a),
        lambda a: torch.nn.Upsample(scale_factor=(2, 1.5), mode="bicubic")(a),
        [((1, 2, 3, 4),)],
    ),
    *case(
        "upsampling_bilinear2d",
        lambda a: cr.nn.UpsamplingBilinear2d(scale_factor=2)(a),
        lambda a: torch.nn.UpsamplingBilinear2d(scale_factor=2)(a),
        [((1, 2, 3, 4),)],
    ),
    *case(
        "upsampling_nearest2d",
        lambda a: cr.nn.UpsamplingNearest2d(size=(4, 7))(a),
        lambda a: torch.nn.UpsamplingNearest2d(size=(4, 7))(a),
        [((1, 2, 3, 4),)],
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_interpolate_matches_torch(c, dtype):
    check_case(c, dtype)


def _sweep_arguments(rng, mode, ndim, trial):
    shape = (2, 2) + tuple(int(v) for v in rng.integers(1, 7, ndim - 2))
    kw = {}
    if trial % 3 == 0:
        kw["size"] = tuple(int(v) for v in rng.integers(1, 11, ndim - 2))
    elif trial % 3 == 1:
        kw["scale_factor"] = float(rng.choice([0.5, 1.5, 2.0, 2.3, 3.0, 1.0, 1.1]))
    else:
        kw["scale_factor"] = tuple(float(v) for v in rng.choice([0.6, 1.7, 2.0, 3.0], ndim - 2))
        kw["recompute_scale_factor"] = bool(trial % 2)
    if mode not in ("nearest", "nearest-exact", "area"):
        kw["align_corners"] = trial % 4 < 2
    return shape, kw


@pytest.mark.parametrize(
    "mode, ndim",
    [
        ("nearest", 3),
        ("nearest", 4),
        ("nearest", 5),
        ("nearest-exact", 3),
        ("nearest-exact", 4),
        ("nearest-exact", 5),
        ("linear", 3),
        ("bilinear", 4),
        ("trilinear", 5),
        ("bicubic", 4),
        ("area", 3),
        ("area", 4),
        ("area", 5),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolate_sweep_of_sizes_and_scales_matches_torch(mode, ndim, dtype):
    """Random shapes, sizes and scales (down, up, uneven, 1:1): same shapes, values and
    gradients, or the same refusal (an output size of 0)."""
    rng = np.random.default_rng(ndim * 7 + len(mode))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for trial in range(10):
        shape, kw = _sweep_arguments(rng, mode, ndim, trial)
        x = rng.standard_normal(shape).astype(dtype)
        ours_in, theirs_in = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x)
        theirs_in.requires_grad_(True)
        try:
            theirs = TF.interpolate(theirs_in, mode=mode, **kw)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                F.interpolate(ours_in, mode=mode, **kw)
            continue
        ours = F.interpolate(ours_in, mode=mode, **kw)
        assert ours.shape == tuple(theirs.shape), (shape, kw)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)
        upstream = rng.standard_normal(ours.shape).astype(dtype)
        ours.backward(cr.tensor(upstream, dtype=dtype))
        if ours.numel() == 0:  # PyTorch's adaptive pooling backward refuses an empty output
            np.testing.assert_array_equal(ours_in.grad, 0.0)
            continue
        theirs.backward(torch.tensor(upstream))
        expected = theirs_in.grad.numpy()
        if mode.startswith("nearest"):  # the gradient of what the forward picked
            expected = _adjoint_of_torch_nearest(x.shape, mode, kw, upstream)
            if not np.allclose(expected, theirs_in.grad.numpy(), **tol):
                assert _torch_backward_disagrees_with_its_forward(mode, shape, kw, ours.shape)
        np.testing.assert_allclose(ours_in.grad, expected, **tol)


def _adjoint_of_torch_nearest(shape, mode, kw, upstream):
    """PyTorch's nearest forward on the positions themselves says which input each output
    read; the gradient adds the upstream gradient back there."""
    positions = torch.arange(math.prod(shape), dtype=torch.float64).reshape(shape)
    picked = TF.interpolate(positions, mode=mode, **kw).numpy().astype(np.int64)
    grad = np.zeros(math.prod(shape))
    np.add.at(grad, picked.reshape(-1), upstream.reshape(-1))
    return grad.reshape(shape)


def _torch_backward_disagrees_with_its_forward(mode, shape, kw, out_shape):
    """PyTorch 2.13's nearest backward maps 1:1 and 1:2 sizes straight through, but its 3-D
    and 5-D forward reads by the scale_factor there: its gradient is not its forward's."""
    resized = [o in (n, 2 * n) for n, o in zip(shape[2:], out_shape[2:])]
    scaled = "scale_factor" in kw and not kw.get("recompute_scale_factor")
    return mode == "nearest" and len(shape) in (3, 5) and scaled and any(resized)


def test_nearest_gradient_is_its_forward_where_torch_backward_is_not():
    """3-D nearest with scale_factor=2.3 on 3 samples reads [0, 0, 0, 1, 1, 2] (PyTorch's
    forward too); PyTorch's backward sends the gradient as if it read [0, 0, 1, 1, 2, 2]."""
    x = cr.tensor([[[10.0, 20.0, 30.0]]], requires_grad=True)
    out = F.interpolate(x, scale_factor=2.3)
    same_as_torch(
        out.detach(), TF.interpolate(torch.tensor([[[10.0, 20.0, 30.0]]]), scale_factor=2.3)
    )
    out.backward(cr.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]]))
    np.testing.assert_array_equal(x.grad, [[[6.0, 9.0, 6.0]]])
    theirs = torch.tensor([[[10.0, 20.0, 30.0]]], requires_grad=True)
    TF.interpolate(theirs, scale_factor=2.3).backward(torch.arange(1.0, 7.0).reshape(1, 1, 6))
    np.testing.assert_array_equal(theirs.grad.numpy(), [[[3.0, 7.0, 11.0]]])  # PyTorch's


def test_nearest_picks_exactly_and_non_finite_values_spread_as_in_torch():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    x[0, 0, 1, 2], x[0, 1, 0, 0] = math.nan, math.inf
    for mode, kw in [
        ("nearest", {"scale_factor": 2.3}),
        ("nearest-exact", {"size": (5, 3)}),
        ("bilinear", {"size": (5, 7)}),
        ("bicubic", {"scale_factor": 1.5}),
        ("area", {"size": (2, 3)}),
        ("area", {"scale_factor": 0.5}),
    ]:
        ours, theirs = (
            F.interpolate(cr.tensor(x), mode=mode, **kw),
            TF.interpolate(torch.tensor(x), mode=mode, **kw),
        )
        np.testing.assert_array_equal(np.isnan(ours.numpy()), np.isnan(theirs.numpy()), mode)
        np.testing.assert_array_equal(np.isinf(ours.numpy()), np.isinf(theirs.numpy()), mode)
        if mode.startswith("nearest"):
            same_as_torch(ours, theirs)
    small = np.arange(12, dtype=np.uint8).reshape(1, 1, 3, 4)  # uint8: nearest picks only
    same_as_torch(
        F.interpolate(cr.tensor(small), scale_factor=2),
        TF.interpolate(torch.tensor(small), scale_factor=2),
    )


def test_empty_batches_channels_and_outputs_as_torch():
    same_as_torch(
        F.interpolate(cr.zeros(0, 1, 3, 4), scale_factor=2, mode="bilinear"),
        TF.interpolate(torch.zeros(0, 1, 3, 4), scale_factor=2, mode="bilinear"),
    )
    same_as_torch(
        F.interpolate(cr.zeros(1, 0, 3), scale_factor=2, mode="area"),
        TF.interpolate(torch.zeros(1, 0, 3), scale_factor=2, mode="area"),
    )
    same_as_torch(
        F.interpolate(cr.zeros(1, 2, 3, 4, 5).double(), size=0, mode="area"),
        TF.interpolate(torch.zeros(1, 2, 3, 4, 5).double(), size=0, mode="area"),
    )
    for call in (
        lambda lib: TFor(lib).interpolate(lib.zeros(1, 0, 3, 4), scale_factor=2),
        lambda lib: TFor(lib).interpolate(lib.zeros(1, 2, 0), scale_factor=2, mode="linear"),
        lambda lib: TFor(lib).interpolate(lib.zeros(1, 2, 0), scale_factor=2, mode="area"),
        lambda lib: TFor(lib).interpolate(lib.zeros(1, 2, 3, 4), size=0),
        lambda lib: TFor(lib).interpolate(lib.zeros(1, 2, 3, 4), scale_factor=0.1),
        lambda lib: TFor(lib).interpolate(lib.zeros(1, 2, 3, 4), scale_factor=-1),
    ):
        for lib in (torch, cr):
            with pytest.raises(RuntimeError):
                call(lib)


def TFor(lib):  # noqa: N802 - reads as F
    return TF if lib is torch else F


@pytest.mark.parametrize(
    "kwargs, shape, error",
    [
        (dict(size=(2, 3), scale_factor=2), (1, 1, 3, 4), ValueError),
        (dict(), (1, 1, 3, 4), ValueError),
        (dict(size=(2, 2, 2)), (1, 1, 3, 4), ValueError),
        (dict(scale_factor=(2, 2, 2)), (1, 1, 3, 4), ValueError),
        (dict(size=2.5), (1, 1, 3, 4), TypeError),
        (dict(size=(2, 2.5)), (1, 1, 3, 4), TypeError),
        (dict(size=3, recompute_scale_factor=True), (1, 1, 3, 4), ValueError),
        (dict(size=3, align_corners=False), (1, 1, 3, 4), ValueError),  # nearest
        (dict(size=3, mode="area", align_corners=True), (1, 1, 3, 4), ValueError),
        (dict(size=3, mode="nearest-exact", align_corners=False), (1, 1, 3, 4), ValueError),
        (dict(size=3, mode="linear"), (1, 1, 3, 4), NotImplementedError),
        (dict(size=3, mode="bilinear"), (1, 1, 3), NotImplementedError),
        (dict(size=3, mode="trilinear"), (1, 1, 3, 4), NotImplementedError),
        (dict(size=3, mode="bicubic"), (1, 1, 3, 4, 5), NotImplementedError),
        (dict(size=3, mode="bilinear"), (1, 1, 3, 4, 5), NotImplementedError),
        (dict(size=3), (3, 4), NotImplementedError),
        (dict(size=3), (1, 1, 1, 1, 2, 2), NotImplementedError),
        (dict(size=3, mode="cubic"), (1, 1, 3, 4), NotImplementedError),
        (dict(size=3, mode="bilinear", antialias=True), (1, 1, 3), ValueError),
    ],
)
def test_interpolate_errors_as_torch(kwargs, shape, error):
    for lib, fn in ((torch, TF), (cr, F)):
        with pytest.raises(error):
            fn.interpolate(lib.zeros(*shape), **kwargs)


def test_what_chainrule_lacks_raises_not_implemented():
    x = cr.zeros(1, 1, 3, 4)
    with pytest.raises(NotImplementedError, match="x.float"):
        F.interpolate(x.long(), size=2, mode="nearest")  # PyTorch refuses int64 too
    with pytest.raises(NotImplementedError):
        TF.interpolate(torch.zeros(1, 1, 3, 4).long(), size=2)
    with pytest.raises(NotImplementedError, match="x.float"):
        F.interpolate(cr.zeros(1, 1, 3, 4, dtype="uint8"), size=2, mode="bilinear")


def test_second_derivatives_pass_through_interpolate():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((1, 2, 3, 4)), dtype="float64", requires_grad=True)
    for mode, kw in [
        ("bicubic", {"scale_factor": 1.5}),
        ("bilinear", {"size": (4, 3)}),
        ("area", {"size": (2, 3)}),
        ("nearest", {"scale_factor": 2}),
    ]:
        assert gradgradcheck(
            lambda t, mode=mode, kw=kw: F.interpolate(t, mode=mode, **kw).tanh(), x
        )


def test_upsample_modules_keep_pytorch_attributes_and_reprs():
    pairs = [
        (cr.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (
            cr.nn.Upsample(size=(2, 3), mode="bilinear"),
            torch.nn.Upsample(size=(2, 3), mode="bilinear"),
        ),
        (cr.nn.Upsample(scale_factor=(2, 3)), torch.nn.Upsample(scale_factor=(2, 3))),
        (cr.nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
        (cr.nn.UpsamplingNearest2d(size=3), torch.nn.UpsamplingNearest2d(size=3)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        for name in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert list(ours.parameters()) == []
    with pytest.warns(UserWarning, match="deprecated"):
        same_as_torch(
            F.upsample_bilinear(cr.ones(1, 1, 2, 2), scale_factor=2), torch.ones(1, 1, 4, 4)
        )


def test_upsample_layers_save_and_load_with_a_model(tmp_path):
    model = cr.nn.Sequential(
        cr.nn.Conv2d(1, 2, 3, padding=1),
        cr.nn.Upsample(scale_factor=(2, 1.5), mode="bilinear", align_corners=True),
        cr.nn.UpsamplingNearest2d(size=(4, 5)),
        cr.nn.UpsamplingBilinear2d(scale_factor=2),
    )
    cr.save(model, tmp_path / "model.safetensors")
    loaded = cr.load(tmp_path / "model.safetensors")
    x = cr.randn(1, 1, 3, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), loaded(x).detach().numpy())
    assert [type(m).__name__ for m in loaded] == [type(m).__name__ for m in model]
    from chainrule.nn.registry import module_from_config

    bad = {"size": [0], "scale_factor": None, "mode": "nearest", "align_corners": None}
    with pytest.raises(cr.ModelFormatError, match="size"):
        module_from_config({"type": "Upsample", "args": {**bad, "recompute_scale_factor": None}})
