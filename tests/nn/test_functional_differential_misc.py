"""Corners of chainrule.nn.functional that a PyTorch user reaches for, against PyTorch in
float64: values and input gradients, or the same refusal."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import ShapeError

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def run_both(name, arrays, **kwargs):
    """Call F.<name> in both libraries; return (ours, theirs) as (output, input grads)."""
    rng = np.random.default_rng(1)
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_c = getattr(F, name)(*ours, **kwargs)
    out_t = getattr(TF, name)(*theirs, **kwargs)
    weights = rng.standard_normal(tuple(out_t.shape))
    (out_c * cr.tensor(weights, dtype="float64")).sum().backward()
    (out_t * torch.from_numpy(weights)).sum().backward()
    return (
        (out_c.detach().numpy(), [t.grad.numpy() for t in ours]),
        (out_t.detach().numpy(), [t.grad.numpy() for t in theirs]),
    )


def assert_same(pair):
    (out, grads), (out_t, grads_t) = pair
    assert out.shape == out_t.shape
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-12)
    for grad, grad_t in zip(grads, grads_t):
        np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape", [(3, 4), (4,), (2, 3, 4)])
def test_linear_with_a_one_dimensional_weight_is_x_at_w(x_shape):
    rng = np.random.default_rng(0)
    # raised ShapeError ("linear expects a 2-D weight"); PyTorch answers x @ w
    assert_same(run_both("linear", [rng.standard_normal(x_shape), rng.standard_normal(4)]))


def test_linear_with_a_one_dimensional_weight_and_a_bias_is_refused_as_torch():
    x, w, b = np.ones((3, 4)), np.ones(4), np.ones(1)
    with pytest.raises(RuntimeError):
        TF.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    with pytest.raises(ShapeError, match="without bias"):
        F.linear(cr.tensor(x), cr.tensor(w), cr.tensor(b))


def test_normalize_writes_into_out_as_torch():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    ours, theirs = cr.zeros(3, 2, dtype="float64"), torch.zeros(3, 2, dtype=torch.float64)
    # out= was an unexpected keyword
    assert F.normalize(cr.tensor(x, dtype="float64"), out=ours) is ours
    TF.normalize(torch.tensor(x), out=theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15)
    with pytest.raises(cr.GraphError, match="automatic differentiation"):
        F.normalize(cr.tensor(x, requires_grad=True), out=cr.zeros(3, 2))


@pytest.mark.parametrize("pads", [(1.5, 1), (1.0, 1), (True, 1)])
def test_pad_refuses_what_is_not_an_int_as_torch(pads):
    # (1.5, 1) was truncated to (1, 1) and padded silently
    with pytest.raises(TypeError, match="tuple of ints"):
        TF.pad(torch.ones(1, 2, 3), pads)
    with pytest.raises(TypeError, match="tuple of ints.*pos 0"):
        F.pad(cr.ones(1, 2, 3), pads)


def test_pad_takes_numpy_integers_as_torch():
    pads = (np.int64(1), np.int32(2))
    assert F.pad(cr.ones(1, 2, 3), pads).shape == tuple(TF.pad(torch.ones(1, 2, 3), pads).shape)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, f: f.one_hot(lib.tensor([0, 1]), num_classes=2.5),  # gave 3 columns
        lambda lib, f: f.embedding(lib.tensor([1]), lib.ones(3, 2), padding_idx=1.5),
        lambda lib, f: f.embedding_bag(
            lib.tensor([1, 2]), lib.ones(3, 2), lib.tensor([0, 1]), padding_idx=1.5
        ),
        lambda lib, f: f.ctc_loss(
            lib.zeros(3, 1, 2), lib.tensor([[1]]), lib.tensor([3]), lib.tensor([1]), blank=0.5
        ),
        lambda lib, f: f.affine_grid(lib.zeros(1, 2, 3), (1.0, 1, 4, 4), align_corners=False),
    ],
    ids=["one_hot", "embedding", "embedding_bag", "ctc_loss", "affine_grid"],
)
def test_integer_arguments_refuse_floats_as_torch(call):
    # each was accepted (and used as some integer) where PyTorch raises TypeError
    with pytest.raises(TypeError):
        call(torch, TF)
    with pytest.raises(TypeError, match="must be an integer, got"):
        call(cr, F)


def test_integer_arguments_take_numpy_integers():
    assert F.one_hot(cr.tensor([0, 1]), np.int64(3)).shape == (2, 3)
    rows = F.embedding(cr.tensor([1]), cr.ones(3, 2), padding_idx=np.int64(1))
    assert rows.shape == (1, 2)
