"""Small parity leftovers against torch 2.13: grad_fn names by call form (t, transpose, squeeze,
split, max(dim), 1 - x, ...), a second backward() through add/sub with alpha=, and assigning
requires_grad on a non-leaf."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAME_CASES = [
    "x.t()", "v.t()", "x.transpose(0, 1)", "x.transpose(1, 0)", "x.swapaxes(0, 1)", "x.mT",
    "x.permute(1, 0)", "x.T", "x.unsqueeze(0)", "x.unsqueeze(-1)", "x.unsqueeze(0).squeeze()",
    "x.unsqueeze(0).squeeze(0)", "x.unsqueeze(0).squeeze(dim=0)", "x.unsqueeze(0).squeeze((0,))",
    "x.split(1)[0]", "x.split(1)[1]", "x.split(2, 1)[1]", "x.split([1, 1])[0]",
    "x.split([2, 1], 1)[1]", "x.chunk(2)[0]", "x.chunk(2, 1)[1]", "x.unbind(0)[1]",
    "x.max(1)[0]", "x.max(1, keepdim=True).values", "x.min(1)[0]", "x.median(1)[0]",
    "x.mode(1)[0]", "x.kthvalue(1, 1)[0]", "x.kthvalue(2, 1, keepdim=True)[0]", "x.median()",
    "1 - x", "1.5 - x", "x - 1", "2 ** x", "x.prod()", "x.prod(0)", "x.cumprod(0)",
    "x.fmax(w)", "x.fmin(w)", "L.add(x, w, alpha=2)", "L.sub(x, w, alpha=2)",
    "F.huber_loss(x, w)", "F.nll_loss(x, L.tensor([0, 1]))", "F.gelu(x, approximate='tanh')",
    "x.norm(p=1)", "x.norm(p=float('inf'))", "F.l1_loss(x, w)", "F.l1_loss(x, w, reduction='sum')",
    "F.l1_loss(x, w, reduction='none')", "F.kl_div(x, p, reduction='batchmean')",
    "F.kl_div(x, p, reduction='sum')", "F.kl_div(x, p, reduction='none')",
    "F.kl_div(x, p.log(), reduction='none', log_target=True)",
    "F.max_pool2d(x[None, None], 1)", "F.avg_pool2d(x[None, None], 1)",
    "F.conv2d(x[None, None], x[None, None, :1, :1])",
    "F.relu6(x * 3)", "L.nn.ReLU6()(x * 3)",  # an op of its own in chainrule, named as torch's
]  # fmt: skip


def _scope(lib):
    x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 1.5, -0.5]], requires_grad=True)
    w = lib.tensor([[0.3, 0.2, 0.1], [0.4, 0.5, 0.6]], requires_grad=True)
    v = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    p = lib.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    return {"L": lib, "F": lib.nn.functional, "x": x, "w": w, "v": v, "p": p}


@pytest.mark.parametrize("code", NAME_CASES)
def test_grad_fn_name_and_values_match_torch(code):
    results = []
    for lib in (torch, cr):
        with np.errstate(all="ignore"):
            y = eval(code, _scope(lib))
        results.append((y.grad_fn.name(), y.detach().numpy().copy()))
    (theirs, a), (ours, b) = results
    assert ours == theirs
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("code", ["x.t()", "x.unsqueeze(0).squeeze(0)", "x.split(1)[1]"])
def test_renamed_call_forms_keep_their_gradients(code):
    grads = []
    for lib in (torch, cr):
        scope = _scope(lib)
        y = eval(code, scope)
        (
            y * lib.tensor(np.arange(y.numel(), dtype=np.float32).reshape(tuple(y.shape)))
        ).sum().backward()
        grads.append(scope["x"].grad.numpy().copy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_t_of_a_vector_is_a_new_node_as_torch():
    v = cr.tensor([1.0, 2.0], requires_grad=True)
    assert v.t() is not v and v.t().grad_fn.name() == "TBackward0"


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("alpha", [2, -0.5])
def test_second_backward_through_add_sub_with_alpha_matches_torch(op, alpha):
    grads = []
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, -4.0], requires_grad=True)
        z = getattr(lib, op)(x, y, alpha=alpha).sum()
        z.backward()
        z.backward()  # nothing saved on the way: torch allows it
        m = getattr(x, op)(y, alpha=alpha).sum()
        m.backward()
        m.backward()
        grads.append((x.grad.numpy().copy(), y.grad.numpy().copy(), z.item(), m.item()))
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs)


def test_add_with_alpha_keeps_float32_and_numpy_scalar_alpha_as_before():
    x = cr.ones(2, requires_grad=True)
    y = cr.ones(2, requires_grad=True)
    assert cr.add(x, y, alpha=0.5).dtype == np.float32
    assert (
        cr.add(x, y, alpha=np.float64(0.5)).dtype
        == torch.add(torch.ones(2), torch.ones(2), alpha=np.float64(0.5)).numpy().dtype
    )


def test_second_backward_through_a_product_still_raises_as_torch():
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        z = (lib.add(x, x * x, alpha=2)).sum()
        z.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            z.backward()


@pytest.mark.parametrize("value", [False, True])
def test_requires_grad_assignment_on_a_non_leaf_raises_as_torch(value):
    messages = []
    for lib in (torch, cr):
        y = lib.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError) as info:
            y.requires_grad = value
        messages.append(str(info.value))
        assert y.requires_grad  # unchanged
    assert messages[1] == messages[0]


def test_requires_grad_assignment_on_leaves_works_as_torch():
    for lib in (torch, cr):
        x = lib.ones(2)
        x.requires_grad = True
        assert x.requires_grad and (x * 2).requires_grad
        x.requires_grad = False
        assert not (x * 2).requires_grad
        with lib.no_grad():
            y = lib.ones(2, requires_grad=True) * 2  # a leaf: made under no_grad
        y.requires_grad = True
        assert y.is_leaf and y.requires_grad
