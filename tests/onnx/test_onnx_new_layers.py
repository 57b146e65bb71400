"""cr.onnx.export for PixelShuffle, PixelUnshuffle, ChannelShuffle, Unfold, Fold, RMSNorm,
AdaptiveMaxPool1d/2d/3d, LPPool1d/2d/3d and EmbeddingBag against ONNX Runtime (values and NaN
positions, at the exported batch size and another one); MaxUnpool refused with its reason; a
Sequential that runs as one LayerChain node exports per layer."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

OPSETS = (13, 17, 21)


def _session(proto):
    onnx.checker.check_model(proto, full_check=True)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _expected(model, *args, **kwargs):
    model.eval()
    with cr.no_grad(), np.errstate(all="ignore"):
        return np.asarray(model(*args, **kwargs).data)


def _close(got, expected):
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)  # NaN where chainrule's


def _check(model, x, opset, batch=True):
    """Export, run in ONNX Runtime at the example's batch size (and one more where the batch is
    free), compare to chainrule in evaluation mode; returns the graph's node types."""
    was_training = model.training
    proto = cr.onnx.export(model, None, x, opset=opset, dynamic_batch=batch)
    assert model.training == was_training  # traced in evaluation mode, the mode put back
    session = _session(proto)
    for rows in (x, x[:1]) if batch else (x,):
        (got,) = session.run(None, {"input": rows})
        _close(got, _expected(model, rows))
    return [node.op_type for node in proto.graph.node]


def _floats(shape, dtype=np.float32, seed=0):
    return (np.random.default_rng(seed).normal(size=shape) * 2).astype(dtype)


CASES = [
    ("PixelShuffle", lambda: nn.PixelShuffle(2), (2, 8, 3, 4)),
    ("PixelShuffle-5d", lambda: nn.PixelShuffle(3), (2, 2, 18, 3, 4)),
    ("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), (2, 3, 6, 4)),
    ("PixelUnshuffle-5d", lambda: nn.PixelUnshuffle(3), (2, 2, 3, 6, 9)),
    ("ChannelShuffle", lambda: nn.ChannelShuffle(3), (2, 6, 4, 5)),
    ("ChannelShuffle-3d", lambda: nn.ChannelShuffle(2), (2, 6, 5)),
    ("Unfold", lambda: nn.Unfold(2), (2, 3, 5, 6)),
    (
        "Unfold-options",
        lambda: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        (2, 3, 7, 8),
    ),
    ("Fold", lambda: nn.Fold((4, 5), 2), (2, 12, 12)),
    (
        "Fold-options",
        lambda: nn.Fold((7, 8), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        (2, 18, 24),
    ),
    ("RMSNorm", lambda: nn.RMSNorm(6), (4, 6)),
    ("RMSNorm-2d-eps", lambda: nn.RMSNorm((3, 6), eps=1e-3), (4, 3, 6)),
    ("RMSNorm-no-affine", lambda: nn.RMSNorm(6, elementwise_affine=False), (4, 6)),
    ("AdaptiveMaxPool1d-global", lambda: nn.AdaptiveMaxPool1d(1), (2, 3, 7)),
    ("AdaptiveMaxPool1d-uneven", lambda: nn.AdaptiveMaxPool1d(4), (2, 3, 10)),
    ("AdaptiveMaxPool1d-up", lambda: nn.AdaptiveMaxPool1d(7), (2, 3, 5)),
    ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((2, None)), (2, 3, 6, 5)),
    ("AdaptiveMaxPool2d-uneven", lambda: nn.AdaptiveMaxPool2d((3, 4)), (2, 3, 10, 5)),
    ("AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d(2), (2, 3, 4, 6, 2)),
    ("AdaptiveMaxPool3d-uneven", lambda: nn.AdaptiveMaxPool3d((3, 1, 4)), (2, 3, 10, 5, 7)),
    ("LPPool1d", lambda: nn.LPPool1d(2, 3, stride=2), (2, 3, 8)),
    ("LPPool2d", lambda: nn.LPPool2d(2, (2, 3), stride=(2, 2)), (2, 3, 7, 8)),
    ("LPPool3d", lambda: nn.LPPool3d(2, 2), (2, 3, 4, 4, 6)),
    ("LPPool3d-ceil", lambda: nn.LPPool3d(2, 2, ceil_mode=True), (2, 3, 5, 4, 6)),
    (
        "conv-pixel-shuffle",
        lambda: nn.Sequential(
            nn.Conv2d(3, 12, 3, padding=1),
            nn.PixelShuffle(2),
            nn.RMSNorm(8),
            nn.PixelUnshuffle(2),
            nn.ChannelShuffle(4),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        ),
        (2, 3, 4, 4),
    ),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_onnxruntime(case, opset):
    _, factory, shape = case
    model = factory()
    _check(model, _floats(shape, seed=opset), opset)


@pytest.mark.parametrize("case", CASES[:-1], ids=[c[0] for c in CASES[:-1]])
def test_float64_matches_onnxruntime(case):
    _, factory, shape = case
    model = factory().to(cr.float64)
    _check(model, _floats(shape, np.float64), 18)


@pytest.mark.parametrize(
    ("factory", "shape", "dtype"),
    [
        (lambda: nn.PixelShuffle(2), (8, 3, 4), np.float32),
        (lambda: nn.PixelUnshuffle(3), (3, 6, 9), np.float32),
        (lambda: nn.Unfold(3, stride=2), (3, 7, 8), np.float64),
        (lambda: nn.Fold((5, 7), 3, stride=2, padding=1), (9, 12), np.float64),
        (lambda: nn.Fold((4, 5), 2), (12, 12), np.float32),
        (lambda: nn.AdaptiveMaxPool2d((4, 3)), (3, 10, 5), np.float32),
        (lambda: nn.AdaptiveMaxPool3d(1), (3, 4, 6, 2), np.float32),
        (lambda: nn.LPPool1d(2, 2, stride=3, ceil_mode=True), (3, 10), np.float32),
        (lambda: nn.LPPool3d(3, 2, ceil_mode=True), (3, 5, 4, 6), np.float64),
    ],
)
@pytest.mark.parametrize("opset", (13, 18))
def test_unbatched_input(factory, shape, dtype, opset):
    _check(factory(), _floats(shape, dtype), opset, batch=False)


def test_pixel_shuffle_is_depth_to_space_crd():
    proto = cr.onnx.export(nn.PixelShuffle(3), None, _floats((1, 18, 2, 2)))
    (node,) = [n for n in proto.graph.node if n.op_type == "DepthToSpace"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs == {"blocksize": 3, "mode": b"CRD"}


def test_pixel_unshuffle_orders_channels_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(2 * 2 * 4 * 6, dtype=np.float32).reshape(2, 2, 4, 6)
    (got,) = _session(cr.onnx.export(nn.PixelUnshuffle(2), None, x)).run(None, {"input": x})
    want = torch.nn.functional.pixel_unshuffle(torch.from_numpy(x), 2).numpy()
    np.testing.assert_array_equal(got, want)  # not SpaceToDepth's block-first order


def test_fold_is_col2im_from_opset_18_in_float32():
    x = _floats((2, 12, 12))
    assert "Col2Im" in _check(nn.Fold((4, 5), 2), x, 18)
    assert "Col2Im" not in _check(nn.Fold((4, 5), 2), x, 17)  # ONNX has no Col2Im before 18
    # ONNX Runtime's Col2Im has no float64 kernel: the same sums from standard nodes
    assert "Col2Im" not in _check(nn.Fold((4, 5), 2).to(cr.float64), x.astype(np.float64), 21)


def test_unfold_and_fold_round_trip():
    model = nn.Sequential(nn.Unfold(2, stride=1), nn.Fold((5, 6), 2, stride=1))
    _check(model, _floats((2, 3, 5, 6)), 13)


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_rms_norm_is_rms_normalization_from_opset_23(dtype):
    if onnx.defs.onnx_opset_version() < 23:
        pytest.skip("the installed onnx has no opset 23")
    model = nn.RMSNorm((3, 6), eps=None).to(dtype)
    model.weight.data[...] = _floats((3, 6), dtype, seed=4)
    x = _floats((4, 3, 6), dtype)
    assert "RMSNormalization" in _check(model, x, 23)
    assert "RMSNormalization" not in _check(model, x, 21)


def test_rms_norm_eps_none_is_the_dtypes_machine_epsilon():
    # inputs so small that mean(x²) ≈ eps: float32's epsilon differs visibly from float64's
    x = np.full((2, 4), 1e-4, np.float32)
    for opset in (13, 21):
        _check(nn.RMSNorm(4), x, opset)
        _check(nn.RMSNorm(4).to(cr.float64), x.astype(np.float64), opset)


@pytest.mark.filterwarnings("ignore:invalid value encountered in power")
@pytest.mark.parametrize("norm_type", (2, 4, 1, 3, 1.5, -2, math.inf, -math.inf))
@pytest.mark.parametrize("ceil_mode", (False, True))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_lp_pool_every_norm_type(norm_type, ceil_mode, dtype):
    # ceil_mode keeps a partial last window, which PyTorch averages over its cells inside the
    # input before scaling by the kernel's cell count; odd and fractional p give NaN for a
    # negative window sum or a negative x, as chainrule's
    for factory, shape in (
        (lambda: nn.LPPool1d(norm_type, 3, stride=2, ceil_mode=ceil_mode), (2, 3, 8)),
        (lambda: nn.LPPool2d(norm_type, (2, 3), stride=2, ceil_mode=ceil_mode), (2, 3, 7, 8)),
        (lambda: nn.LPPool1d(norm_type, 2, stride=3, ceil_mode=ceil_mode), (2, 3, 9)),
    ):
        for opset in (13, 18):
            _check(factory(), _floats(shape, dtype), opset)


def test_lp_pool_even_p_is_lp_pool_node():
    assert "LpPool" in _check(nn.LPPool2d(2, 2), _floats((2, 3, 4, 6)), 13)
    # p = 1 sums x itself in PyTorch; ONNX's LpPool would sum |x|
    assert "LpPool" not in _check(nn.LPPool2d(1, 2), _floats((2, 3, 4, 6)), 13)


def test_adaptive_max_pool_node_choice():
    assert "GlobalMaxPool" in _check(nn.AdaptiveMaxPool2d(1), _floats((2, 3, 5, 7)), 13)
    assert "MaxPool" in _check(nn.AdaptiveMaxPool2d((2, 7)), _floats((2, 3, 6, 7)), 13)
    assert "ReduceMax" in _check(nn.AdaptiveMaxPool2d(3), _floats((2, 3, 5, 7)), 18)


def test_adaptive_max_pool_with_indices_is_refused():
    with pytest.raises(cr.onnx.ExportError, match="must return one tensor"):
        cr.onnx.export(nn.AdaptiveMaxPool1d(2, return_indices=True), None, _floats((1, 2, 4)))


@pytest.mark.parametrize("layer", ("MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"))
def test_max_unpool_is_refused_with_its_reason(layer):
    model = getattr(nn, layer)(2)
    x = _floats((1, 2) + (4,) * int(layer[-2]))
    with pytest.raises(cr.onnx.ExportError, match=rf"{layer}: it takes the indices"):
        cr.onnx.export(model, None, (x, np.zeros(x.shape, np.int64)))
    with pytest.raises(cr.onnx.ExportError, match=r"layer '1' \(MaxUnpool"):
        cr.onnx.export(nn.Sequential(nn.Identity(), model), None, x)
    assert layer not in cr.onnx.supported()


def _bag_ids(shape, rows=6, seed=0):
    return np.random.default_rng(seed).integers(0, rows, size=shape)


@pytest.mark.parametrize("mode", ("sum", "mean", "max"))
@pytest.mark.parametrize("padding_idx", (None, 0, -2))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_embedding_bag_matches_onnxruntime(mode, padding_idx, dtype):
    model = nn.EmbeddingBag(6, 4, mode=mode, padding_idx=padding_idx, dtype=dtype)
    ids = _bag_ids((5, 4))
    ids[0] = 0  # a bag of only padding when padding_idx is 0: zeros
    for opset in OPSETS:
        proto = cr.onnx.export(model, None, ids, opset=opset)
        session = _session(proto)
        for rows in (ids, ids[:1]):
            (got,) = session.run(None, {"input": rows})
            _close(got, _expected(model, rows))


def test_embedding_bag_max_norm_and_in_a_sequential():
    ids = _bag_ids((5, 3))
    _check(nn.EmbeddingBag(6, 4, max_norm=1.0), ids, 13)
    _check(nn.Sequential(nn.EmbeddingBag(6, 4, mode="max"), nn.Linear(4, 2), nn.ReLU()), ids, 17)


@pytest.mark.parametrize("padding_idx", (None, 1))
def test_embedding_bag_per_sample_weights_is_a_second_input(padding_idx):
    model = nn.EmbeddingBag(6, 4, mode="sum", padding_idx=padding_idx)
    ids = _bag_ids((3, 4))
    weights = _floats((3, 4), seed=1)
    proto = cr.onnx.export(model, None, (ids, {"per_sample_weights": weights}))
    assert [i.name for i in proto.graph.input] == ["input", "per_sample_weights"]
    feeds = {"input": ids, "per_sample_weights": weights}
    (got,) = _session(proto).run(None, feeds)
    _close(got, _expected(model, ids, per_sample_weights=weights))


def test_embedding_bag_with_offsets_is_refused():
    model = nn.EmbeddingBag(6, 4)
    with pytest.raises(cr.onnx.ExportError, match="1-D input with offsets.*2-D input"):
        cr.onnx.export(model, None, (np.array([0, 1, 2]), np.array([0, 1])))


def test_nan_positions_follow_chainrule_where_onnx_computes_them():
    x = _floats((2, 3, 6, 8))
    x[0, 1, 2, 3] = np.nan
    for model in (nn.PixelShuffle(2), nn.Unfold(3), nn.RMSNorm(8), nn.LPPool2d(3, 2)):
        if isinstance(model, nn.PixelShuffle):
            model = nn.Sequential(nn.PixelUnshuffle(2), model)
        _check(model, x, 13)


def test_they_are_listed_as_supported():
    names = {"PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Unfold", "Fold", "RMSNorm"}
    names |= {f"{kind}{n}d" for kind in ("AdaptiveMaxPool", "LPPool") for n in (1, 2, 3)}
    assert names | {"EmbeddingBag"} <= set(cr.onnx.supported())


def test_sequential_fast_path_exports_per_layer():
    """nn.Sequential of Linear/ReLU/Sigmoid runs as one LayerChain node; the exporter walks
    the layers, so the graph holds their own nodes and runs as the model does."""
    from chainrule.nn import sequential_fast

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2), nn.Sigmoid())
    x = _floats((4, 3))
    # the fast path takes this model (so this test covers it), with gradients recorded too
    assert sequential_fast.run(model._modules.values(), cr.tensor(x)) is not None
    recorded = sequential_fast.run(model._modules.values(), cr.tensor(x, requires_grad=True))
    assert recorded is not None
    for opset in OPSETS:
        proto = cr.onnx.export(model, None, x, opset=opset)
        ops = [node.op_type for node in proto.graph.node]
        assert ops == ["MatMul", "Add", "Relu", "MatMul", "Add", "Sigmoid", "Identity"]
        (got,) = _session(proto).run(None, {"input": x})
        _close(got, _expected(model, x))
    model.train()
    with cr.enable_grad():
        out = model(cr.tensor(x, requires_grad=True))
    np.testing.assert_allclose(got, out.detach().numpy(), rtol=1e-5, atol=1e-6)


FREE_SIZES = [
    ("PixelShuffle", lambda: nn.PixelShuffle(2), (2, 8, 3, 4), {2: "h", 3: "w"}),
    ("PixelShuffle-unbatched", lambda: nn.PixelShuffle(2), (8, 3, 4), {1: "h", 2: "w"}),
    ("ChannelShuffle", lambda: nn.ChannelShuffle(3), (2, 6, 4, 5), {2: "h", 3: "w"}),
    (
        "Unfold",
        lambda: nn.Unfold((2, 3), dilation=(2, 1), padding=1, stride=2),
        (2, 3, 7, 8),
        {2: "h", 3: "w"},
    ),
    ("Unfold-unbatched", lambda: nn.Unfold(2), (3, 5, 6), {1: "h", 2: "w"}),
    ("AdaptiveMaxPool2d-global", lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 5, 6), {2: "h", 3: "w"}),
    (
        "AdaptiveMaxPool2d-kept-width",
        lambda: nn.AdaptiveMaxPool2d((2, None)),
        (2, 3, 4, 6),
        {3: "w"},
    ),
    ("LPPool2d", lambda: nn.LPPool2d(2, 2), (2, 3, 4, 6), {2: "h", 3: "w"}),
    ("LPPool1d-p3", lambda: nn.LPPool1d(3, 2), (2, 3, 6), {2: "length"}),
    ("RMSNorm", lambda: nn.RMSNorm(4), (2, 5, 4), {1: "sequence"}),
]


@pytest.mark.parametrize("case", FREE_SIZES, ids=[c[0] for c in FREE_SIZES])
def test_free_axes_run_at_other_sizes(case):
    name, factory, shape, axes = case
    model = factory()
    batch = not name.endswith("unbatched")  # one image: axis 0 is its channels
    x = _floats(shape)
    proto = cr.onnx.export(model, None, x, dynamic_axes={"input": axes}, dynamic_batch=batch)
    session = _session(proto)
    for grow in (0, 2, 4):
        bigger = tuple(n + grow * (i in axes) for i, n in enumerate(shape))
        x = _floats(bigger, seed=grow)
        (got,) = session.run(None, {"input": x})
        _close(got, _expected(model, x))


def test_embedding_bag_bag_length_is_free():
    model = nn.EmbeddingBag(6, 4, mode="mean", padding_idx=0)
    proto = cr.onnx.export(model, None, _bag_ids((3, 4)), dynamic_axes={"input": {1: "length"}})
    session = _session(proto)
    for length in (1, 4, 7):
        ids = _bag_ids((2, length), seed=length)
        (got,) = session.run(None, {"input": ids})
        _close(got, _expected(model, ids))


@pytest.mark.parametrize(
    ("model", "shape", "axes", "layer"),
    [
        (nn.AdaptiveMaxPool2d(2), (1, 3, 4, 4), {2: "h"}, "AdaptiveMaxPool2d"),
        (nn.AdaptiveMaxPool1d(3), (1, 3, 7), {2: "length"}, "AdaptiveMaxPool1d"),
        (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveMaxPool2d((2, 3)), nn.Flatten()),
            (1, 3, 6, 8),
            {2: "h", 3: "w"},
            "1",
        ),
    ],
)
def test_a_window_fixed_to_the_example_refuses_a_free_axis(model, shape, axes, layer):
    # before, the graph kept the example's windows: a silently different output at other sizes
    with pytest.raises(
        cr.onnx.ExportError, match=rf"cannot be dynamic.*graph of '{layer}' depends"
    ):
        cr.onnx.export(model, None, _floats(shape), dynamic_axes={"input": axes})
