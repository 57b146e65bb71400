"""``torch.nn.modules.adaptive``'s path: the adaptive softmax (``chainrule.nn``'s classes)."""

from chainrule.nn import AdaptiveLogSoftmaxWithLoss

__all__ = [
    "AdaptiveLogSoftmaxWithLoss",
]
