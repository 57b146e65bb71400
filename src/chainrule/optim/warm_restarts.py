"""Cosine annealing with warm restarts (SGDR): the cosine starts over every T_i epochs."""

from __future__ import annotations

import math

from chainrule.optim.optimizer import Optimizer
from chainrule.optim.scheduler_base import LRScheduler, _integer

__all__ = ["CosineAnnealingWarmRestarts"]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Anneal along half a cosine, then restart from lr₀ (Loshchilov & Hutter, SGDR).

    lr = η_min + (lr₀ − η_min) · (1 + cos(π · T_cur / T_i)) / 2

    where T_cur counts the epochs since the last restart and the i-th run lasts
    T_i = T_0 · T_multⁱ epochs. ``step(epoch)`` takes a fractional epoch, so the schedule can
    be stepped per batch: ``sched.step(epoch + batch / batches_per_epoch)``, as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        T_0: the length of the first run, in epochs (>= 1).
        T_mult: each run is ``T_mult`` times longer than the one before (an integer >= 1).
        eta_min: the lowest learning rate η_min.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ):
        self.T_0 = _integer("CosineAnnealingWarmRestarts", "T_0", T_0)
        self.T_i = self.T_0
        self.T_mult = _integer("CosineAnnealingWarmRestarts", "T_mult", T_mult)
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)):
            raise ValueError(
                f"CosineAnnealingWarmRestarts: eta_min must be a number, got {eta_min!r}"
            )
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance by one epoch, or jump to ``epoch`` (which may be fractional)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
        else:
            self.T_i = self.T_0
            self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self._within_step(self.get_lr)):
            group["lr"] = lr
        self._last_lr = self._group_lrs()
