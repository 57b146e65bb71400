"""Weight averaging, as ``torch.optim.swa_utils``: :class:`AveragedModel` (SWA and EMA copies of
a model), :func:`update_bn` and the :class:`SWALR` schedule.

The averages follow PyTorch's CPU arithmetic step for step: SWA as
``a + (θ − a)/(n + 1)``, the EMA multi-tensor function as PyTorch's ``lerp`` (two formulas,
chosen by the size of the weight), the single-tensor EMA as ``decay·a + (1 − decay)·θ``.
Integer buffers (BatchNorm's ``num_batches_tracked``, with ``use_buffers=True``) are averaged
in float32 and truncated, as PyTorch's integer tensors are.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.scheduler_base import LRScheduler, _per_group
from chainrule.tensor import Tensor

__all__ = [
    "AveragedModel",
    "SWALR",
    "update_bn",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start ← lerp(start, end, weight) in place, PyTorch's formula for each half of the range."""
    if start.dtype.kind != "f":  # PyTorch's integer path: float32 arithmetic, truncated
        mixed = start.astype(np.float32) * np.float32(1 - weight)
        start[...] = (mixed + end.astype(np.float32) * np.float32(weight)).astype(start.dtype)
        return
    w = np.asarray(weight, start.dtype)
    if abs(weight) < 0.5:
        start += w * (end - start)
    else:
        start[...] = end - (end - start) * (np.asarray(1, start.dtype) - w)


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An in-place EMA over lists of tensors: a ← decay·a + (1 − decay)·θ (PyTorch's ``lerp``)."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged) -> None:
        for ema, current in zip(ema_param_list, current_param_list):
            _lerp_(_array(ema), _array(current), 1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """An in-place equal-weight average over lists of tensors: a ← lerp(a, θ, 1/(n + 1)).

    As PyTorch's: with ``n`` a tensor (as :class:`AveragedModel` passes it) the weight is
    1/(n + 1) rounded to float32; integer tensors are refused (PyTorch raises too).
    """

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        if isinstance(num_averaged, Tensor):
            weight = float(np.float32(1) / np.float32(int(num_averaged.array) + 1))
        else:
            weight = 1 / (num_averaged + 1)
        for averaged, current in zip(averaged_param_list, current_param_list):
            if _array(averaged).dtype.kind != "f":
                raise TypeError(
                    f"get_swa_multi_avg_fn cannot average integer tensors (dtype "
                    f"{_array(averaged).dtype}), as PyTorch's cannot; leave use_buffers=False "
                    f"or use AveragedModel's default average"
                )
            _lerp_(_array(averaged), _array(current), weight)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """The EMA of one tensor, returned: decay·a + (1 − decay)·θ."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, _num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """The equal-weight average of one tensor, returned: a + (θ − a)/(n + 1)."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def _array(t) -> np.ndarray:
    return t.array if isinstance(t, Tensor) else np.asarray(t)


def _swa_(averaged: np.ndarray, current: np.ndarray, n: int) -> None:
    if averaged.dtype.kind != "f":  # integer ÷ integer is float32 in PyTorch, then truncated
        step = (current - averaged).astype(np.float32) / np.float32(n + 1)
        averaged[...] = (averaged.astype(np.float32) + step).astype(averaged.dtype)
    else:
        averaged += (current - averaged) / np.asarray(n + 1, averaged.dtype)


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running average of ``model``'s (SWA or EMA).

    :meth:`update_parameters` (call it after ``optimizer.step()``) copies ``model``'s values the
    first time and averages them in afterwards; ``n_averaged`` (a buffer, saved in
    ``state_dict``) counts the calls. Without ``use_buffers`` the buffers (BatchNorm's running
    statistics) are copied, not averaged: run :func:`update_bn` at the end.

    Args:
        model: the model to average; it is deep-copied.
        device: ``None`` or ``"cpu"`` (chainrule runs on the CPU).
        avg_fn: ``avg_fn(averaged, current, n_averaged)`` returns the new average of one
            tensor (:func:`get_ema_avg_fn`, ...); default: the equal-weight (SWA) average.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)`` updates the
            averages in place (:func:`get_ema_multi_avg_fn`, ...). Give one of the two at most.
        use_buffers: average the buffers together with the parameters.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim import swa_utils
        >>> model = cr.nn.Linear(2, 1)
        >>> ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
        >>> ema.update_parameters(model)
        >>> int(ema.n_averaged)
        1
    """

    def __init__(
        self,
        model: Module,
        device=None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", Tensor._make(np.array(0, dtype=np.int64), False))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers, with ``use_buffers``) in."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        pairs = [(a, b) for a, b in zip(mine, theirs) if a is not None and b is not None]
        n = int(self.n_averaged.array)
        with no_grad():
            if n == 0:
                for averaged, current in pairs:
                    averaged.array[...] = current.array
            elif self.avg_fn is not None:
                count = Tensor._make(np.array(n, dtype=np.int64), False)
                for averaged, current in pairs:
                    new = self.avg_fn(averaged.detach(), current.detach(), count)
                    averaged.array[...] = _array(new)
            elif self.multi_avg_fn is not None:
                count = Tensor._make(np.array(n, dtype=np.int64), False)
                self.multi_avg_fn(
                    [a.detach() for a, _ in pairs], [b.detach() for _, b in pairs], count
                )
            else:  # PyTorch's CPU default: get_swa_avg_fn tensor by tensor
                for averaged, current in pairs:
                    _swa_(averaged.array, current.array, n)
            if not self.use_buffers:
                for mine_b, theirs_b in zip(self.module.buffers(), model.buffers()):
                    if mine_b is not None and theirs_b is not None:
                        mine_b.array[...] = theirs_b.array
        self.n_averaged.array[...] = n + 1


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    The statistics are reset and accumulated as a plain average over the batches (momentum
    ``None``), in training mode; each batch is a tensor or a list/tuple whose first element is
    the input, as in PyTorch. The model's mode and the momenta are restored afterwards.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, BatchNorm1d):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs, then hold.

    PyTorch's formula: the rate moves from where it is towards ``swa_lr`` by the cosine
    (``"cos"``) or linear share of the annealing done; typically stepped once per epoch after
    SWA starts, with another scheduler before it.

    Args:
        optimizer: the optimizer to schedule.
        swa_lr: the final rate, one for all groups or a list with one per group.
        anneal_epochs: epochs of annealing (an integer >= 0).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = optim.swa_utils.SWALR(opt, 0.5, anneal_epochs=2, anneal_strategy="linear")
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for epoch in range(3):
        ...     opt.step()
        ...     sched.step()
        ...     lrs.append(sched.get_last_lr()[0])
        >>> lrs
        [1.0, 0.75, 0.5, 0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ):
        for lr, group in zip(
            _per_group("SWALR", "swa_lr", optimizer, swa_lr), optimizer.param_groups
        ):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        if (
            isinstance(anneal_epochs, bool)
            or not isinstance(anneal_epochs, int)
            or anneal_epochs < 0
        ):
            raise ValueError(f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs!r}")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        # the rate the annealing started from, recovered from the current one (PyTorch's form)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [
            group["swa_lr"] if prev_alpha == 1
            else (group["lr"] - prev_alpha * group["swa_lr"]) / (1 - prev_alpha)
            for group in groups
        ]  # fmt: skip
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(groups, prev_lrs)]
