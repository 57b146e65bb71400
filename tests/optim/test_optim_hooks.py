"""Optimizer hooks (were missing: AttributeError), called as PyTorch calls them."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")


def _make(lib):
    if lib is torch:
        w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    else:
        w = cr.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    return w, lib.optim.SGD([w], lr=0.1, momentum=0.9)


def _grad(lib, w):
    w.grad = (torch.from_numpy if lib is torch else np.asarray)(np.array([0.5, 0.25]))


def _step_trace(lib):
    """What the hooks see, and a pre hook that swaps in a closure which returns a loss."""
    w, opt = _make(lib)
    seen = []

    def pre(o, args, kwargs):
        seen.append(("pre", o is opt, len(args), args[0] is opt, sorted(kwargs)))
        if len(args) == 1:
            return (args[0], lambda: 7.0), kwargs
        return None

    def post(o, args, kwargs):
        seen.append(("post", o is opt, len(args), float(w.detach().numpy()[0])))

    h_pre = opt.register_step_pre_hook(pre)
    opt.register_step_post_hook(post)
    _grad(lib, w)
    seen.append(("loss", opt.step()))
    h_pre.remove()
    _grad(lib, w)
    seen.append(("loss", opt.step()))
    return seen


def test_step_hooks_see_and_change_what_torchs_see():
    assert _step_trace(cr) == _step_trace(torch)


def test_a_bad_pre_hook_result_is_an_error_as_in_torch():
    for lib in (cr, torch):
        w, opt = _make(lib)
        opt.register_step_pre_hook(lambda o, a, k: "nonsense")
        _grad(lib, w)
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            opt.step()


def test_a_copied_optimizer_steps_itself_with_the_hooks():
    w, opt = _make(cr)
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(o))
    twin = copy.deepcopy(opt)
    twin_w = twin.param_groups[0]["params"][0]
    _grad(cr, twin_w)
    twin.step()
    assert calls == [twin]
    assert not np.array_equal(twin_w.detach().numpy(), w.detach().numpy())
    assert type(pickle.loads(pickle.dumps(optim.SGD([w], lr=0.1)))) is optim.SGD


def _state_dict_trace(lib):
    w, opt = _make(lib)
    _grad(lib, w)
    opt.step()
    seen = []
    opt.register_state_dict_pre_hook(lambda o: seen.append("sd pre"))
    opt.register_state_dict_post_hook(lambda o, sd: seen.append("sd post 2"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1}, prepend=True)
    saved = opt.state_dict()
    seen.append(sorted(saved))

    def load_pre(o, sd):
        seen.append(("load pre", "extra" in sd))
        sd = dict(sd)
        sd.pop("extra")
        sd["param_groups"] = [dict(g, lr=0.5) for g in sd["param_groups"]]
        return sd

    opt.register_load_state_dict_pre_hook(load_pre)
    opt.register_load_state_dict_post_hook(
        lambda o: seen.append(("load post", o.param_groups[0]["lr"]))
    )
    opt.load_state_dict(saved)
    seen.append(sorted(saved))  # the hook's changes stay off the caller's dict
    return seen


def test_state_dict_hooks_match_torch():
    assert _state_dict_trace(cr) == _state_dict_trace(torch)


def test_hooks_must_be_callable():
    _, opt = _make(cr)
    with pytest.raises(TypeError, match="hook must be callable"):
        opt.register_step_pre_hook(3)
