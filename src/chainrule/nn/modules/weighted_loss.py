"""``_WeightedLoss``: PyTorch's base of a loss with per-class weights, for losses users write."""

from __future__ import annotations

from chainrule.nn.loss import _Loss


class _WeightedLoss(_Loss):
    """A :class:`_Loss` with a ``weight`` buffer (``None`` or a tensor), as PyTorch's: a user's
    loss that subclasses it (``from torch.nn.modules.loss import _WeightedLoss``) runs as is.
    chainrule's own weighted losses (``CrossEntropyLoss``, ``NLLLoss``, ...) keep ``weight``
    the same way but do not derive from it."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
