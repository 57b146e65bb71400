"""``torch.nn.modules.distance``'s path: distances (``chainrule.nn``'s classes)."""

from chainrule.nn import CosineSimilarity, PairwiseDistance

__all__ = [
    "PairwiseDistance",
    "CosineSimilarity",
]
