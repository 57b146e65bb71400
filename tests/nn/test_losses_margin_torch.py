"""Margin losses (F.margin_ranking_loss, hinge_embedding_loss, soft_margin_loss,
cosine_embedding_loss, triplet_margin_loss, triplet_margin_with_distance_loss, multi_margin_loss,
multilabel_margin_loss, multilabel_soft_margin_loss) and their modules against PyTorch: values
and gradients of every differentiable input, every reduction, 1-d and 2-d inputs, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
REDUCTIONS = ("mean", "sum", "none")
rng = np.random.default_rng(7)


def _ours(a, grad):
    if a.dtype.kind == "f":
        return cr.tensor(a, dtype=a.dtype, requires_grad=grad)
    return a  # integer targets go in as NumPy arrays


def _theirs(a, grad):
    return torch.tensor(a, requires_grad=grad)


def check(ours, theirs, arrays, grads, **kwargs):
    """``ours`` and ``theirs`` on the same arrays: same value, dtype and shape, and the same
    gradient of each input whose index is in ``grads`` under a random upstream gradient."""
    xs = [_ours(a, i in grads) for i, a in enumerate(arrays)]
    ts = [_theirs(a, i in grads) for i, a in enumerate(arrays)]
    out, expected = ours(*xs, **kwargs), theirs(*ts, **kwargs)
    assert out.shape == tuple(expected.shape)
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "")
    exact = all(a.dtype != np.float32 for a in arrays)  # float32 math: a few ulps apart
    tol = TIGHT if exact else {"rtol": 2e-6, "atol": 1e-6}
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    if not grads:
        return
    upstream = rng.standard_normal(out.shape)
    (out * cr.tensor(upstream, dtype=out.dtype)).sum().backward()
    expected.backward(torch.tensor(upstream, dtype=expected.dtype))
    for i in grads:
        np.testing.assert_allclose(xs[i].grad, ts[i].grad.numpy(), err_msg=f"input {i}", **tol)


def _r(*shape):
    return rng.standard_normal(shape)


def _signs(*shape):
    return rng.choice([-1.0, 1.0], shape)


X2, X1 = _r(5, 4), _r(4)
PAIR_CASES = {
    "ranking-2d": (
        F.margin_ranking_loss,
        TF.margin_ranking_loss,
        [_r(5, 3), _r(5, 3), _signs(5, 3)],
        {0, 1, 2},
        {"margin": 0.3},
    ),
    "ranking-1d-broadcast": (
        F.margin_ranking_loss,
        TF.margin_ranking_loss,
        [_r(6), _r(1), _signs(6)],
        {0, 1, 2},
        {},
    ),
    "ranking-0d": (
        F.margin_ranking_loss,
        TF.margin_ranking_loss,
        [_r(), _r(), np.array(-1.0)],
        {0, 1},
        {"margin": 2.0},
    ),
    "hinge-2d": (
        F.hinge_embedding_loss,
        TF.hinge_embedding_loss,
        [np.abs(_r(5, 3)), _signs(5, 3)],
        {0},
        {"margin": 1.2},
    ),
    "hinge-int-target": (
        F.hinge_embedding_loss,
        TF.hinge_embedding_loss,
        [_r(4), np.array([1, -1, 0, 2])],
        {0},
        {},
    ),
    "hinge-target-broadcasts-input": (
        F.hinge_embedding_loss,
        TF.hinge_embedding_loss,
        [_r(3), _signs(4, 3)],
        {0},
        {},
    ),
    "soft-2d": (F.soft_margin_loss, TF.soft_margin_loss, [_r(5, 3) * 3, _signs(5, 3)], {0}, {}),
    "soft-target-broadcast": (
        F.soft_margin_loss,
        TF.soft_margin_loss,
        [_r(5, 3), _signs(3)],
        {0},
        {},
    ),
    "soft-1d": (F.soft_margin_loss, TF.soft_margin_loss, [_r(4), _signs(4)], {0}, {}),
    "cosine-2d": (
        F.cosine_embedding_loss,
        TF.cosine_embedding_loss,
        [X2, _r(5, 4), np.array([1, -1, 1, -1, -1])],
        {0, 1},
        {"margin": -0.2},
    ),
    "cosine-broadcast": (
        F.cosine_embedding_loss,
        TF.cosine_embedding_loss,
        [X2, _r(1, 4), np.array([1, -1, 0, -1, 1])],
        {0, 1},
        {},
    ),
    "cosine-1d": (
        F.cosine_embedding_loss,
        TF.cosine_embedding_loss,
        [X1, _r(4), np.array(-1)],
        {0, 1},
        {"margin": -0.9},
    ),
    "triplet-2d": (
        F.triplet_margin_loss,
        TF.triplet_margin_loss,
        [_r(6, 3), _r(6, 3), _r(6, 3)],
        {0, 1, 2},
        {"margin": 1.5},
    ),
    "triplet-p1-swap": (
        F.triplet_margin_loss,
        TF.triplet_margin_loss,
        [_r(6, 3), _r(6, 3), _r(6, 3)],
        {0, 1, 2},
        {"p": 1, "swap": True, "eps": 1e-3},
    ),
    "triplet-p3-1d": (
        F.triplet_margin_loss,
        TF.triplet_margin_loss,
        [_r(4), _r(4), _r(4)],
        {0, 1, 2},
        {"p": 3, "margin": 3.0},
    ),
    "triplet-3d": (
        F.triplet_margin_loss,
        TF.triplet_margin_loss,
        [_r(2, 3, 4), _r(2, 3, 4), _r(2, 1, 4)],
        {0, 1, 2},
        {"swap": True},
    ),
    "triplet-dist-default": (
        F.triplet_margin_with_distance_loss,
        TF.triplet_margin_with_distance_loss,
        [_r(6, 3), _r(6, 3), _r(6, 3)],
        {0, 1, 2},
        {"margin": 2.0},
    ),
    "multi-p1": (
        F.multi_margin_loss,
        TF.multi_margin_loss,
        [_r(6, 4), np.array([0, 3, 1, 1, 2, 3])],
        {0},
        {},
    ),
    "multi-p2-weight": (
        F.multi_margin_loss,
        TF.multi_margin_loss,
        [_r(6, 4), np.array([0, 3, 1, 1, 2, 3])],
        {0},
        {"p": 2, "margin": 0.7},
    ),
    "multi-1d": (F.multi_margin_loss, TF.multi_margin_loss, [_r(5), np.array([2])], {0}, {}),
    "multi-1d-0d-target": (
        F.multi_margin_loss,
        TF.multi_margin_loss,
        [_r(5), np.array(4)],
        {0},
        {"p": 2},
    ),
    "multilabel": (
        F.multilabel_margin_loss,
        TF.multilabel_margin_loss,
        [
            _r(4, 5),
            np.array([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [-1, 2, 0, 0, 0], [0, 1, 2, 3, 4]]),
        ],
        {0},
        {},
    ),
    "multilabel-1d": (
        F.multilabel_margin_loss,
        TF.multilabel_margin_loss,
        [_r(5), np.array([4, 2, -1, 0, 3])],
        {0},
        {},
    ),
    "multilabel-soft": (
        F.multilabel_soft_margin_loss,
        TF.multilabel_soft_margin_loss,
        [_r(5, 4) * 3, rng.random((5, 4))],
        {0, 1},
        {},
    ),
    "multilabel-soft-int-target": (
        F.multilabel_soft_margin_loss,
        TF.multilabel_soft_margin_loss,
        [_r(5, 4), rng.integers(0, 2, (5, 4))],
        {0},
        {},
    ),
    "multilabel-soft-1d": (
        F.multilabel_soft_margin_loss,
        TF.multilabel_soft_margin_loss,
        [_r(4), rng.random(4)],
        {0, 1},
        {},
    ),
    "multilabel-soft-3d": (
        F.multilabel_soft_margin_loss,
        TF.multilabel_soft_margin_loss,
        [_r(2, 3, 4), rng.random((2, 3, 4))],
        {0, 1},
        {},
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(PAIR_CASES))
def test_function_matches_torch_in_value_and_gradients(case, reduction):
    ours, theirs, arrays, grads, kwargs = PAIR_CASES[case]
    check(ours, theirs, arrays, grads, reduction=reduction, **kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_losses_match_torch(reduction):
    weight = rng.random(4) + 0.5
    labels = np.array([0, 3, 1, 1, 2, 3])
    x = _r(6, 4)
    for p in (1, 2):
        check(
            lambda x, p=p, **k: F.multi_margin_loss(
                x, labels, p, weight=cr.tensor(weight, dtype="float64"), **k
            ),
            lambda x, p=p, **k: TF.multi_margin_loss(
                x, torch.from_numpy(labels), p, weight=torch.tensor(weight), **k
            ),
            [x],
            {0},
            reduction=reduction,
        )
    check(
        F.multilabel_soft_margin_loss,
        TF.multilabel_soft_margin_loss,
        [x, rng.random((6, 4)), weight],
        {0, 1, 2},
        reduction=reduction,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_with_a_distance_function(reduction):
    def ours(a, b):
        return (a - b).abs().sum(-1)

    def theirs(a, b):
        return (a - b).abs().sum(-1)

    arrays = [_r(5, 3), _r(5, 3), _r(5, 3)]
    for swap in (False, True):
        check(
            lambda *t, **k: F.triplet_margin_with_distance_loss(*t, distance_function=ours, **k),
            lambda *t, **k: TF.triplet_margin_with_distance_loss(*t, distance_function=theirs, **k),
            arrays,
            {0, 1, 2},
            reduction=reduction,
            swap=swap,
            margin=0.5,
        )


def test_float32_and_mixed_dtypes_follow_torch():
    x32 = _r(5, 3).astype(np.float32)
    check(F.margin_ranking_loss, TF.margin_ranking_loss, [x32, _r(5, 3), _signs(5, 3)], {0, 1})
    check(F.soft_margin_loss, TF.soft_margin_loss, [x32, _signs(5, 3)], {0})
    check(F.hinge_embedding_loss, TF.hinge_embedding_loss, [x32, _signs(5, 3)], {0})
    check(
        F.cosine_embedding_loss,
        TF.cosine_embedding_loss,
        [x32, x32[::-1].copy(), _signs(5)],
        {0, 1},
    )
    check(
        F.triplet_margin_loss, TF.triplet_margin_loss, [x32, x32 * 2, x32[::-1].copy()], {0, 1, 2}
    )
    check(F.multi_margin_loss, TF.multi_margin_loss, [x32, np.array([0, 1, 2, 0, 1])], {0})
    labels = np.array([[0, -1, 0]] * 5)
    check(F.multilabel_margin_loss, TF.multilabel_margin_loss, [x32, labels], {0})
    check(
        F.multilabel_soft_margin_loss,
        TF.multilabel_soft_margin_loss,
        [x32, rng.random((5, 3))],
        {0, 1},
    )


def test_ties_pass_gradients_as_torch():
    # margin − x exactly 0, a ranking term exactly 0, equal swapped distances: PyTorch's rules
    check(
        F.hinge_embedding_loss,
        TF.hinge_embedding_loss,
        [np.array([1.0, 0.5, 2.0]), np.array([-1.0, -1, -1])],
        {0},
    )
    check(
        F.margin_ranking_loss,
        TF.margin_ranking_loss,
        [np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([1.0, -1.0])],
        {0, 1, 2},
        margin=0.0,
    )
    a = np.array([[0.0, 0.0]])
    check(
        F.triplet_margin_loss,
        TF.triplet_margin_loss,
        [a, np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])],
        {0, 1, 2},
        swap=True,
        eps=0.0,
    )
    # a multi-margin term exactly 0 counts for nothing
    check(
        F.multi_margin_loss, TF.multi_margin_loss, [np.array([[2.0, 1.0, 0.5]]), np.array([0])], {0}
    )


@pytest.mark.parametrize(
    "fn, args",
    [
        (F.margin_ranking_loss, lambda: (_r(3, 2), _r(3, 2), _signs(3, 2))),
        (F.soft_margin_loss, lambda: (_r(3, 2), _signs(3, 2).astype(np.int64))),
        (F.cosine_embedding_loss, lambda: (_r(3, 2), _r(3, 2), _signs(3))),
        (F.triplet_margin_loss, lambda: (_r(3, 2), _r(3, 2), _r(3, 2))),
        (F.multilabel_soft_margin_loss, lambda: (_r(3, 2), rng.random((3, 2)))),
        (lambda x, **k: F.multi_margin_loss(x, np.array([0, 1, 1]), 2, **k), lambda: (_r(3, 2),)),
        (
            lambda x, **k: F.multilabel_margin_loss(x, np.array([[1, -1]] * 3), **k),
            lambda: (_r(3, 2),),
        ),
    ],
)
def test_gradcheck_float64(fn, args):
    inputs = [
        cr.tensor(a, dtype="float64", requires_grad=True) if a.dtype.kind == "f" else a
        for a in args()
    ]
    assert cr.gradcheck(lambda *t: fn(*t, reduction="none"), *inputs)


def test_second_derivatives_through_the_composition():
    x = cr.tensor(_r(4, 3), dtype="float64", requires_grad=True)
    y = cr.tensor(rng.random((4, 3)), dtype="float64")
    (g,) = cr.autograd.grad(F.multilabel_soft_margin_loss(x, y), [x], create_graph=True)
    (g * g).sum().backward()
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad(
        TF.multilabel_soft_margin_loss(xt, torch.tensor(y.numpy())), [xt], create_graph=True
    )
    (gt * gt).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **TIGHT)


def _raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def test_errors_name_the_problem():
    x = cr.tensor(_r(4, 3))
    _raises(RuntimeError, "same number of dimensions", F.margin_ranking_loss, x, x, cr.ones(3))
    _raises(RuntimeError, "do not broadcast", F.margin_ranking_loss, x, x, cr.ones(5, 3))
    _raises(RuntimeError, "must broadcast to the input", F.soft_margin_loss, x[0], cr.ones(4, 3))
    _raises(RuntimeError, "do not broadcast", F.hinge_embedding_loss, x, cr.ones(5, 3))
    _raises(
        RuntimeError,
        "not differentiable with respect to its target",
        F.soft_margin_loss,
        x,
        cr.ones(4, 3, requires_grad=True),
    )
    _raises(
        RuntimeError,
        "1D target tensor expects 2D input",
        F.cosine_embedding_loss,
        x[0],
        x[1],
        np.array([1]),
    )
    _raises(
        RuntimeError,
        "0D target tensor expects 1D input",
        F.cosine_embedding_loss,
        x,
        x,
        np.array(1),
    )
    _raises(
        RuntimeError, "multi-target not supported", F.cosine_embedding_loss, x, x, np.ones((4, 1))
    )
    _raises(RuntimeError, "do not broadcast", F.cosine_embedding_loss, x, x, np.ones(3))
    _raises(ValueError, "margin must be greater than 0", F.triplet_margin_loss, x, x, x, margin=0)
    _raises(
        ValueError,
        "margin must be greater than 0",
        F.triplet_margin_with_distance_loss,
        x,
        x,
        x,
        margin=-1,
    )
    _raises(
        RuntimeError, "anchor 2D, positive 2D, and negative 1D", F.triplet_margin_loss, x, x, x[0]
    )
    _raises(ValueError, "reduction must be", F.triplet_margin_loss, x, x, x, reduction="avg")
    _raises(ValueError, "reduction must be", F.multilabel_soft_margin_loss, x, x, reduction="avg")
    _raises(TypeError, "pass reduction='sum' by keyword", F.soft_margin_loss, x, x, "sum")
    with pytest.warns(UserWarning, match="deprecated"):
        assert F.soft_margin_loss(x, cr.ones(4, 3), None, False).shape == (4, 3)


def test_class_index_errors_as_torch():
    x = cr.tensor(_r(4, 3))
    labels = np.array([0, 2, 1, 1])
    _raises(TypeError, "int64", F.multi_margin_loss, x, labels.astype(np.int32))
    _raises(TypeError, "int64", F.multi_margin_loss, x, labels.astype(np.float64))
    _raises(
        RuntimeError,
        r"Expected target size \(4,\), but got \(3,\)",
        F.multi_margin_loss,
        x,
        labels[:3],
    )
    _raises(RuntimeError, r"but got \(4, 1\)", F.multi_margin_loss, x, labels[:, None])
    _raises(IndexError, "target out of range", F.multi_margin_loss, x, np.array([0, 3, 1, 1]))
    _raises(IndexError, "target out of range", F.multi_margin_loss, x, np.array([0, -1, 1, 1]))
    _raises(ValueError, "only p == 1 and p == 2", F.multi_margin_loss, x, labels, p=3)
    _raises(ValueError, "one-dimensional", F.multi_margin_loss, x, labels, weight=np.ones((1, 3)))
    _raises(
        RuntimeError, "inconsistent weight size", F.multi_margin_loss, x, labels, weight=np.ones(4)
    )
    _raises(
        RuntimeError, "non-empty vector or matrix", F.multi_margin_loss, cr.ones(2, 3, 4), labels
    )
    _raises(
        RuntimeError, "non-empty vector or matrix", F.multi_margin_loss, cr.ones(2, 0), labels[:2]
    )
    rows = np.array([[0, 2, -1]] * 4)
    _raises(TypeError, "int64", F.multilabel_margin_loss, x, rows.astype(np.int32))
    _raises(RuntimeError, "inconsistent target size", F.multilabel_margin_loss, x, rows[:3])
    _raises(RuntimeError, "inconsistent target size", F.multilabel_margin_loss, x, rows[0])
    _raises(IndexError, "out of range", F.multilabel_margin_loss, x, np.array([[0, -1, 5]] * 4))
    _raises(IndexError, "out of range", F.multilabel_margin_loss, x, np.array([[0, -2, -1]] * 4))
    _raises(RuntimeError, "0-d", F.multilabel_soft_margin_loss, cr.tensor(1.0), cr.tensor(1.0))
    _raises(RuntimeError, "bool", F.multilabel_soft_margin_loss, x, np.ones((4, 3), bool))


def test_edge_shapes_as_torch():
    # a 0-d input is one class: loss 0; an empty batch gives an empty "none"
    assert F.multi_margin_loss(cr.tensor(1.0), np.array([0])).item() == 0.0
    assert F.multilabel_margin_loss(cr.tensor(1.0), np.array(0)).item() == 0.0
    assert F.multi_margin_loss(cr.ones(0, 3), np.zeros(0, np.int64), reduction="none").shape == (0,)
    none = F.multilabel_margin_loss(cr.ones(0, 3), np.zeros((0, 3), np.int64), reduction="none")
    assert none.shape == (0,)


MODULES = [
    (
        nn.MarginRankingLoss,
        torch.nn.MarginRankingLoss,
        {"margin": 0.2},
        [_r(5), _r(5), _signs(5)],
        {0, 1, 2},
    ),
    (
        nn.HingeEmbeddingLoss,
        torch.nn.HingeEmbeddingLoss,
        {"margin": 2.0},
        [_r(5, 2), _signs(5, 2)],
        {0},
    ),
    (nn.SoftMarginLoss, torch.nn.SoftMarginLoss, {}, [_r(5, 2), _signs(5, 2)], {0}),
    (
        nn.CosineEmbeddingLoss,
        torch.nn.CosineEmbeddingLoss,
        {"margin": 0.1},
        [_r(5, 2), _r(5, 2), _signs(5)],
        {0, 1},
    ),
    (
        nn.TripletMarginLoss,
        torch.nn.TripletMarginLoss,
        {"p": 1.5, "swap": True},
        [_r(5, 2), _r(5, 2), _r(5, 2)],
        {0, 1, 2},
    ),
    (
        nn.TripletMarginWithDistanceLoss,
        torch.nn.TripletMarginWithDistanceLoss,
        {"swap": True},
        [_r(5, 2), _r(5, 2), _r(5, 2)],
        {0, 1, 2},
    ),
    (
        nn.MultiMarginLoss,
        torch.nn.MultiMarginLoss,
        {"p": 2, "margin": 0.5},
        [_r(5, 3), np.array([0, 1, 2, 2, 0])],
        {0},
    ),
    (
        nn.MultiLabelMarginLoss,
        torch.nn.MultiLabelMarginLoss,
        {},
        [_r(2, 3), np.array([[2, -1, 0], [0, 1, -1]])],
        {0},
    ),
    (
        nn.MultiLabelSoftMarginLoss,
        torch.nn.MultiLabelSoftMarginLoss,
        {},
        [_r(5, 3), rng.random((5, 3))],
        {0, 1},
    ),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ours, theirs, options, arrays, grads", MODULES)
def test_modules_match_torch(ours, theirs, options, arrays, grads, reduction):
    module = ours(**options, reduction=reduction)
    reference = theirs(**options, reduction=reduction)
    assert repr(module) == repr(reference)
    check(lambda *a: module(*a), lambda *a: reference(*a), arrays, grads)


def test_module_weights_and_legacy_flags():
    weight = np.array([1.0, 2.0, 0.5])
    x, labels = _r(5, 3), np.array([0, 1, 2, 2, 0])
    check(
        nn.MultiMarginLoss(weight=weight),
        torch.nn.MultiMarginLoss(weight=torch.tensor(weight)),
        [x, labels],
        {0},
    )
    check(
        nn.MultiLabelSoftMarginLoss(weight),
        torch.nn.MultiLabelSoftMarginLoss(torch.tensor(weight)),
        [x, rng.random((5, 3))],
        {0, 1},
    )
    assert "weight" in dict(nn.MultiMarginLoss(weight=weight).named_buffers())
    with pytest.warns(UserWarning, match="deprecated"):
        assert nn.MarginRankingLoss(0.0, None, False).reduction == "none"
    with pytest.warns(UserWarning, match="deprecated"):
        assert nn.MultiMarginLoss(1, 1.0, None, False, True).reduction == "sum"
    with pytest.raises(TypeError, match="reduction='sum' by keyword"):
        nn.SoftMarginLoss("sum")
    with pytest.raises(TypeError):
        nn.TripletMarginWithDistanceLoss(None)  # keyword-only, as PyTorch's
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D"):
        nn.MultiMarginLoss(weight=np.ones((1, 3)))
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=-0.5)
    with pytest.raises(ValueError, match="reduction must be"):
        nn.CosineEmbeddingLoss(reduction="avg")
    custom = nn.TripletMarginWithDistanceLoss(distance_function=lambda a, b: (a - b).abs().sum(-1))
    assert repr(custom) == "TripletMarginWithDistanceLoss()"
