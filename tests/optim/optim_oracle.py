"""Shared harness of the tests that run a chainrule optimizer and torch.optim's side by side.

Both start from the same parameters (shapes (4, 3), (5,), (2, 2, 3) and a 0-d one) and see
the same gradients: that of a fixed quadratic at the current parameters plus a seeded noise
sequence, with parameter 1 left without a gradient every seventh step (it must be skipped,
state and all).
"""

from __future__ import annotations

import copy

import numpy as np

import chainrule as cr
from chainrule import optim

SHAPES = [(4, 3), (5,), (2, 2, 3), ()]


def problem(steps: int, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in SHAPES]
    curvature = [np.asarray(rng.uniform(0.2, 2.0, s), dtype=dtype) for s in SHAPES]
    noise = [
        [np.asarray(0.3 * rng.standard_normal(s), dtype=dtype) for s in SHAPES]
        for _ in range(steps)
    ]
    return init, curvature, noise


def gradients(values, curvature, noise, t):
    return [
        None if (i == 1 and t % 7 == 3) else np.asarray(h * v + n, dtype=v.dtype)
        for i, (v, h, n) in enumerate(zip(values, curvature, noise[t]))
    ]


def groups(params, group_options):
    if group_options is None:
        return params
    return [{"params": params[:2], **group_options[0]}, {"params": params[2:], **group_options[1]}]


class Run:
    """One optimizer over the problem's parameters; ``lib`` is ``cr`` or ``torch``."""

    def __init__(self, lib, name, kwargs, steps, dtype=np.float64, group_options=None):
        self.lib, self.is_torch = lib, lib is not cr
        self.init, self.curvature, self.noise = problem(steps, dtype)
        if self.is_torch:
            self.params = [lib.tensor(v.copy(), requires_grad=True) for v in self.init]
            self.opt = getattr(lib.optim, name)(groups(self.params, group_options), **kwargs)
        else:
            dname = np.dtype(dtype).name
            self.params = [cr.tensor(v.copy(), requires_grad=True, dtype=dname) for v in self.init]
            self.opt = getattr(optim, name)(groups(self.params, group_options), **kwargs)
        self.t = 0

    def values(self):
        if self.is_torch:
            return [p.detach().numpy().copy() for p in self.params]
        return [p.array.copy() for p in self.params]

    def step(self, count=1, after_step=None):
        for _ in range(count):
            grads = gradients(self.values(), self.curvature, self.noise, self.t)
            for p, g in zip(self.params, grads):
                if self.is_torch:
                    p.grad = None if g is None else self.lib.from_numpy(np.asarray(g))
                else:
                    p.grad = g
            self.opt.step()
            if after_step is not None:
                after_step(self)
            self.t += 1
        return self


def plain(value):
    """A state value (NumPy array, number, torch tensor) as a float64 array."""
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def assert_runs_match(ours: Run, theirs: Run, rtol: float, atol: float = 0.0) -> None:
    """Same parameter values (and dtypes) and the same state, key by key, in PyTorch's layout."""
    for mine, reference in zip(ours.values(), theirs.values()):
        assert mine.dtype == reference.dtype
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol)
    ours_sd, theirs_sd = ours.opt.state_dict(), theirs.opt.state_dict()
    assert set(ours_sd["state"]) == set(theirs_sd["state"])
    for idx, state in theirs_sd["state"].items():
        assert list(ours_sd["state"][idx]) == list(state), idx
        for key, value in state.items():
            mine = ours_sd["state"][idx][key]
            if isinstance(mine, np.ndarray):
                assert mine.dtype == ours.values()[idx].dtype, key
                assert mine.shape == tuple(value.shape), key
            np.testing.assert_allclose(plain(mine), plain(value), rtol=rtol, atol=atol, err_msg=key)
    for mine, reference in zip(ours_sd["param_groups"], theirs_sd["param_groups"]):
        for key, value in mine.items():
            assert reference[key] == value, key


def assert_resume_equals_uninterrupted(name, kwargs, steps=24, group_options=None) -> None:
    """state_dict() after half the steps, loaded into a new optimizer over new tensors with
    the same values: the second half gives the same bits as an uninterrupted run."""
    straight = Run(cr, name, kwargs, steps, group_options=group_options).step(steps)
    first = Run(cr, name, kwargs, steps, group_options=group_options).step(steps // 2)
    saved = copy.deepcopy(first.opt.state_dict())
    second = Run(cr, name, dict(kwargs, lr=123.0), steps, group_options=group_options)
    for p, v in zip(second.params, first.values()):
        p.array[...] = v
    second.opt.load_state_dict(saved)
    second.t = first.t
    second.step(steps - steps // 2)
    for a, b in zip(straight.values(), second.values()):
        np.testing.assert_array_equal(a, b)


def assert_torch_state_dict_continues(torch, name, kwargs, steps=24) -> None:
    """A state dict PyTorch made, loaded here, continues with PyTorch's numbers."""
    theirs = Run(torch, name, kwargs, steps).step(steps // 2)
    ours = Run(cr, name, kwargs, steps)
    for p, v in zip(ours.params, theirs.values()):
        p.array[...] = v
    ours.opt.load_state_dict(copy.deepcopy(theirs.opt.state_dict()))
    ours.t = theirs.t
    theirs.step(steps - steps // 2)
    ours.step(steps - steps // 2)
    assert_runs_match(ours, theirs, rtol=1e-12, atol=1e-14)
