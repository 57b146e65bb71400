"""Parity probe, round 6: ``.grad`` is one tensor object, as PyTorch's, not a new one per read
(identity, in-place accumulation into a kept reference, assignment), checked against PyTorch."""

import gc

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _story(lib):
    """What a training script observes of ``.grad`` between backward passes and zero_grad."""
    seen = []
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    g = p.grad
    seen.append(("same object", p.grad is p.grad, p.grad is g))
    (p * 3).sum().backward()  # accumulates in place: the kept g sees it
    seen.append(("kept after 2nd backward", g.tolist(), p.grad is g))
    p.grad.zero_()
    seen.append(("zero_", g.tolist()))
    p.grad += 1
    seen.append(("+=", g.tolist(), p.grad is g))
    h = lib.tensor([5.0, 6.0])
    p.grad = h
    seen.append(("assigned", p.grad is h))
    (p * 1).sum().backward()
    seen.append(("accumulated into the assigned", h.tolist()))
    kept = []
    for i in range(2):
        (p * (i + 1)).sum().backward()
        kept.append(p.grad)
    seen.append(("list", [k.tolist() for k in kept], kept[0] is kept[1]))
    opt = lib.optim.SGD([p], lr=0.1)
    opt.zero_grad()  # set_to_none: the next backward makes a new .grad
    (p * 2).sum().backward()
    seen.append(("after zero_grad", p.grad is kept[0], kept[0].tolist(), p.grad.tolist()))
    g = p.grad
    opt.zero_grad(set_to_none=False)
    seen.append(("zero_grad(set_to_none=False)", p.grad is g, g.tolist()))
    g.data = lib.tensor([9.0, 9.0])  # replaces the gradient itself
    seen.append(("grad.data =", p.grad.tolist(), p.grad is g))
    seen.append(("flags", g.requires_grad, g.is_leaf, g.grad_fn is None))
    y = p * 2
    y.retain_grad()
    (y * y).sum().backward()
    seen.append(("retained", y.grad is y.grad, y.grad.tolist()))
    return seen


def test_grad_is_one_tensor_as_pytorchs():
    assert _story(cr) == _story(torch)


def test_module_conversion_keeps_the_grad_object():
    def run(lib):
        m = lib.nn.Linear(2, 1)
        m(lib.ones(1, 2)).sum().backward()
        w = m.weight.grad
        m.double()
        return m.weight.grad is w, str(w.dtype).replace("torch.", "")

    assert run(cr) == run(torch)


def test_an_unheld_grad_is_freed():
    """The tensor keeps its .grad face weakly: zero_grad() frees the gradient's memory."""
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    array = p.grad_array
    assert p.grad.array is array
    p.grad = None
    gc.collect()
    assert p._grad_face is None
    (p * p).sum().backward()
    face = p.grad
    p.grad_array = None  # as optimizer.zero_grad() does
    del face
    gc.collect()
    assert p._grad_face() is None


def test_hook_sees_the_same_grad_object():
    def run(lib):
        seen = []
        p = lib.tensor([1.0], requires_grad=True)
        p.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad))
        (p * 2).sum().backward()
        return seen[0] is p.grad

    assert run(cr) is run(torch) is True
