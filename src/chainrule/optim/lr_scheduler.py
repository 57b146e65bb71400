"""Learning-rate schedules: change each parameter group's ``lr`` as training goes on.

Call ``scheduler.step()`` once per epoch (once per batch for :class:`OneCycleLR` and
:class:`CyclicLR`), after ``optimizer.step()``. Each scheduler follows PyTorch's formulas step
for step, so the same schedule gives the same learning rates in both libraries.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

from chainrule.optim.composite_lr import ChainedScheduler, SequentialLR
from chainrule.optim.cyclic_lr import CyclicLR
from chainrule.optim.factor_lr import ConstantLR, LambdaLR, MultiplicativeLR, PolynomialLR
from chainrule.optim.one_cycle import OneCycleLR
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.plateau import ReduceLROnPlateau
from chainrule.optim.scheduler_base import LRScheduler, _integer, _LRScheduler  # noqa: F401
from chainrule.optim.warm_restarts import CosineAnnealingWarmRestarts

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "LambdaLR",
    "MultiplicativeLR",
    "ConstantLR",
    "PolynomialLR",
    "CosineAnnealingWarmRestarts",
    "SequentialLR",
    "ChainedScheduler",
    "CyclicLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    lr_e = lr₀ · γ^⌊e / step_size⌋

    Args:
        optimizer: the optimizer to schedule.
        step_size: the number of epochs between two decays (>= 1).
        gamma: the decay factor γ.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        self.step_size = _integer("StepLR", "step_size", step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [
            base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs
        ]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch.

    lr_e = lr₀ · γ^(number of milestones <= e)

    Args:
        optimizer: the optimizer to schedule.
        milestones: epoch indices (a milestone listed twice decays twice).
        gamma: the decay factor γ.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ):
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._group_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [
            base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
            for base_lr in self.base_lrs
        ]

    def state_dict(self):
        state = super().state_dict()
        state["milestones"] = dict(self.milestones)
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        # JSON turns the integer keys into strings
        self.milestones = Counter({int(k): int(v) for k, v in self.milestones.items()})


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: lr_e = lr₀ · γᵉ.

    Args:
        optimizer: the optimizer to schedule.
        gamma: the decay factor γ.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:  # resuming must not advance the rate a second time
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along half a cosine, from lr₀ down to ``eta_min``.

    lr_e = η_min + (lr₀ − η_min) · (1 + cos(π·e / T_max)) / 2

    computed, as in PyTorch, recursively from the previous epoch's rate
    (lr_e = η_min + (lr_{e−1} − η_min)·(1 + cos(π e/T))/(1 + cos(π(e−1)/T))), so that it
    composes with other changes to ``lr``. Past ``T_max`` the rate climbs back up (a cosine
    with period 2·T_max), as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        T_max: the number of epochs of the descent (>= 1).
        eta_min: the lowest learning rate η_min.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        if not T_max >= 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and e > 0:  # resumed: jump straight to epoch e
            return [
                eta_min + (base_lr - eta_min) * (1 + math.cos(e * math.pi / T)) / 2
                for base_lr in self.base_lrs
            ]
        if (e - 1 - T) % (2 * T) == 0:  # the bottom of the cosine: the ratio below is 0/0
            return [
                lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base_lr, lr in zip(self.base_lrs, self._group_lrs())
            ]
        return [
            (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - eta_min)
            + eta_min
            for lr in self._group_lrs()
        ]

    def _get_closed_form_lr(self):
        return [
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base_lr in self.base_lrs
        ]


class LinearLR(LRScheduler):
    r"""Scale the learning rate by a factor that moves linearly (a warm-up, typically).

    lr_e = lr₀ · (s + (f − s) · min(e, N) / N)   with s = start_factor, f = end_factor,
    N = total_iters; computed recursively from the previous rate, as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: s, the factor at epoch 0, in (0, 1].
        end_factor: f, the factor from epoch N on, in [0, 1].
        total_iters: N, the number of epochs the change takes.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)
        >>> warmup = optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(round(warmup.get_last_lr()[0], 6))
        ...     opt.step()
        ...     warmup.step()
        >>> lrs
        [0.025, 0.05, 0.075, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = _integer("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        s, f = self.start_factor, self.end_factor
        ratio = 1.0 + (f - s) / (self.total_iters * s + (self.last_epoch - 1) * (f - s))
        return [lr * ratio for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        s, f = self.start_factor, self.end_factor
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * (s + (f - s) * progress) for base_lr in self.base_lrs]
