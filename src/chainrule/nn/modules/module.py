"""``torch.nn.modules.module``'s path: the base class (``chainrule.nn``'s classes)."""

from chainrule.nn import Module

__all__ = [
    "Module",
]
