"""Schedulers that scale the learning rate by a factor: a user's function (LambdaLR,
MultiplicativeLR), a constant for a while (ConstantLR) or a polynomial decay (PolynomialLR)."""

from __future__ import annotations

import copy
import types
from collections.abc import Callable
from typing import Any

from chainrule.optim.optimizer import Optimizer
from chainrule.optim.scheduler_base import LRScheduler, _check_optimizer, _integer

__all__ = ["LambdaLR", "MultiplicativeLR", "ConstantLR", "PolynomialLR"]


def _lambdas(owner: str, optimizer: Optimizer, lr_lambda) -> list[Callable[[int], float]]:
    _check_optimizer(owner, optimizer)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(
                f"{owner}: expected {len(optimizer.param_groups)} lr_lambdas (one per parameter "
                f"group), got {len(lr_lambda)}"
            )
        lambdas = list(lr_lambda)
    else:
        lambdas = [lr_lambda] * len(optimizer.param_groups)
    for fn in lambdas:
        if not callable(fn):
            raise TypeError(f"{owner}: lr_lambda must be a function, got {type(fn).__name__}")
    return lambdas


class _LambdaState:
    """PyTorch's state_dict for user functions: a plain function is saved as ``None`` (it is
    code, not state, and comes back from the constructor); a callable object saves its
    ``__dict__``, which :meth:`load_state_dict` puts back into the object given now."""

    lr_lambdas: list[Callable[[int], float]]

    def state_dict(self) -> dict[str, Any]:
        state = {
            key: copy.deepcopy(value)
            for key, value in self.__dict__.items()
            if key not in ("optimizer", "lr_lambdas")
        }
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(vars(fn))
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = copy.deepcopy(dict(state_dict))
        saved = state.pop("lr_lambdas", None) or []
        self.__dict__.update(state)
        for fn, values in zip(self.lr_lambdas, saved):
            if values is not None:
                vars(fn).update(values)


class LambdaLR(_LambdaState, LRScheduler):
    """The learning rate is lr₀ times a function of the epoch: lr_e = lr₀ · λ(e).

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch index, or a list of them, one per parameter group.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (e + 1))
        >>> lrs = []
        >>> for epoch in range(3):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 0.5, 0.3333333333333333]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [
            base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)
        ]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """Multiply the learning rate by a function of the epoch at every step: lr_e = lr_{e−1}·λ(e).

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch index, or a list of them, one per parameter group.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._group_lrs())]


class ConstantLR(LRScheduler):
    """Scale the learning rate by ``factor`` for the first ``total_iters`` epochs, then not.

    lr_e = lr₀ · factor for e < total_iters, lr₀ from then on.

    Args:
        optimizer: the optimizer to schedule.
        factor: the scale in [0, 1].
        total_iters: the number of epochs it lasts.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor = factor
        self.total_iters = _integer("ConstantLR", "total_iters", total_iters, low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._group_lrs()]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [lr * (1.0 / self.factor) for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        done = self.last_epoch >= self.total_iters
        return [base_lr * (self.factor + done * (1 - self.factor)) for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the learning rate to 0 in ``total_iters`` epochs along a polynomial.

    lr_e = lr₀ · (1 − min(e, N)/N)^power, computed from the previous rate, as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        total_iters: N, the number of epochs of the decay.
        power: the power of the polynomial (1: linear).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ):
        self.total_iters = _integer("PolynomialLR", "total_iters", total_iters)
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        e, n = self.last_epoch, self.total_iters
        factor = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * factor for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * (1.0 - progress) ** self.power for base_lr in self.base_lrs]
