"""``torch.nn.modules.flatten``'s path: Flatten and Unflatten (``chainrule.nn``'s classes)."""

from chainrule.nn import Flatten, Unflatten

__all__ = [
    "Flatten",
    "Unflatten",
]
