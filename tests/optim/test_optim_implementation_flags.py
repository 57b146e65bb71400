"""PyTorch's implementation switches (foreach=, fused=, capturable=, differentiable=): taken
where PyTorch's constructor takes them, the same update, and a clear refusal for what
chainrule does not have."""

import inspect

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "Adamax", "NAdam", "RAdam", "RMSprop", "Adadelta"]
FLAGS = ["foreach", "fused", "capturable", "differentiable"]


@pytest.mark.parametrize("name", NAMES)
def test_the_same_flags_are_taken_as_pytorchs(name):
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    w = cr.nn.Parameter(cr.ones(2))
    for flag in FLAGS:
        value = None if flag in ("foreach", "fused") else False
        try:
            getattr(cr.optim, name)([w], lr=0.1, **{flag: value})
            taken = True
        except TypeError as err:
            assert "unexpected keyword argument" in str(err)
            taken = False
        assert taken == (flag in theirs), flag


def _trajectory(name, **flags):
    w = cr.nn.Parameter(cr.tensor([0.5, -1.5, 2.0]))
    opt = getattr(cr.optim, name)([w], lr=0.05, **flags)
    for _ in range(5):
        opt.zero_grad()
        ((w - 1) ** 4).sum().backward()
        opt.step()
    return w.detach().numpy()


@pytest.mark.parametrize("name", NAMES)
def test_foreach_and_fused_change_nothing(name):
    plain = _trajectory(name)
    np.testing.assert_array_equal(_trajectory(name, foreach=True), plain)
    if name in ("SGD", "Adam", "AdamW", "Adagrad"):
        np.testing.assert_array_equal(_trajectory(name, fused=True), plain)


def test_differentiable_and_capturable_are_refused_by_name():
    w = cr.nn.Parameter(cr.ones(2))
    with pytest.raises(NotImplementedError, match=r"Adam\(differentiable=True\).*False"):
        cr.optim.Adam([w], differentiable=True)
    with pytest.raises(NotImplementedError, match=r"AdamW\(capturable=True\).*CUDA"):
        cr.optim.AdamW([w], capturable=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'fusd'"):
        cr.optim.SGD([w], lr=0.1, fusd=True)
