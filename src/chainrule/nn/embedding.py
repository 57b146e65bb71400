"""Embedding: a lookup table from integer ids to learned vectors."""

from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError
from chainrule.nn import init
from chainrule.nn._util import check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.random import Generator
from chainrule.tensor import Tensor


class PaddedLookup(Function):
    """Rows ``weight[ids]``, the row ``padding_idx`` getting no gradient (PyTorch's
    ``padding_idx``: the lookup returns the row's values, only its gradient is held at 0)."""

    saves_inputs = False  # backward reads the ids and shapes only

    label = "embedding"
    formulas = ("1 at the looked-up rows, 0 for the padding row",)

    def forward(self, weight, ids, padding_idx):
        self.shape, self.dtype, self.ids, self.padding_idx = (
            weight.shape,
            weight.dtype,
            ids,
            padding_idx,
        )
        return weight[ids]

    def backward(self, grad):
        grad_weight = np.zeros(self.shape, dtype=self.dtype)
        np.add.at(grad_weight, self.ids, grad)
        grad_weight[self.padding_idx] = 0
        return (grad_weight,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.getitem import PlaceAt

        grad_weight = PlaceAt.apply(grad, shape=self.shape, index=self.ids, advanced=True)
        keep = np.ones((self.shape[0],) + (1,) * (len(self.shape) - 1), grad.dtype)
        keep[self.padding_idx] = 0
        return (grad_weight * Tensor._make(keep, False),)


class Embedding(Module):
    """Row ``i`` of ``weight`` is the vector for id ``i``; weights start as N(0, 1).

    Args:
        num_embeddings: how many ids (rows).
        embedding_dim: length of each vector.
        padding_idx: an id whose vector gets no gradient (its row starts at zero; its lookups
            return whatever the row holds, as in PyTorch).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape: integer ids (*) → (*, embedding_dim).

    Example:
        >>> import chainrule as cr, numpy as np
        >>> cr.nn.Embedding(10, 3)(np.array([[1, 2], [4, 9]])).shape
        (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if (
                isinstance(padding_idx, bool)
                or not isinstance(padding_idx, int)
                or not (-self.num_embeddings <= padding_idx < self.num_embeddings)
            ):
                raise ValueError(
                    f"Embedding: padding_idx must be an id in [0, {self.num_embeddings}), got "
                    f"{padding_idx!r}"
                )
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        dtype = float_dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        init.normal_(self.weight, generator=generator)
        if padding_idx is not None:
            self.weight.array[padding_idx] = 0

    def forward(self, ids):
        return embedding(ids, self.weight, self.padding_idx, _layer=self)

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm=None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose ``weight`` is ``embeddings`` (rows = ids), as PyTorch's.

        The weight shares memory with ``embeddings``; ``freeze=True`` (the default) makes it
        require no gradient. The padding row is left as given (PyTorch does not zero it).

        Example:
            >>> import chainrule as cr
            >>> cr.nn.Embedding.from_pretrained(cr.eye(3))(cr.tensor([2])).tolist()
            [[0.0, 0.0, 1.0]]
        """
        _refuse_options(max_norm, scale_grad_by_freq, sparse)
        weight = embeddings.array if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if weight.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be 2-D (ids, dim), got shape "
                f"{weight.shape}"
            )
        layer = cls(*weight.shape, padding_idx=padding_idx, dtype=float_dtype(weight.dtype))
        layer.weight = Parameter(weight, requires_grad=not freeze)
        layer.weight.array = weight  # share memory, as PyTorch's Parameter(embeddings) does
        return layer

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"

    def _config(self) -> dict:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "dtype": str(self.weight.array.dtype),
        }


def _refuse_options(max_norm, scale_grad_by_freq, sparse) -> None:
    from chainrule.errors import NotSupportedError

    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotSupportedError(
            "Embedding: max_norm, scale_grad_by_freq and sparse are not supported by "
            "chainrule; renormalise the rows under cr.no_grad() yourself, and use dense "
            "gradients (the default)"
        )


def embedding(
    input,  # noqa: A002 - PyTorch's argument name
    weight,
    padding_idx: int | None = None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
    _layer=None,
) -> Tensor:
    """PyTorch's ``F.embedding``: rows ``weight[input]``; the row ``padding_idx`` gets no
    gradient (its values are returned as they are).

    Shape: integer ids (*), weight (num_embeddings, dim) → (*, dim).
    """
    _refuse_options(max_norm, scale_grad_by_freq, sparse)
    who = repr(_layer) if _layer is not None else "F.embedding"
    ids = input.array if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{who} needs integer ids, got dtype {ids.dtype}; use ids.long()")
    rows = weight.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise IndexError(f"{who} got id {int(bad)}; ids must be in [0, {rows})")
    if padding_idx is None:
        return ops.getitem(weight, ids)
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{who}: padding_idx must be within num_embeddings, got {padding_idx}")
    return PaddedLookup.apply(weight, ids=ids, padding_idx=padding_idx % rows)
