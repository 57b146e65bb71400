"""``torch.nn.modules.upsampling``'s path: upsampling (``chainrule.nn``'s classes)."""

from chainrule.nn import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
]
