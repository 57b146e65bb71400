"""One training step, written once: forward, loss, backward, optimizer step, with the guard.

``cr.fit``, the playground's ``Session.step`` and anyone else who trains one batch at a time
call :func:`train_step`, so the step they take is the same step, checked the same way::

    optimizer.zero_grad()
    out = model(x)                    # forward pass
    loss = loss_fn(out, y)            # the loss of this batch
    loss.backward()                   # the chain rule, layer by layer
    optimizer.step()                  # w <- w - lr * dL/dw
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chainrule.tensor import Tensor
from chainrule.train.batches import fit_target
from chainrule.train.guard import FiniteGuard
from chainrule.train.weighting import weighted_loss

__all__ = ["StepResult", "train_step"]


class StepResult(NamedTuple):
    """What one step gives back: the batch loss as a float and the model's output tensor."""

    loss: float
    output: Tensor


def train_step(
    model,
    loss_fn,
    optimizer,
    x,
    y,
    *,
    guard: FiniteGuard | None = None,
    forward=None,
    after_backward=None,
    sample_weight=None,
) -> StepResult:
    """Train ``model`` on one batch: one forward pass, one backward pass, one update.

    Args:
        model: the ``nn.Module`` being trained.
        loss_fn: ``loss_fn(output, target)`` → scalar tensor (a loss module or function).
        optimizer: the optimizer over the model's parameters.
        x: the input batch (a tensor, or an array already in the model's dtype).
        y: the target batch (an array). ``(N,)`` targets become ``(N, 1)`` for a model with one
            output, as in ``fit``.
        guard: a :class:`~chainrule.train.guard.FiniteGuard` (``None``: no checks). It raises
            :class:`~chainrule.NonFiniteError` at a non-finite loss (before ``backward``), a
            non-finite gradient (before the update: the weights stay as they were) or a
            non-finite parameter after the update.
        forward: what to call instead of ``model`` for the forward pass (e.g. a
            data-parallel wrapper around it).
        after_backward: called between ``backward`` and the checks of the gradients (e.g. to
            average gradients over processes).
        sample_weight: one weight >= 0 per sample of the batch (``None``: all equal). The loss
            is then the weighted mean Σ wᵢ·lᵢ / Σ wᵢ of the per-sample losses (see
            :func:`chainrule.train.weighting.weighted_loss`).

    Returns:
        A :class:`StepResult`: ``(loss, output)``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> from chainrule.train.step import train_step
        >>> model = nn.Linear(2, 1)
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> X, y = cr.datasets.xor()
        >>> result = train_step(model, nn.BCEWithLogitsLoss(), opt, X.astype("float32"), y)
        >>> result.loss > 0
        True
    """
    if not isinstance(x, Tensor):
        x = Tensor._make(np.asarray(x), False)
    y = np.asarray(y)
    optimizer.zero_grad()
    out = (forward or model)(x)
    target = Tensor._make(fit_target(out.array, y), False)
    if sample_weight is None:
        loss = loss_fn(out, target)
    else:
        loss = weighted_loss(loss_fn, out, target, sample_weight)
    value = float(loss.array)
    if guard is not None:
        guard.check_loss(value, x.array, y)
    loss.backward()
    if after_backward is not None:
        after_backward()
    if guard is not None:
        guard.check_gradients(value)
    optimizer.step()
    if guard is not None:
        guard.check_parameters(value)
    return StepResult(value, out)
