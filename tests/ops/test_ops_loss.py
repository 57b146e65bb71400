"""Every loss and option against PyTorch and finite differences."""

import warnings

import numpy as np
import pytest
from op_check import case, check_case, ids, normal, unit

import chainrule as cr
import chainrule.functional as fn

torch = pytest.importorskip("torch")
F = torch.nn.functional

Y6 = np.array([0, 3, 1, 1, 2, 3])
Y6_IGNORED = np.array([0, -100, 1, 1, 2, -100])
Y6_OTHER_IGNORED = np.array([0, 2, 1, 1, 2, 2])
Y_4D = np.random.default_rng(3).integers(0, 4, (2, 3, 5))
W4 = np.array([0.5, 2.0, 1.0, 1.5])
PW4 = np.array([1.0, 3.0, 0.5, 2.0])
REDUCTIONS = ["mean", "sum", "none"]


def probabilities(rng, shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)


def t_(a):
    return torch.tensor(a)


def w_(a, like):
    """A weight array as a torch tensor of ``like``'s dtype (torch does not mix dtypes)."""
    return torch.tensor(a, dtype=like.dtype)


def logits_wide(rng, shape):
    return rng.standard_normal(shape) * 6


CASES = []
for r in REDUCTIONS:
    CASES += [
        *case(
            f"mse_{r}",
            lambda a, b, r=r: fn.mse_loss(a, b, reduction=r),
            lambda a, b, r=r: F.mse_loss(a, b, reduction=r),
            [((6, 4), (6, 4)), ((), ())],
        ),
        *case(
            f"l1_{r}",
            lambda a, b, r=r: fn.l1_loss(a, b, reduction=r),
            lambda a, b, r=r: F.l1_loss(a, b, reduction=r),
            [((6, 4), (6, 4)), ((3,), (3,))],
        ),
        *case(
            f"huber_{r}",
            lambda a, b, r=r: fn.huber_loss(a, b, r, delta=0.6),
            lambda a, b, r=r: F.huber_loss(a, b, reduction=r, delta=0.6),
            [((6, 4), (6, 4))],
        ),
        *case(
            f"bce_{r}",
            lambda p, y, r=r: fn.binary_cross_entropy(p, y, reduction=r),
            lambda p, y, r=r: F.binary_cross_entropy(p, y, reduction=r),
            [((6, 4), (6, 4))],
            domain=unit,
        ),
        *case(
            f"bce_weight_{r}",
            lambda p, y, r=r: fn.binary_cross_entropy(p, y, W4, reduction=r),
            lambda p, y, r=r: F.binary_cross_entropy(p, y, w_(W4, p), reduction=r),
            [((6, 4), (6, 4))],
            domain=unit,
            grad=(0,),
        ),
        *case(
            f"bce_logits_{r}",
            lambda z, y, r=r: fn.binary_cross_entropy_with_logits(z, y, reduction=r),
            lambda z, y, r=r: F.binary_cross_entropy_with_logits(z, y, reduction=r),
            [((6, 4), (6, 4)), ((5,), (5,)), ((), ())],
            domain=[logits_wide, unit],
        ),
        *case(
            f"bce_logits_w_pw_{r}",
            lambda z, y, r=r: fn.binary_cross_entropy_with_logits(
                z, y, W4, reduction=r, pos_weight=PW4
            ),
            lambda z, y, r=r: F.binary_cross_entropy_with_logits(
                z, y, w_(W4, z), reduction=r, pos_weight=w_(PW4, z)
            ),
            [((6, 4), (6, 4))],
            domain=[logits_wide, unit],
        ),
        *case(
            f"ce_{r}",
            lambda z, r=r: fn.cross_entropy(z, Y6, reduction=r),
            lambda z, r=r: F.cross_entropy(z, t_(Y6), reduction=r),
            [((6, 4),)],
            domain=logits_wide,
        ),
        *case(
            f"ce_weight_ignore_{r}",
            lambda z, r=r: fn.cross_entropy(z, Y6_IGNORED, W4, reduction=r),
            lambda z, r=r: F.cross_entropy(z, t_(Y6_IGNORED), w_(W4, z), reduction=r),
            [((6, 4),)],
        ),
        *case(
            f"ce_ignore_class_{r}",
            lambda z, r=r: fn.cross_entropy(z, Y6_OTHER_IGNORED, ignore_index=2, reduction=r),
            lambda z, r=r: F.cross_entropy(z, t_(Y6_OTHER_IGNORED), ignore_index=2, reduction=r),
            [((6, 4),)],
        ),
        *case(
            f"ce_smooth_{r}",
            lambda z, r=r: fn.cross_entropy(z, Y6_IGNORED, W4, reduction=r, label_smoothing=0.15),
            lambda z, r=r: F.cross_entropy(
                z, t_(Y6_IGNORED), w_(W4, z), reduction=r, label_smoothing=0.15
            ),
            [((6, 4),)],
        ),
        *case(
            f"ce_smooth_noweight_{r}",
            lambda z, r=r: fn.cross_entropy(z, Y6_IGNORED, reduction=r, label_smoothing=0.3),
            lambda z, r=r: F.cross_entropy(z, t_(Y6_IGNORED), reduction=r, label_smoothing=0.3),
            [((6, 4),)],
        ),
        *case(
            f"ce_nd_{r}",
            lambda z, r=r: fn.cross_entropy(z, Y_4D, W4, reduction=r, label_smoothing=0.1),
            lambda z, r=r: F.cross_entropy(
                z, t_(Y_4D), w_(W4, z), reduction=r, label_smoothing=0.1
            ),
            [((2, 4, 3, 5),)],
        ),
        *case(
            f"ce_probs_{r}",
            lambda z, p, r=r: fn.cross_entropy(z, p, reduction=r),
            lambda z, p, r=r: F.cross_entropy(z, p, reduction=r),
            [((6, 4), (6, 4))],
            domain=[normal, probabilities],
        ),
        *case(
            f"ce_probs_w_smooth_{r}",
            lambda z, p, r=r: fn.cross_entropy(z, p, W4, reduction=r, label_smoothing=0.2),
            lambda z, p, r=r: F.cross_entropy(z, p, w_(W4, z), reduction=r, label_smoothing=0.2),
            [((6, 4), (6, 4)), ((2, 4, 3), (2, 4, 3))],
            domain=[normal, probabilities],
        ),
        *case(
            f"nll_{r}",
            lambda z, r=r: fn.nll_loss(z.log_softmax(1), Y6_IGNORED, W4, reduction=r),
            lambda z, r=r: F.nll_loss(F.log_softmax(z, 1), t_(Y6_IGNORED), w_(W4, z), reduction=r),
            [((6, 4),)],
        ),
    ]
CASES += [
    *case(
        "ce_unbatched",
        lambda z: fn.cross_entropy(z, np.array(2)),
        lambda z: F.cross_entropy(z, torch.tensor(2)),
        [((4,),)],
    ),
    *case(
        "ce_unbatched_probs",
        fn.cross_entropy,
        F.cross_entropy,
        [((4,), (4,))],
        domain=[normal, probabilities],
    ),
    *case(
        "nll_nd",
        lambda z: fn.nll_loss(z, Y_4D),
        lambda z: F.nll_loss(z, t_(Y_4D)),
        [((2, 4, 3, 5),)],
    ),
    *case(
        "nll_ignore",
        lambda z: fn.nll_loss(z, Y6_OTHER_IGNORED, ignore_index=3),
        lambda z: F.nll_loss(z, t_(Y6_OTHER_IGNORED), ignore_index=3),
        [((6, 4),)],
    ),
    *case(
        "ce_tensor_target",
        lambda z: fn.cross_entropy(z, cr.tensor(Y6)),
        lambda z: F.cross_entropy(z, t_(Y6)),
        [((6, 4),)],
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_loss(c, dtype):
    check_case(c, dtype)


def test_bce_is_finite_at_probabilities_0_and_1_like_torch():
    p, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0])
    x = cr.tensor(p, dtype="float64", requires_grad=True)
    with np.errstate(all="raise"):
        loss = fn.binary_cross_entropy(x, y, reduction="none")
        loss.sum().backward()
    tx = torch.tensor(p, requires_grad=True)
    ref = F.binary_cross_entropy(tx, torch.tensor(y), reduction="none")
    ref.sum().backward()
    np.testing.assert_array_equal(loss.data, ref.detach().numpy())  # the −100 clamp
    # torch's 1e-12 floor is a float32 constant, so the ±1e12 slopes differ in the 9th digit
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-8)
    assert np.isfinite(x.grad).all()


def test_integer_and_numpy_targets_are_accepted_for_binary_losses():
    z = cr.tensor([[0.3], [-1.2]], requires_grad=True)
    a = fn.binary_cross_entropy_with_logits(z, np.array([[1], [0]]))
    b = fn.binary_cross_entropy_with_logits(z, cr.tensor([[1.0], [0.0]]))
    assert a.item() == pytest.approx(b.item())


def test_cross_entropy_ignores_everything_with_class_weights_like_torch():
    z = np.random.default_rng(0).standard_normal((3, 4))
    y = np.array([1, 2, 0])
    ours = fn.cross_entropy(cr.tensor(z, dtype="float64"), y, W4, reduction="sum")
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y), torch.tensor(W4), reduction="sum")
    assert ours.item() == pytest.approx(ref.item(), rel=1e-12)


@pytest.mark.parametrize(
    "loss",
    [
        fn.mse_loss,
        fn.l1_loss,
        fn.huber_loss,
        fn.cross_entropy,
        fn.binary_cross_entropy_with_logits,
        fn.nll_loss,
    ],
)
def test_reduction_is_validated(loss):
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        loss(
            cr.tensor([[0.1, 0.9]]),
            np.array([1])
            if "nll" in loss.__name__ or "cross" in loss.__name__
            else np.array([[0.0, 1.0]]),
            reduction="avg",
        )


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
@pytest.mark.parametrize("options", [{}, {"weight": [1.0, 2.0, 3.0]}, {"label_smoothing": 0.1}])
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 2)])
def test_a_mean_over_only_ignored_targets_is_nan_with_zero_gradients(name, options, shape):
    """A fully padded batch: PyTorch's mean is NaN and every input gradient 0, so one such
    batch does not turn the weights into NaN; no warning either."""
    if name == "NLLLoss" and "label_smoothing" in options:
        pytest.skip("NLLLoss has no label_smoothing")
    targets = np.full((shape[0],) + shape[2:], -100)
    ours_options = {k: cr.tensor(v) if k == "weight" else v for k, v in options.items()}
    x = cr.zeros(*shape, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = getattr(cr.nn, name)(**ours_options)(x, cr.tensor(targets))
        loss.backward()
    t_options = {k: torch.tensor(v) if k == "weight" else v for k, v in options.items()}
    xt = torch.zeros(*shape, requires_grad=True)
    ref = getattr(torch.nn, name)(**t_options)(xt, torch.tensor(targets))
    ref.backward()
    assert np.isnan(loss.item()) and torch.isnan(ref).item()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_of_an_empty_batch_matches_torch(reduction):
    # an empty batch (a filtered-out minibatch) was a NumPy "min of nothing" ValueError
    ours_p = cr.zeros(0, 4, dtype=cr.float64, requires_grad=True)
    theirs_p = torch.zeros(0, 4, dtype=torch.float64, requires_grad=True)
    ours = fn.binary_cross_entropy(ours_p, cr.zeros(0, 4, dtype=cr.float64), reduction=reduction)
    theirs = F.binary_cross_entropy(
        theirs_p, torch.zeros(0, 4, dtype=torch.float64), reduction=reduction
    )
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        ours.sum().backward()
    theirs.sum().backward()
    assert ours_p.grad.shape == tuple(theirs_p.grad.shape) == (0, 4)
