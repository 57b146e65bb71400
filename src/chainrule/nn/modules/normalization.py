"""``torch.nn.modules.normalization``'s path: LayerNorm, GroupNorm, RMSNorm, LRN."""

from chainrule.nn import GroupNorm, LayerNorm, LocalResponseNorm, RMSNorm

__all__ = [
    "LocalResponseNorm",
    "LayerNorm",
    "GroupNorm",
    "RMSNorm",
]
