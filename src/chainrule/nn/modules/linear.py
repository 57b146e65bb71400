"""``torch.nn.modules.linear``'s path: linear layers (``chainrule.nn``'s classes)."""

from chainrule.nn import Bilinear, Identity, LazyLinear, Linear

__all__ = [
    "Bilinear",
    "Identity",
    "LazyLinear",
    "Linear",
]
