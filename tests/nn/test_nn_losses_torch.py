"""Loss modules against torch.nn's: forward and input gradient in float64, plus argument checks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 4)) * 2
LOGITS_3D = rng.standard_normal((3, 4, 5))
LABELS = np.array([0, 3, 1, 1, 2, 3])
LABELS_3D = rng.integers(0, 4, (3, 5))
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
PRED = rng.standard_normal((6, 3))
TARGET = rng.standard_normal((6, 3))
BINARY = rng.integers(0, 2, (6, 3))
CLASS_WEIGHT = np.array([1.0, 2.0, 0.5, 3.0])


def _t(a):
    return torch.from_numpy(np.asarray(a))


def check_loss(ours, theirs, input, target, torch_target=None):
    x_ours = cr.tensor(input, dtype="float64", requires_grad=True)
    x_theirs = torch.tensor(input, dtype=torch.float64, requires_grad=True)
    loss_ours = ours(x_ours, target)
    loss_theirs = theirs(x_theirs, _t(target) if torch_target is None else torch_target)
    np.testing.assert_allclose(loss_ours.data, loss_theirs.detach().numpy(), **TIGHT)
    upstream = rng.standard_normal(loss_ours.shape)
    (loss_ours * upstream).sum().backward()
    loss_theirs.backward(_t(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), **TIGHT)


W = CLASS_WEIGHT
CASES = []
for reduction in ("mean", "sum", "none"):
    r = {"reduction": reduction}
    CASES += [
        (f"mse-{reduction}", nn.MSELoss(**r), tnn.MSELoss(**r), PRED, TARGET),
        (f"l1-{reduction}", nn.L1Loss(**r), tnn.L1Loss(**r), PRED, TARGET),
        (
            f"huber-{reduction}",
            nn.HuberLoss(delta=0.7, **r),
            tnn.HuberLoss(delta=0.7, **r),
            PRED,
            TARGET,
        ),
        (
            f"bce-{reduction}",
            nn.BCELoss(weight=np.array([1.0, 2.0, 0.5]), **r),
            tnn.BCELoss(weight=_t([1.0, 2.0, 0.5]), **r),
            1 / (1 + np.exp(-PRED)),
            BINARY.astype(float),
        ),
        (
            f"bcelogits-{reduction}",
            nn.BCEWithLogitsLoss(pos_weight=np.array([3.0, 1.0, 0.5]), weight=[2.0, 1.0, 1.0], **r),
            tnn.BCEWithLogitsLoss(pos_weight=_t([3.0, 1.0, 0.5]), weight=_t([2.0, 1.0, 1.0]), **r),
            PRED * 5,
            BINARY.astype(float),
        ),
        (f"ce-{reduction}", nn.CrossEntropyLoss(**r), tnn.CrossEntropyLoss(**r), LOGITS, LABELS),
        (
            f"ce-weighted-{reduction}",
            nn.CrossEntropyLoss(weight=W, ignore_index=1, label_smoothing=0.1, **r),
            tnn.CrossEntropyLoss(weight=_t(W), ignore_index=1, label_smoothing=0.1, **r),
            LOGITS,
            LABELS,
        ),
        (
            f"ce-probs-{reduction}",
            nn.CrossEntropyLoss(**r),
            tnn.CrossEntropyLoss(**r),
            LOGITS,
            PROBS,
        ),
        (
            f"ce-3d-{reduction}",
            nn.CrossEntropyLoss(weight=W, **r),
            tnn.CrossEntropyLoss(weight=_t(W), **r),
            LOGITS_3D,
            LABELS_3D,
        ),
        (
            f"nll-{reduction}",
            nn.NLLLoss(weight=W, ignore_index=3, **r),
            tnn.NLLLoss(weight=_t(W), ignore_index=3, **r),
            np.log(PROBS),
            LABELS,
        ),
    ]


@pytest.mark.parametrize(
    "ours, theirs, input, target", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_loss_matches_torch(ours, theirs, input, target):
    check_loss(ours, theirs, input, target)


def test_bce_accepts_integer_and_bool_targets():
    probs = 1 / (1 + np.exp(-PRED))
    check_loss(nn.BCELoss(), tnn.BCELoss(), probs, BINARY, torch_target=_t(BINARY.astype(float)))
    check_loss(
        nn.BCEWithLogitsLoss(),
        tnn.BCEWithLogitsLoss(),
        PRED,
        BINARY.astype(bool),
        torch_target=_t(BINARY.astype(float)),
    )


def test_float32_input_with_float64_target_gives_float32_loss():
    loss = nn.MSELoss()(cr.tensor(PRED), TARGET)
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.mean((PRED - TARGET) ** 2), rtol=1e-5)


def test_shape_mismatch_is_an_error_with_the_fix_not_a_broadcast():
    pred = cr.tensor(np.zeros((5, 1)))
    with pytest.raises(
        cr.ShapeError,
        match=r"input of shape \(5, 1\) and target of shape \(5,\).*y\.reshape\(-1, 1\)",
    ):
        nn.MSELoss()(pred, np.zeros(5))
    with pytest.raises(cr.ShapeError, match=r"y\.reshape\(-1\)"):
        nn.BCEWithLogitsLoss()(cr.zeros(5), np.zeros((5, 1)))


def test_class_losses_want_integer_labels():
    with pytest.raises(cr.DTypeError, match=r"y\.astype\('int64'\)"):
        nn.CrossEntropyLoss()(cr.tensor(LOGITS), LABELS.astype(float))
    with pytest.raises(cr.DTypeError, match="integer class indices"):
        nn.NLLLoss()(cr.tensor(LOGITS), LABELS.astype(float))
    with pytest.raises(cr.DTypeError, match="floating-point input"):
        nn.MSELoss()(np.array([1, 2]), np.array([1.0, 2.0]))


def test_loss_arguments_are_validated():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="delta"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


def test_weights_are_buffers_in_the_state_dict_like_torch():
    ours = nn.BCEWithLogitsLoss(pos_weight=[2.0])
    theirs = tnn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss(weight=W).state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_cross_entropy_refuses_ignore_index_with_probability_targets_as_torch(ignore_index):
    # no class index to compare it with: ignoring it silently would be a different loss
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        tnn.CrossEntropyLoss(ignore_index=ignore_index)(_t(LOGITS), _t(PROBS))
    with pytest.raises(ValueError, match=f"ignore_index={ignore_index}.*probabilities"):
        nn.CrossEntropyLoss(ignore_index=ignore_index)(cr.tensor(LOGITS), PROBS)
    with pytest.raises(RuntimeError, match="class probabilities"):
        cr.functional.cross_entropy(cr.tensor(LOGITS), PROBS, ignore_index=ignore_index)


def test_cross_entropy_takes_a_negative_ignore_index_with_probability_targets_as_torch():
    check_loss(
        nn.CrossEntropyLoss(ignore_index=-1),
        tnn.CrossEntropyLoss(ignore_index=-1),
        LOGITS,
        PROBS,
    )


@pytest.mark.parametrize(
    "target",
    [[0.0, 2.0], [-0.5, 1.0], [1.0, float("nan")], [2.0, 1.0]],
    ids=["two", "neg", "nan", "1-2"],
)
def test_binary_cross_entropy_refuses_targets_outside_0_1_as_torch(target):
    # labels coded 1/2 trained silently before (PyTorch: "all elements of target should be
    # between 0 and 1")
    p = [0.3, 0.6]
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(target))
    with pytest.raises(cr.errors.DataError, match=r"targets in \[0, 1\]"):
        cr.nn.functional.binary_cross_entropy(cr.tensor(p), cr.tensor(target))
    with pytest.raises(cr.errors.DataError, match=r"targets in \[0, 1\]"):
        cr.nn.BCELoss()(cr.tensor([p]), cr.tensor([target]))
