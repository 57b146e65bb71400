"""``torch.nn.modules.fold``'s path: Fold and Unfold (``chainrule.nn``'s classes)."""

from chainrule.nn import Fold, Unfold

__all__ = [
    "Fold",
    "Unfold",
]
