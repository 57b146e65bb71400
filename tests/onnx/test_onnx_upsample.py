"""cr.onnx.export of nn.Upsample (and UpsamplingNearest2d / UpsamplingBilinear2d): one Resize
whose coordinate mode gives chainrule's pixels, and PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-5)


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def chainrule_out(model, x):
    with cr.no_grad():
        return np.asarray(model(x).numpy())


MODES = [
    ("nearest", None),
    ("nearest-exact", None),
    ("bilinear", False),
    ("bilinear", True),
    ("bicubic", False),
    ("bicubic", True),
]
RESIZES = [
    {"scale_factor": 2},
    {"scale_factor": 3},
    {"scale_factor": 1.5},
    {"scale_factor": 0.5},
    {"scale_factor": (2, 0.7)},
    {"size": (11, 4)},
    {"size": 1},
    {"scale_factor": 1.7, "recompute_scale_factor": True},
]


@pytest.mark.parametrize("opset", (13, 19))
@pytest.mark.parametrize("resize", RESIZES, ids=str)
@pytest.mark.parametrize("mode, align_corners", MODES)
def test_upsample_2d_matches_chainrule(mode, align_corners, resize, opset):
    model = nn.Upsample(mode=mode, align_corners=align_corners, **resize)
    x = rand(2, 3, 5, 7)
    proto = cr.onnx.export(model, None, x, opset=opset)
    assert [node.op_type for node in proto.graph.node][-2] == "Resize"
    (got,) = session(proto).run(None, {"input": x})
    np.testing.assert_allclose(got, chainrule_out(model, x), **TOL)


@pytest.mark.parametrize(
    "model, shape",
    [
        (nn.Upsample(scale_factor=2.5, mode="linear"), (2, 3, 6)),
        (nn.Upsample(size=9, mode="linear", align_corners=True), (2, 3, 6)),
        (nn.Upsample(scale_factor=2, mode="nearest"), (2, 3, 6)),
        (nn.Upsample(scale_factor=(2, 1.5, 0.5), mode="trilinear"), (1, 2, 3, 4, 6)),
        (nn.Upsample(scale_factor=2, mode="nearest-exact"), (1, 2, 3, 4, 6)),
        (nn.UpsamplingNearest2d(scale_factor=3), (2, 2, 4, 5)),
        (nn.UpsamplingBilinear2d(size=(7, 9)), (2, 2, 4, 5)),
    ],
    ids=lambda value: getattr(value, "mode", None) or str(value),
)
def test_other_ranks_and_the_fixed_mode_layers(model, shape):
    x = rand(*shape)
    (got,) = session(cr.onnx.export(model, None, x)).run(None, {"input": x})
    np.testing.assert_allclose(got, chainrule_out(model, x), **TOL)


def test_nearest_by_a_factor_whose_sizes_are_a_multiple_copies_as_chainrule():
    # 5 · 2.1 → 10 pixels: chainrule (and PyTorch) repeat each pixel twice, not ⌊i / 2.1⌋
    model = nn.Upsample(scale_factor=2.1)
    x = rand(1, 1, 5, 5)
    (got,) = session(cr.onnx.export(model, None, x)).run(None, {"input": x})
    np.testing.assert_array_equal(got, chainrule_out(model, x))


@pytest.mark.parametrize(
    "mode, align_corners, recompute",
    [("nearest", None, None), ("bilinear", False, None), ("bilinear", False, True)],
)
def test_free_spatial_axes_with_a_scale_factor(mode, align_corners, recompute):
    upsample = nn.Upsample(
        scale_factor=2.5, mode=mode, align_corners=align_corners, recompute_scale_factor=recompute
    )
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), upsample).eval()
    axes = {"input": {2: "height", 3: "width"}}
    proto = cr.onnx.export(model, None, rand(1, 2, 4, 5), dynamic_axes=axes)
    shape = proto.graph.output[0].type.tensor_type.shape.dim
    dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else None) for d in shape]
    assert dims == ["batch", 3, None, None]  # 2.5 × the free input sizes: no name of their own
    run = session(proto)
    for shape in ((3, 2, 6, 3), (1, 2, 1, 8), (2, 2, 7, 5)):
        x = rand(*shape, seed=shape[2])
        np.testing.assert_allclose(run.run(None, {"input": x})[0], chainrule_out(model, x), **TOL)


@pytest.mark.parametrize("mode, align_corners", MODES)
def test_matches_pytorch_interpolate(mode, align_corners):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 5, 7)
    model = nn.Upsample(scale_factor=1.5, mode=mode, align_corners=align_corners)
    (got,) = session(cr.onnx.export(model, None, x)).run(None, {"input": x})
    want = torch.nn.Upsample(scale_factor=1.5, mode=mode, align_corners=align_corners)(
        torch.tensor(x)
    )
    np.testing.assert_allclose(got, want.numpy(), **TOL)


def test_area_mode_is_refused_naming_it():
    with pytest.raises(cr.onnx.ExportError, match="mode='area'.*no area mode"):
        cr.onnx.export(nn.Upsample(scale_factor=0.5, mode="area"), None, rand(1, 1, 4, 4))


def test_float64_is_refused_with_what_to_do():
    x = rand(1, 1, 4, 4).astype(np.float64)
    with pytest.raises(cr.onnx.ExportError, match="float64.*float32"):
        cr.onnx.export(nn.Upsample(scale_factor=2), None, x)
