"""F.ctc_loss and nn.CTCLoss against PyTorch in float64: values and gradients (of the logits
through log_softmax, and of the log-probabilities themselves, PyTorch's formula), padded and
concatenated targets, unbatched input, every reduction, zero_infinity, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
rng = np.random.default_rng(3)
T, N, C = 8, 4, 5
LOGITS = rng.standard_normal((T, N, C))
PADDED = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [1, 1, 3, 4], [4, 4, 4, 4]])
INPUT_LENGTHS = [8, 5, 8, 3]
TARGET_LENGTHS = [3, 1, 4, 3]  # the last target cannot fit 3 steps: an infinite loss


def _concatenated(padded, lengths):
    return np.concatenate([row[:n] for row, n in zip(padded, lengths)])


def run(z, targets, input_lengths, target_lengths, through_softmax=True, **options):
    """Our loss and PyTorch's on the same arrays: values and gradients compared, NaN and inf
    in the same places."""
    x = cr.tensor(z, dtype=z.dtype, requires_grad=True)
    xt = torch.tensor(z, requires_grad=True)
    lp, lpt = (x.log_softmax(-1), xt.log_softmax(-1)) if through_softmax else (x, xt)
    ours = F.ctc_loss(lp, targets, input_lengths, target_lengths, **options)
    theirs = TF.ctc_loss(
        lpt,
        torch.tensor(targets),
        torch.tensor(input_lengths),
        torch.tensor(target_lengths),
        **options,
    )
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    tol = TIGHT if z.dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)
    upstream = rng.standard_normal(ours.shape)
    (ours * cr.tensor(upstream, dtype=ours.dtype)).sum().backward()
    theirs.backward(torch.tensor(upstream, dtype=theirs.dtype))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **tol)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("form", ["padded", "concatenated"])
@pytest.mark.parametrize("through_softmax", [True, False])
def test_ctc_matches_torch(reduction, zero_infinity, form, through_softmax):
    targets = PADDED if form == "padded" else _concatenated(PADDED, TARGET_LENGTHS)
    options = {"reduction": reduction, "zero_infinity": zero_infinity}
    run(LOGITS, targets, INPUT_LENGTHS, TARGET_LENGTHS, through_softmax, **options)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_blank_empty_targets_and_zero_lengths(reduction):
    # blank = 2 (targets avoid it), an empty target, an input of length 0 with an empty target
    targets = np.array([[0, 1, 3], [4, 0, 0], [1, 3, 3], [0, 0, 0]])
    run(LOGITS, targets, [8, 4, 6, 0], [3, 0, 3, 0], blank=2, reduction=reduction)
    run(LOGITS, targets, [8, 4, 1, 6], [3, 0, 0, 0], blank=2, reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_unbatched_and_float32(reduction):
    z = LOGITS[:, 0]
    run(z, np.array([1, 2, 2]), 8, 3, reduction=reduction)  # (T, C), 1-d target, 0-d lengths
    run(z, np.array([[1, 2, 2, 0]]), 7, 3, reduction=reduction)
    z32 = LOGITS[:, :3].astype(np.float32)
    run(z32, PADDED[:3], INPUT_LENGTHS[:3], TARGET_LENGTHS[:3], False, reduction=reduction)


def test_ctc_gradcheck_through_log_softmax():
    z = cr.tensor(LOGITS[:5, :2], dtype="float64", requires_grad=True)
    targets = np.array([[1, 2], [3, 3]])

    def loss(z):
        return F.ctc_loss(z.log_softmax(-1), targets, [5, 4], [2, 2], reduction="none")

    assert cr.gradcheck(loss, z)


def test_ctc_module_matches_torch():
    ours = nn.CTCLoss(blank=4, reduction="sum", zero_infinity=True)
    theirs = torch.nn.CTCLoss(blank=4, reduction="sum", zero_infinity=True)
    assert repr(ours) == repr(theirs) == "CTCLoss()"
    x = cr.tensor(LOGITS, dtype="float64", requires_grad=True)
    xt = torch.tensor(LOGITS, requires_grad=True)
    targets = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [1, 1, 3, 0], [0, 1, 0, 1]])
    loss = ours(x.log_softmax(2), targets, INPUT_LENGTHS, TARGET_LENGTHS)
    expected = theirs(xt.log_softmax(2), torch.tensor(targets), INPUT_LENGTHS, TARGET_LENGTHS)
    np.testing.assert_allclose(loss.item(), expected.item(), **TIGHT)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **TIGHT)
    with pytest.raises(ValueError, match="reduction must be"):
        nn.CTCLoss(reduction="avg")


def _raises(exc, match, *args, **kwargs):
    with pytest.raises(exc, match=match):
        F.ctc_loss(*args, **kwargs)


def test_ctc_errors_name_the_problem():
    lp = cr.tensor(LOGITS).log_softmax(2)
    il, tl = INPUT_LENGTHS, TARGET_LENGTHS
    _raises(ValueError, "blank must be in label range", lp, PADDED, il, tl, blank=5)
    _raises(ValueError, "blank must be in label range", lp, PADDED, il, tl, blank=-1)
    _raises(RuntimeError, "input_lengths must be of size batch_size", lp, PADDED, il[:3], tl)
    _raises(RuntimeError, "target_lengths must be of size batch_size", lp, PADDED, il, tl[:3])
    _raises(ValueError, "input_lengths to have value at most 8", lp, PADDED, [9, 5, 8, 3], tl)
    _raises(ValueError, "target_lengths to have value at least 0", lp, PADDED, il, [3, -1, 2, 3])
    _raises(RuntimeError, "at least max.target_lengths. = 5", lp, PADDED, il, [5, 1, 2, 3])
    _raises(RuntimeError, r"sum\(target_lengths\) = 11", lp, PADDED.reshape(-1)[:12], il, tl)
    _raises(TypeError, "input_lengths must be integral", lp, PADDED, np.array(il, float), tl)
    _raises(IndexError, "outside", lp, PADDED + 5, il, tl)
    _raises(RuntimeError, "log_probs must be", lp.unsqueeze(0), PADDED, il, tl)
    _raises(ValueError, "reduction must be", lp, PADDED, il, tl, reduction="avg")
    # create_graph=True works; the gradient has no derivative of its own, as PyTorch's
    x = cr.tensor(LOGITS, dtype="float64", requires_grad=True)
    loss = F.ctc_loss(x.log_softmax(2), PADDED, il, tl, zero_infinity=True)
    (g,) = cr.autograd.grad(loss, [x], create_graph=True)
    with pytest.raises(NotImplementedError, match="no second derivative"):
        g.sum().backward()


def test_create_graph_gives_the_gradient_and_refuses_a_second_derivative():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 2, 4))
    targets = np.array([[1, 2], [3, 1]])
    lengths, target_lengths = [6, 5], [2, 2]
    x = cr.tensor(logits, dtype=cr.float64, requires_grad=True)
    loss = cr.nn.functional.ctc_loss(
        cr.nn.functional.log_softmax(x, dim=2), cr.tensor(targets), lengths, target_lengths
    )
    (g,) = cr.autograd.grad(loss, [x], create_graph=True)
    tx = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.ctc_loss(
        tx.log_softmax(2), torch.tensor(targets), lengths, target_lengths
    )
    (tg,) = torch.autograd.grad(tloss, [tx], create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert g.requires_grad
    with pytest.raises(NotImplementedError, match="_ctc_loss_backward"):
        g.sum().backward()
