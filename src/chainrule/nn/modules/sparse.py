"""``torch.nn.modules.sparse``'s path: embeddings (``chainrule.nn``'s classes)."""

from chainrule.nn import Embedding, EmbeddingBag

__all__ = [
    "Embedding",
    "EmbeddingBag",
]
