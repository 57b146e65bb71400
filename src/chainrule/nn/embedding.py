"""Embedding: a lookup table from integer ids to learned vectors, with PyTorch's options:
``padding_idx`` (a row without gradient), ``max_norm`` (looked-up rows renormalised in place)
and ``scale_grad_by_freq`` (each row's gradient divided by how often its id was looked up)."""

from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn._util import check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.ops._util import check_int
from chainrule.random import Generator
from chainrule.tensor import Tensor


class PaddedLookup(Function):
    """Rows ``weight[ids]``, the row ``padding_idx`` (if any) getting no gradient (PyTorch's
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

    def _row_factors(self, dtype) -> np.ndarray:
        """Each row's factor on its gradient: 0 for the padding row, else 1."""
        factors = np.ones((self.shape[0],) + (1,) * (len(self.shape) - 1), dtype)
        if self.padding_idx is not None:
            factors[self.padding_idx] = 0
        return factors

    def backward(self, grad):
        grad_weight = np.zeros(self.shape, dtype=self.dtype)
        np.add.at(grad_weight, self.ids, grad)
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0
        return (grad_weight,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.getitem import PlaceAt

        grad_weight = PlaceAt.apply(grad, shape=self.shape, index=self.ids, advanced=True)
        return (grad_weight * Tensor._make(self._row_factors(grad.dtype), False),)


class FrequencyScaledLookup(PaddedLookup):
    """Rows ``weight[ids]`` whose gradient is divided by how often each id occurs in ``ids``
    (PyTorch's ``scale_grad_by_freq``), the padding row's held at 0."""

    formulas = ("1/(times the id is looked up) at the looked-up rows, 0 for the padding row",)

    def _row_factors(self, dtype) -> np.ndarray:
        counts = np.bincount(self.ids.reshape(-1), minlength=self.shape[0])
        factors = super()._row_factors(dtype)
        factors[counts > 0] /= counts[counts > 0].reshape((-1,) + factors.shape[1:])
        return factors

    def backward(self, grad):
        grad_weight = np.zeros(self.shape, dtype=self.dtype)
        # each looked-up gradient scaled before it is added, in PyTorch's order
        np.add.at(grad_weight, self.ids, grad * self._row_factors(grad.dtype)[self.ids])
        return (grad_weight,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (FrequencyScaledGradient.apply(grad, lookup=self),)


class FrequencyScaledGradient(Function):
    """A frequency-scaled lookup's weight gradient as an op (second derivatives). Its own
    derivative is PyTorch's (``embedding_dense_double_backward``): the rows gathered back
    without the 1/count, which the lookup's backward applies on the way down, so a gradient
    penalty through the lookup gets PyTorch's values."""

    saves_inputs = False  # backward reads the lookup's ids only

    label = "embedding gradient"
    formulas = ("1 at the looked-up rows, 0 where the id is the padding row",)

    def forward(self, grad, lookup):
        self.ids, self.padding_idx = lookup.ids, lookup.padding_idx
        return lookup.backward(grad)[0]

    def _keep(self, dtype) -> np.ndarray:
        return (self.ids != self.padding_idx).astype(dtype)[..., None]

    def backward(self, grad):
        rows = grad[self.ids]
        return (rows if self.padding_idx is None else rows * self._keep(rows.dtype),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for third derivatives)."""
        from chainrule.ops.getitem import GetItem

        rows = GetItem.apply(grad, index=self.ids, advanced=True)
        if self.padding_idx is None:
            return (rows,)
        return (rows * Tensor._make(self._keep(grad.dtype), False),)


class Embedding(Module):
    """Row ``i`` of ``weight`` is the vector for id ``i``; weights start as N(0, 1).

    Args:
        num_embeddings: how many ids (rows).
        embedding_dim: length of each vector.
        padding_idx: an id whose vector gets no gradient (its row starts at zero; its lookups
            return whatever the row holds, as in PyTorch).
        max_norm: each forward pass first renormalises the looked-up rows of ``weight`` whose
            ``norm_type``-norm exceeds it to that norm, in place and without gradient, as
            PyTorch's.
        norm_type: the p of the p-norm ``max_norm`` bounds (2 by default).
        scale_grad_by_freq: divide each row's gradient by how often its id occurs in the batch.
        sparse: PyTorch's sparse gradients; chainrule has only dense ones (``True`` raises).
        _weight: PyTorch's way to start from given rows, ``(num_embeddings, embedding_dim)``:
            the weight shares its memory and the padding row is left as given.
        _freeze: with ``_weight``, a weight that requires no gradient.
        device: the CPU only, as every layer's.
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
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight=None,
        _freeze: bool = False,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        check_device(device)
        _refuse_sparse(sparse)
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
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is not None:
            self.weight = _given_weight(_weight, shape, _freeze)
            return
        self.weight = Parameter(np.empty(shape, float_dtype(dtype)))
        init.normal_(self.weight, generator=generator)
        if padding_idx is not None:
            self.weight.array[padding_idx] = 0

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            _layer=self,
        )

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
        _refuse_sparse(sparse)
        weight = embeddings.array if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if weight.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be 2-D (ids, dim), got shape "
                f"{weight.shape}"
            )
        return cls(
            *weight.shape,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            _weight=weight,
            _freeze=freeze,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text

    def _config(self) -> dict:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "max_norm": self.max_norm,
            "norm_type": str(self.norm_type) if np.isinf(self.norm_type) else self.norm_type,
            "scale_grad_by_freq": self.scale_grad_by_freq,
            "dtype": str(self.weight.array.dtype),
        }


def _given_weight(weight, shape: tuple, freeze: bool) -> Parameter:
    """``_weight`` as the Parameter itself, sharing memory as PyTorch's ``Parameter(_weight)``."""
    array = weight.array if isinstance(weight, Tensor) else np.asarray(weight)
    if array.shape != shape:
        raise ShapeError(
            f"Embedding: _weight of shape {array.shape} does not match num_embeddings and "
            f"embedding_dim {shape}"
        )
    float_dtype(array.dtype)  # a float32 or float64 weight, as the layers hold
    parameter = Parameter(array, requires_grad=not freeze)
    parameter.array = array
    return parameter


def _refuse_sparse(sparse) -> None:
    from chainrule.errors import NotSupportedError

    if sparse:
        raise NotSupportedError(
            "Embedding: sparse=True (sparse gradients) is not supported by chainrule; use "
            "sparse=False, the default: the gradient is a dense (num_embeddings, dim) array"
        )


def renorm_rows_(weight, ids: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_`` on the tensor ``weight``: :func:`renorm_array_` of the
    looked-up rows, outside the graph; the weight's version ticks once."""
    from chainrule.autograd.grad_mode import refuse_outside_inference
    from chainrule.autograd.inplace import bump

    if weight.array.dtype.kind != "f":
        raise DTypeError(
            f"Embedding: max_norm needs a floating-point weight, got {weight.array.dtype}; use "
            f"weight.float()"
        )
    refuse_outside_inference(weight, "Embedding(max_norm=...)")
    renorm_array_(weight.array, np.unique(ids), max_norm, norm_type)
    bump(weight)


def renorm_array_(array: np.ndarray, rows: np.ndarray, max_norm: float, norm_type: float):
    """Each of ``rows`` of ``array`` whose ``norm_type``-norm exceeds ``max_norm`` scaled in
    place by ``max_norm / (norm + 1e-7)``, as PyTorch's (so a row is renormalised once)."""
    norms = np.linalg.norm(array[rows], ord=norm_type, axis=1).astype(np.float64)
    over = norms > max_norm
    if over.any():
        scale = (max_norm / (norms[over] + 1e-7)).astype(array.dtype)
        array[rows[over]] *= scale[:, None]


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
    gradient (its values are returned as they are). With ``max_norm`` the looked-up rows of
    ``weight`` are first renormalised in place (see :class:`Embedding`);
    ``scale_grad_by_freq`` divides each row's gradient by how often its id occurs.

    Shape: integer ids (*), weight (num_embeddings, dim) → (*, dim).
    """
    _refuse_sparse(sparse)
    who = repr(_layer) if _layer is not None else "F.embedding"
    if isinstance(input, tuple) and hasattr(input, "batch_sizes"):
        raise DTypeError(  # NumPy would read the named tuple as a ragged list
            f"{who} got a PackedSequence; look up its ids and repack: "
            f"packed._replace(data=embedding(packed.data)), or embed the padded ids before "
            f"packing"
        )
    ids = input.array if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{who} needs integer ids, got dtype {ids.dtype}; use ids.long()")
    if len(weight.shape) != 2:
        raise ShapeError(
            f"{who}: 'weight' must be 2-D (num_embeddings, dim), as in PyTorch; got shape "
            f"{tuple(weight.shape)}"
        )
    rows = weight.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise IndexError(f"{who} got id {int(bad)}; ids must be in [0, {rows})")
    if padding_idx is not None:
        padding_idx = check_int(padding_idx, "padding_idx", who)  # 1.0 is not a row
        if not -rows <= padding_idx < rows:
            raise ValueError(f"{who}: padding_idx must be within num_embeddings, got {padding_idx}")
        padding_idx %= rows
    if max_norm is not None:
        renorm_rows_(weight, ids, max_norm, norm_type)
    if scale_grad_by_freq:
        return FrequencyScaledLookup.apply(weight, ids=ids, padding_idx=padding_idx)
    if padding_idx is None:
        return ops.getitem(weight, ids)
    return PaddedLookup.apply(weight, ids=ids, padding_idx=padding_idx)
