"""Negative log-likelihood modules, as ``torch.nn``'s: ``PoissonNLLLoss`` and
``GaussianNLLLoss`` (their functions are in ``ops/loss_likelihood.py``) and ``CTCLoss``
(``ops/loss_ctc.py``)."""

from __future__ import annotations

from chainrule.nn.loss import _Loss
from chainrule.ops import loss_likelihood as _likelihood


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood: e^x − y·x for a log-rate x (``log_input=True``), else
    x − y·ln(x + eps); ``full`` adds Stirling's approximation of ln(y!) where y > 1.

    Args:
        log_input, full, eps: as :func:`chainrule.nn.functional.poisson_nll_loss`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: input (*), target broadcasting against it; output scalar, or the broadcast shape.

    Example:
        >>> import chainrule as cr
        >>> round(cr.nn.PoissonNLLLoss()(cr.tensor([0.0]), cr.tensor([2.0])).item(), 4)
        1.0
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average=None,
        eps: float = 1e-8,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return _likelihood.poisson_nll_loss(
            log_input,
            target,
            log_input=self.log_input,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
        )


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood ½·(ln v + (x − y)²/v), v = max(var, eps); ``full``
    adds ½·ln(2π).

    Args (keyword only): full, eps (default 1e-6), reduction.

    Shape: input (*), target broadcasting against it, var the input's shape, that shape
    without its last dimension, that shape with one dimension of size 1, or a float.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):  # noqa: A002 - PyTorch's name
        return _likelihood.gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class CTCLoss(_Loss):
    """The connectionist temporal classification loss over every alignment of a target with
    the input's time steps.

    Args:
        blank: the blank class (default 0).
        reduction: ``"mean"`` (each loss divided by its target length, then the batch mean),
            ``"sum"`` or ``"none"``.
        zero_infinity: infinite losses (targets too long for their input) and their
            gradients become 0.

    Shape: log_probs (T, N, C) or (T, C); targets (N, S) or concatenated (sum of lengths);
    input_lengths and target_lengths (N,) or one each; output scalar, or (N,) for ``"none"``.
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        from chainrule.ops.loss_ctc import ctc_loss

        return ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            blank=self.blank,
            reduction=self.reduction,
            zero_infinity=self.zero_infinity,
        )
