"""``torch.nn.modules.pixelshuffle``'s path: pixel shuffles (``chainrule.nn``'s classes)."""

from chainrule.nn import PixelShuffle, PixelUnshuffle

__all__ = [
    "PixelShuffle",
    "PixelUnshuffle",
]
