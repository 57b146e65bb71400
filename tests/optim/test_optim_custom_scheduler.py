"""A user's own scheduler, written as PyTorch users write one: a subclass of ``LRScheduler``, or
of ``_LRScheduler`` (PyTorch's name before 2.0, still in many scripts; it was missing)."""

import math

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _warmup_cosine(base):
    class WarmupCosine(base):
        def __init__(self, optimizer, warmup, total, last_epoch=-1):
            self.warmup, self.total = warmup, total
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            if self.last_epoch < self.warmup:
                return [lr * (self.last_epoch + 1) / self.warmup for lr in self.base_lrs]
            progress = (self.last_epoch - self.warmup) / max(1, self.total - self.warmup)
            return [lr * 0.5 * (1 + math.cos(math.pi * progress)) for lr in self.base_lrs]

    return WarmupCosine


def _lrs(lib, base_name):
    w = (torch.zeros(2, requires_grad=True) if lib is torch
         else cr.zeros(2, requires_grad=True))  # fmt: skip
    opt = lib.optim.SGD([{"params": [w]}], lr=0.1, momentum=0.9)
    sched = _warmup_cosine(getattr(lib.optim.lr_scheduler, base_name))(opt, 5, 40)
    lrs = []
    for _ in range(40):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


@pytest.mark.parametrize("base_name", ["LRScheduler", "_LRScheduler"])
def test_custom_scheduler_matches_torch(base_name):
    np.testing.assert_allclose(_lrs(cr, base_name), _lrs(torch, base_name), rtol=1e-14)


def test_old_base_name_is_a_subclass_as_in_torch():
    old = cr.optim.lr_scheduler._LRScheduler
    assert issubclass(old, cr.optim.lr_scheduler.LRScheduler)
    assert old.__name__ == torch.optim.lr_scheduler._LRScheduler.__name__
