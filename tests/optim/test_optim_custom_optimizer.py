"""A custom optimizer written as PyTorch users write one (a subclass of Optimizer whose state
holds tensors, one of them 0-d) trains, saves and resumes as PyTorch's. load_state_dict turned
its tensors into NumPy arrays (the next step's ``buf.mul_`` raised AttributeError) and refused a
0-d state tensor with a ShapeError."""

import copy

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _optimizer_class(lib):
    class MomentumWithCount(lib.optim.Optimizer):
        def __init__(self, params, lr=0.01, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @lib.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with lib.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["buf"] = lib.zeros_like(p)
                        state["count"] = lib.zeros(())
                    state["count"].add_(1)
                    state["buf"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(state["buf"], alpha=-group["lr"] / float(state["count"]) ** 0.5)
            return loss

    return MomentumWithCount


def _param(lib):
    values = np.random.default_rng(0).standard_normal(5)
    if lib is torch:
        return torch.tensor(values, requires_grad=True)
    return cr.tensor(values, requires_grad=True, dtype="float64")


def _steps(opt, w, n):
    for _ in range(n):
        opt.zero_grad()
        (w * w * w).sum().backward()
        opt.step()


def _resumed_run(lib):
    cls = _optimizer_class(lib)
    w = _param(lib)
    opt = cls([w], lr=0.05)
    _steps(opt, w, 3)
    saved = copy.deepcopy(opt.state_dict())
    resumed = cls([w], lr=0.05)
    resumed.load_state_dict(saved)
    _steps(resumed, w, 3)
    state = resumed.state[w]
    return w.detach().numpy().copy(), type(state["buf"]).__name__, float(state["count"])


def test_custom_optimizer_resumes_as_torchs():
    mine, expected = _resumed_run(cr), _resumed_run(torch)
    np.testing.assert_allclose(mine[0], expected[0], rtol=1e-13)
    assert mine[1:] == expected[1:] == ("Tensor", 6.0)


def test_loaded_tensors_are_copies_in_the_parameters_dtype():
    cls = _optimizer_class(cr)
    w64, w32 = _param(cr), cr.tensor(np.zeros(5), requires_grad=True, dtype="float32")
    opt = cls([w64])
    _steps(opt, w64, 1)
    saved = opt.state_dict()
    resumed = cls([w32])
    resumed.load_state_dict(saved)
    buf = resumed.state[w32]["buf"]
    assert buf.dtype == cr.float32 and buf is not saved["state"][0]["buf"]
