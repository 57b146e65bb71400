"""Weight averaging, PyTorch's ``torch.optim.swa_utils``: :class:`AveragedModel` (stochastic
weight averaging, or an exponential moving average of the weights), :class:`SWALR` and
:func:`update_bn`.

An averaged model is a copy of the network whose weights are the mean (SWA) or an exponential
moving average (EMA) of the weights the training run passed through. It often generalizes
better than the last weights, at no cost to training: ``ema.update_parameters(model)`` after
each optimizer step. The update rules and their arithmetic are PyTorch's, so the averaged
weights agree with PyTorch's run (bit for bit in float64 with the default and ``avg_fn``
rules; the EMA ``multi_avg_fn`` uses ``lerp``, which PyTorch fuses into one rounding).

Example:
    >>> import chainrule as cr
    >>> from chainrule import nn, optim
    >>> model = nn.Linear(2, 1)
    >>> ema = optim.swa_utils.AveragedModel(
    ...     model, multi_avg_fn=optim.swa_utils.get_ema_multi_avg_fn(0.9))
    >>> ema.update_parameters(model)  # the first call copies the weights
    >>> int(ema.n_averaged)
    1
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d
from chainrule.optim.scheduler_base import LRScheduler, _check_optimizer, _per_group
from chainrule.tensor import Tensor

__all__ = [
    "AveragedModel",
    "SWALR",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:  # PyTorch's words
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def _write(target: Tensor, value) -> None:
    """``target.copy_(value)`` on the arrays: in place (optimizers keep their references),
    cast to the target's dtype as ``copy_`` casts (a float into an integer buffer truncates)."""
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    np.copyto(target.array, array, casting="unsafe")


def _lerp_in_place(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start += weight · (end − start), PyTorch's two formulas (see chainrule.ops.lerp)."""
    span = np.subtract(end, start)
    if abs(weight) < 0.5:
        np.add(start, np.multiply(span, weight), out=start)
    else:
        np.subtract(end, np.multiply(span, 1 - weight), out=start)


def _float32(integers: np.ndarray) -> np.ndarray:
    """An integer tensor in PyTorch's arithmetic with a float: the default dtype, float32."""
    return integers.astype(np.float32)


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An EMA rule for a list of parameters at once: W_ema ← decay·W_ema + (1 − decay)·W,
    written as ``lerp(W_ema, W, 1 − decay)`` (``AveragedModel(multi_avg_fn=...)``)."""
    _check_decay(decay)

    def ema_update(ema_params: list, current_params: list, _num_averaged) -> None:
        for ema, current in zip(ema_params, current_params):
            if ema.array.dtype.kind in "fc":
                _lerp_in_place(ema.array, current.array, 1 - decay)
            else:  # integer buffers (use_buffers=True): PyTorch's product form, truncated
                _write(ema, _float32(ema.array) * decay + _float32(current.array) * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """The running mean for a list of parameters: W_avg ← W_avg + (W − W_avg)/(n + 1), as
    ``lerp(W_avg, W, 1/(n + 1))``."""

    def swa_update(averaged_params: list, current_params: list, num_averaged) -> None:
        if isinstance(num_averaged, Tensor):
            # PyTorch's 1 / (n + 1) of an int64 tensor is a float32 tensor: the weight is
            # rounded to float32 before the lerp, in float64 models too
            weight = float(np.float32(1) / np.float32(int(num_averaged.item()) + 1))
        else:
            weight = 1 / (num_averaged + 1)
        for averaged, current in zip(averaged_params, current_params):
            if averaged.array.dtype.kind not in "fc":  # PyTorch's addcdiv refuses integers
                raise RuntimeError(
                    "get_swa_multi_avg_fn: integer tensors cannot be averaged (PyTorch's "
                    "addcdiv refuses integer division); average float tensors only, or "
                    "AveragedModel(use_buffers=False) to copy integer buffers"
                )
            _lerp_in_place(averaged.array, current.array, weight)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """An EMA rule for one parameter: returns decay·W_ema + (1 − decay)·W."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, _num_averaged) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """The running mean for one parameter: returns W_avg + (W − W_avg)/(n + 1)."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def _running_mean(averaged: np.ndarray, current: np.ndarray, count: int) -> np.ndarray:
    """get_swa_avg_fn's rule on arrays; integers (an averaged step counter) are divided as
    PyTorch divides int64 tensors, in float32, then truncated by the write."""
    if averaged.dtype.kind in "fc":
        return averaged + (current - averaged) / (count + 1)
    step = _float32(current - averaged) / np.float32(count + 1)
    return _float32(averaged) + step


class AveragedModel(Module):
    """A copy of ``model`` whose weights are the average of the weights it is given.

    Args:
        model: the network to average (it is deep-copied; the copy is ``self.module``).
        device: PyTorch's; only the CPU (or None) is taken.
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> Tensor`` for one parameter.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)`` updating a
            list of parameters of one dtype in place. Neither: the running mean (SWA).
        use_buffers: average the buffers too (BatchNorm's running statistics); otherwise
            they are copied from ``model`` at each update.

    ``update_parameters(model)`` after an optimizer step: the first call copies the weights,
    later ones apply the rule. ``n_averaged`` (an int64 buffer) counts the calls.
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
        if avg_fn is not None and multi_avg_fn is not None:  # PyTorch's words
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if not isinstance(model, Module):
            raise TypeError(
                f"AveragedModel: expected an nn.Module to average, got {type(model).__name__}"
            )
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module.to(device)  # checks that it is the CPU
        self.register_buffer("n_averaged", Tensor._make(np.array(0, dtype=np.int64), False))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """The averaged network's output."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average (see the class docstring)."""
        if self.use_buffers:
            ours = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            ours, theirs = list(self.parameters()), list(model.parameters())
        if len(ours) != len(theirs):
            raise ValueError(
                f"AveragedModel.update_parameters: the model has {len(theirs)} tensors to "
                f"average and the averaged copy {len(ours)}; pass the model it was made from"
            )
        for mine, other in zip(ours, theirs):
            if mine.array.shape != other.array.shape:
                raise ValueError(
                    f"AveragedModel.update_parameters: a tensor of shape {other.array.shape} "
                    f"where the averaged copy has {mine.array.shape}; pass the model it was "
                    f"made from"
                )
        n = int(self.n_averaged.array)
        with no_grad():
            if n == 0:
                for mine, other in zip(ours, theirs):
                    _write(mine, other.array)
            else:
                self._average([p.detach() for p in ours], [p.detach() for p in theirs])
            if not self.use_buffers:  # the copy's buffers follow the model's
                for mine, other in zip(self.module.buffers(), model.buffers()):
                    _write(mine, other.array)
        self.n_averaged.array[...] = n + 1

    def _average(self, ours: list, theirs: list) -> None:
        if self.multi_avg_fn is None and self.avg_fn is not None:
            for mine, other in zip(ours, theirs):
                _write(mine, self.avg_fn(mine, other, self.n_averaged))
            return
        groups: dict = {}  # dtype → (ours, theirs), in order of first appearance, as PyTorch
        for mine, other in zip(ours, theirs):
            pair = groups.setdefault(mine.array.dtype, ([], []))
            pair[0].append(mine)
            pair[1].append(other)
        for mine_list, other_list in groups.values():
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(mine_list, other_list, self.n_averaged)
            else:  # PyTorch's CPU path: avg_fn's running mean, one tensor at a time
                count = int(self.n_averaged.array)
                for mine, other in zip(mine_list, other_list):
                    _write(mine, _running_mean(mine.array, other.array, count))


def update_bn(loader: Iterable, model: Module, device=None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` in one pass over ``loader``.

    The averaged weights never saw the statistics the BatchNorm layers kept during training:
    this resets them and runs the model in training mode with ``momentum=None`` (the plain
    mean over all batches), then restores each layer's momentum and the model's mode. Each
    batch is a tensor, or a list/tuple whose first element is the input.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, BatchNorm1d):  # BatchNorm1d, 2d and 3d (and the lazy ones)
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps, then hold.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        swa_lr: the rate to reach (one number, or one per parameter group).
        anneal_epochs: steps of the annealing (0: ``swa_lr`` at once).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        last_epoch: PyTorch's resume index.
    """

    def __init__(
        self,
        optimizer,
        swa_lr,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ):
        _check_optimizer("SWALR", optimizer)
        swa_lrs = _per_group("SWALR", "swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):  # PyTorch's words
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        """The rates for this step: the interpolation between the rate the annealing started
        from (recovered from the current one) and ``swa_lr``."""
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        start = [self._initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, start)]
