"""get_lr() called outside step() warns as PyTorch's does (it computes the next rate from the
current one, which is not the current rate); chainrule's schedulers stayed silent."""

import warnings

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SCHEDULERS = [
    ("StepLR", dict(step_size=2)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3)),
    ("LinearLR", dict()),
    ("PolynomialLR", dict()),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1)),
]


def _warnings(lib, name, kwargs, call_get_lr):
    w = (torch.zeros if lib is torch else cr.zeros)(1, requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            opt.step()
            sched.step()
        if call_get_lr:
            sched.get_lr()
    return [str(c.message).split("`get_last_lr()`")[0] for c in caught]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
@pytest.mark.parametrize("call_get_lr", [False, True])
def test_get_lr_outside_step_warns_as_torch(name, kwargs, call_get_lr):
    mine = _warnings(cr, name, kwargs, call_get_lr)
    assert mine == _warnings(torch, name, kwargs, call_get_lr)
    assert len(mine) == int(call_get_lr)


def test_a_users_get_lr_is_not_wrapped():
    class Half(cr.optim.lr_scheduler.LRScheduler):
        def get_lr(self):
            return [lr / 2 for lr in self.base_lrs]

    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1)
    sched = Half(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sched.get_lr() == [0.05]
