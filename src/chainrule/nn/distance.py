"""Similarity and distance between two batches of vectors, as PyTorch's
``nn.CosineSimilarity`` and ``nn.PairwiseDistance``."""

from __future__ import annotations

from chainrule.nn.module import Module


class CosineSimilarity(Module):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (a zero vector gives 0).

    Args:
        dim: the axis holding the vectors.
        eps: the smallest norm divided by.

    Shape: ``x1`` and ``x2`` broadcast to one shape; the output drops ``dim``.
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = int(dim), float(eps)

    def forward(self, x1, x2):
        from chainrule.ops.norm import cosine_similarity

        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """‖x1 − x2 + eps‖_p along the last dimension, as PyTorch's ``nn.PairwiseDistance``.

    Args:
        p: the norm's order (any number; ``inf``, ``-inf`` and 0 included).
        eps: added to the difference, so equal vectors keep a gradient.
        keepdim: keep the last dimension as size 1.

    Shape: ``x1`` and ``x2`` broadcast to one shape ``(..., D)``; the output is ``(...)``.
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = float(p), float(eps), bool(keepdim)

    def forward(self, x1, x2):
        from chainrule.ops.norm import pairwise_distance

        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
