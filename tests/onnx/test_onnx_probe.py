"""cr.onnx.export on models users build that the per-layer tests missed, against ONNX Runtime."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

OPSETS = (13, 17, 21)


def assert_matches_onnxruntime(model, x, opset, example_rows=3):
    """Export on ``x[:example_rows]``, then compare ONNX Runtime with chainrule at other batches."""
    proto = cr.onnx.export(model, None, x[:example_rows], opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    model.eval()
    for rows in (x, x[:1]):
        (got,) = session.run(None, {"input": rows})
        with cr.no_grad():
            expected = np.asarray(model(rows).data)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize(
    "activation",
    [lambda: nn.Hardtanh(), lambda: nn.Hardtanh(-0.5, 2.0), lambda: nn.ReLU6()],
    ids=["Hardtanh", "Hardtanh-range", "ReLU6"],
)
def test_clamping_activations_export(activation, opset):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), activation(), nn.Linear(8, 3))
    x = (np.random.default_rng(0).normal(size=(16, 5)) * 4).astype(np.float32)
    assert_matches_onnxruntime(model, x, opset)


@pytest.mark.parametrize("materialized", [True, False], ids=["after-a-batch", "fresh"])
def test_lazy_linear_exports_as_linear(materialized):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(3)
    )
    x = np.random.default_rng(0).normal(size=(6, 1, 10, 10)).astype(np.float32)
    if materialized:
        model(x)
    assert_matches_onnxruntime(model, x, opset=17)
    assert model[4].weight.shape == (3, 4 * 4 * 4)


# ceil_mode where PyTorch (and chainrule) drop the last window because it would start in the
# right-hand padding: onnx's shape inference keeps it, so the graph must say so
CEIL_EDGE_POOLS = [
    ("MaxPool2d", lambda: nn.MaxPool2d(2, 2, 1, ceil_mode=True), (4, 3, 5, 5)),
    ("MaxPool2d-rect", lambda: nn.MaxPool2d((2, 3), 2, (1, 1), ceil_mode=True), (4, 3, 5, 6)),
    ("MaxPool1d", lambda: nn.MaxPool1d(2, 2, 1, ceil_mode=True), (4, 3, 7)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2, 2, 1, ceil_mode=True), (4, 3, 5, 5)),
    (
        "AvgPool2d-exclude",
        lambda: nn.AvgPool2d(2, 2, 1, ceil_mode=True, count_include_pad=False),
        (4, 3, 5, 5),
    ),
    ("AvgPool1d", lambda: nn.AvgPool1d(4, 3, 2, ceil_mode=True), (4, 3, 7)),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", CEIL_EDGE_POOLS, ids=[c[0] for c in CEIL_EDGE_POOLS])
def test_ceil_mode_pool_dropping_the_last_window(case, opset):
    _, factory, shape = case
    model = factory()
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    assert_matches_onnxruntime(model, x, opset)


def test_empty_example_batch_is_refused_with_the_fix():
    # with no rows the batch dimension cannot be told from the others (the output was fixed at 0)
    with pytest.raises(cr.onnx.ExportError, match=r"no rows.*X\[:1\]"):
        cr.onnx.export(nn.Linear(5, 3), None, np.zeros((0, 5), np.float32))


def test_one_sample_without_a_batch_axis_is_refused_with_the_fix(tmp_path):
    # Linear takes a (4,) vector, so the first trace passed and the batch probe failed with
    # a ShapeError about a (5,) input the user never gave
    path = tmp_path / "m.onnx"
    with pytest.raises(cr.onnx.ExportError, match=r"shape \(4,\).*X\[:1\].*dynamic_batch=False"):
        cr.onnx.export(nn.Linear(4, 3), path, np.zeros(4, np.float32))
    assert not path.exists()
    fixed = cr.onnx.export(nn.Linear(4, 3), None, np.zeros(4, np.float32), dynamic_batch=False)
    assert [d.dim_value for d in fixed.graph.input[0].type.tensor_type.shape.dim] == [4]
