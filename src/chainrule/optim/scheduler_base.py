"""The base of the learning-rate schedulers: :class:`LRScheduler` and the checks they share.

A scheduler declares how ``fit`` drives it: ``per_batch`` (step after every batch, not every
epoch) and ``needs_metric`` (``step`` takes the monitored value, e.g. the validation loss).
"""

from __future__ import annotations

import copy
import functools
import numbers
import warnings
from typing import Any

from chainrule.optim.optimizer import Optimizer

__all__ = ["LRScheduler"]


def _check_optimizer(owner: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{owner}: expected a chainrule optimizer (e.g. optim.SGD(...)), "
            f"got {type(optimizer).__name__}"
        )


class LRScheduler:
    """Base class of the epoch-driven schedulers.

    On creation it records each group's starting learning rate as ``group["initial_lr"]`` (the
    ``base_lrs``) and sets the learning rates for epoch 0. Each :meth:`step` advances
    ``last_epoch`` by one and writes the new rates into ``optimizer.param_groups``. A subclass
    writes :meth:`get_lr`, the rates for ``last_epoch`` given those of the epoch before
    (PyTorch's chainable form), and may add ``_get_closed_form_lr`` for ``step(epoch)``.

    Args:
        optimizer: the optimizer whose learning rates this scheduler sets.
        last_epoch: the index of the last epoch done; ``-1`` starts a fresh schedule. A value
            ``>= 0`` resumes one, and needs ``"initial_lr"`` in every group.

    Class attributes ``per_batch`` and ``needs_metric`` tell a training loop when and how to
    call :meth:`step` (see the module docstring).
    """

    #: Stepped after every batch rather than every epoch.
    per_batch = False
    #: ``step(value)`` takes the monitored quantity (``fit`` passes val_loss, else loss).
    needs_metric = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', needed to "
                        f"resume with last_epoch={last_epoch}; load the optimizer's state dict "
                        f"first, or start with last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Set the rates for epoch ``last_epoch + 1`` (0 for a fresh schedule), on creation
        and when :class:`SequentialLR` hands over to this scheduler."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one epoch and set the optimizer's learning rates.

        Args:
            epoch: deprecated (as in PyTorch): jump to this epoch using the closed form.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(
                "passing an epoch to scheduler.step() is deprecated (as in PyTorch); call "
                "step() once per epoch instead",
                UserWarning,
                stacklevel=2,
            )
        self._update_lr(epoch)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # chainrule's own schedulers warn when get_lr() is called outside step(), as
        # PyTorch's do (a user's get_lr is left alone, as in PyTorch)
        get_lr = cls.__dict__.get("get_lr")
        if get_lr is not None and cls.__module__.startswith("chainrule.optim."):
            cls.get_lr = _warn_outside_step(get_lr)

    def _within_step(self, compute) -> list:
        """``compute()`` (get_lr or the closed form), as step() calls it: without the warning."""
        self._get_lr_called_within_step = True
        try:
            return compute()
        finally:
            self._get_lr_called_within_step = False

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self._within_step(self.get_lr)
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = self._within_step(closed_form or self.get_lr)
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer, copied (plain data, fit for a checkpoint)."""
        return {
            key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by :meth:`state_dict`."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def _group_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


def _warn_outside_step(get_lr):
    @functools.wraps(get_lr)
    def get_lr_checked(self):
        if not self.__dict__.get("_get_lr_called_within_step", False):
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()` (get_lr() outside step() computes the next rate from the "
                "current one, as in PyTorch)",
                UserWarning,
                stacklevel=2,
            )
        return get_lr(self)

    return get_lr_checked


class _LRScheduler(LRScheduler):
    """PyTorch's old name of :class:`LRScheduler`, which custom schedulers written before
    PyTorch 2.0 subclass (``class Warmup(lr_scheduler._LRScheduler)``); a subclass, as in
    PyTorch, so its ``__name__`` stays ``_LRScheduler``."""


def _integer(owner: str, name: str, value: Any, low: int = 1) -> int:
    """An integer argument ``>= low``: ``int``, NumPy integers and integral floats (``2.0``)
    are taken, as PyTorch takes them; a fraction or a bool is refused with the argument named."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _per_group(owner: str, name: str, optimizer: Optimizer, value) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{owner}: {name} needs one value per parameter group "
                f"({len(optimizer.param_groups)}), got {len(value)}"
            )
        return list(value)
    return [value] * len(optimizer.param_groups)
