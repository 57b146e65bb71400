"""Similarity between two batches of vectors, as PyTorch's ``nn.CosineSimilarity``."""

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
