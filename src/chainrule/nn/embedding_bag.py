"""EmbeddingBag: an Embedding whose looked-up rows are summed, averaged or max-pooled per bag
(PyTorch's ``nn.EmbeddingBag`` and ``F.embedding_bag``), without building the looked-up rows.

Bags come as a 2-D input (B, L): B bags of L ids each; or as a 1-D input of ids with
``offsets``, where each bag starts (``include_last_offset=True``: one more offset, the end).
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.errors import DTypeError, IndexOutOfRangeError, NotSupportedError, ShapeError
from chainrule.nn import init
from chainrule.nn._util import check_size, float_dtype
from chainrule.nn.embedding import renorm_rows_
from chainrule.nn.module import Module, Parameter
from chainrule.ops import embedding_bag as _op
from chainrule.ops._util import check_int, operand
from chainrule.random import Generator
from chainrule.tensor import Tensor

MODES = ("sum", "mean", "max")


def _array(value) -> np.ndarray:
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def _refuse_sparse(sparse, who: str) -> None:
    if sparse:
        raise NotSupportedError(
            f"{who}: sparse=True (sparse gradients) is not supported by chainrule; use "
            f"sparse=False, the default: the gradient is a dense (num_embeddings, dim) array"
        )


def _check_ids(ids: np.ndarray, what: str) -> None:
    if ids.dtype.kind not in "iu":
        raise DTypeError(
            f"embedding_bag expects integer {what} (int32 or int64), got dtype {ids.dtype}; "
            f"use .long()"
        )


def _layout(ids: np.ndarray, offsets, include_last_offset: bool) -> tuple:
    """(flat ids, bag of each id, each bag's start, each bag's length) from a 2-D input or a
    1-D input with offsets, checked as PyTorch checks them (and a little more)."""
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                f"mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        n_bags, length = ids.shape
        if length == 0 and n_bags:
            raise ShapeError(
                f"embedding_bag: a 2-D input of shape {ids.shape} holds empty bags of length 0; "
                f"pass a 1-D input with offsets for empty bags"
            )
        starts = np.arange(n_bags, dtype=np.int64) * length
        lengths = np.full(n_bags, length, np.int64)
    elif ids.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = _array(offsets)
        if starts.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        _check_ids(starts, "offsets")
        starts = starts.astype(np.int64)
        if include_last_offset:
            if not starts.size:
                raise ShapeError(
                    "embedding_bag: include_last_offset=True needs offsets holding the bags' "
                    "starts and then the end; got empty offsets"
                )
            bounds, starts = starts, starts[:-1]
        else:
            bounds = starts
        if bounds.size and bounds[0] != 0:
            raise ShapeError(
                f"embedding_bag: offsets[0] has to be 0, i.e., the first bag has to start at "
                f"position 0; got {int(bounds[0])}"
            )
        if bounds.size and bounds[-1] > ids.size:
            raise ShapeError(
                f"embedding_bag: offsets[-1] can not be greater than the input's length "
                f"{ids.size}, but got offsets[-1] of {int(bounds[-1])}"
            )
        if np.any(np.diff(bounds) < 0):
            raise ShapeError(
                f"embedding_bag: offsets must not decrease (each bag starts where the one "
                f"before ends); got {bounds.tolist()}"
            )
        if not starts.size and ids.size:
            raise ShapeError(
                f"embedding_bag: offsets hold no bag start but the input holds {ids.size} ids"
            )
        # the last bag runs to the end of the input, as PyTorch's (its last offset is not read)
        lengths = np.diff(np.append(starts, ids.size))
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {ids.ndim}")
    flat = ids.reshape(-1).astype(np.int64)
    return flat, np.repeat(np.arange(len(starts)), lengths), starts, lengths


def _check_mode(mode, scale_grad_by_freq, sparse, per_sample_weights) -> None:
    if mode not in MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    _refuse_sparse(sparse, "embedding_bag")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights is only supported for mode='sum' (got "
            f"mode='{mode}'); multiply the rows yourself, or use mode='sum'"
        )


def _check_padding(padding_idx, rows: int):
    if padding_idx is None:
        return None
    padding_idx = check_int(padding_idx, "padding_idx", "embedding_bag")  # 1.0 is not a row
    if not -rows <= padding_idx < rows:
        raise ValueError(
            f"padding_idx must be within the number of embeddings, -{rows} through {rows - 1}, "
            f"but got {padding_idx}"
        )
    return padding_idx % rows


def embedding_bag(
    input,  # noqa: A002 - PyTorch's name
    weight,
    offsets=None,
    max_norm=None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights=None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The rows of ``weight`` for the ids of each bag, reduced by ``mode`` (``'sum'``,
    ``'mean'`` or ``'max'``), as ``torch.nn.functional.embedding_bag``.

    A 2-D ``input`` (B, L) is B bags of L ids; a 1-D ``input`` needs ``offsets``, the position
    where each bag starts (``offsets[0]`` is 0; with ``include_last_offset=True`` one more
    entry, the end, is given and the last bag runs to the end of the input, as PyTorch's).
    ``per_sample_weights`` (the input's shape, ``mode='sum'`` only) scales each looked-up row.
    ``padding_idx`` ids are left out of their bag (not summed, not counted in the mean) and get
    no gradient; an empty bag gives zeros. ``max_norm`` renormalises the looked-up rows of
    ``weight`` in place first, as :class:`Embedding`. ``scale_grad_by_freq`` divides each row's
    gradient by a frequency, PyTorch's: its id's count in ``input`` while no smaller id
    repeats (PyTorch's CPU kernel then reads another id's count; chainrule gives its values).

    Shape: (B, embedding_dim). Gradients flow to ``weight`` and ``per_sample_weights``.

    Example:
        >>> import chainrule as cr
        >>> weight = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        >>> ids, offsets = cr.tensor([0, 2, 1]), cr.tensor([0, 2])
        >>> cr.nn.functional.embedding_bag(ids, weight, offsets, mode="sum").tolist()
        [[6.0, 8.0], [3.0, 4.0]]
    """
    weight_array, ids = _array(weight), _array(input)
    if weight_array.dtype.kind in "iu" and ids.dtype.kind == "f":
        warnings.warn(
            "Argument order of nn.functional.embedding_bag was changed. Usage "
            "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
            "`embedding_bag(input, weight, ...)`.",
            stacklevel=2,
        )
        input, weight, ids = weight, input, weight_array  # noqa: A001
    weight = operand(weight)
    psw = None if per_sample_weights is None else operand(per_sample_weights)
    if psw is not None and psw.shape != ids.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({psw.shape}) is not None, then it must have "
            f"the same shape as the input ({ids.shape})"
        )
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    _check_ids(ids, "input")
    layout = _layout(ids, offsets, include_last_offset)
    _check_mode(mode, scale_grad_by_freq, sparse, psw)
    return _apply(weight, psw, layout, max_norm, norm_type, scale_grad_by_freq, mode, padding_idx)


def _apply(weight, psw, layout, max_norm, norm_type, scale_grad_by_freq, mode, padding_idx):
    rows, dtype = weight.shape[0], weight.array.dtype
    if dtype.kind != "f":
        raise DTypeError(f"embedding_bag expects a floating-point weight, got dtype {dtype}")
    if psw is not None and psw.array.dtype != dtype:
        raise DTypeError(
            f"embedding_bag expects per_sample_weights of the weight's dtype {dtype}, got "
            f"{psw.array.dtype}"
        )
    ids = layout[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise IndexOutOfRangeError(
            f"embedding_bag got id {int(bad)}; ids must be in [0, {rows}) (num_embeddings)"
        )
    padding_idx = _check_padding(padding_idx, rows)
    if max_norm is not None:
        renorm_rows_(weight, ids, max_norm, norm_type)
    inputs = (weight,) if psw is None else (weight, psw.reshape(-1))
    return _op.EmbeddingBag.apply(
        *inputs,
        layout=layout,
        mode=mode,
        padding_idx=padding_idx,
        scale_grad_by_freq=bool(scale_grad_by_freq),
    )


class EmbeddingBag(Module):
    """Bags of ids to one vector each: the ids' rows of ``weight`` summed, averaged or
    max-pooled, as ``torch.nn.EmbeddingBag``; weights start as N(0, 1).

    Args:
        num_embeddings: how many ids (rows).
        embedding_dim: length of each vector.
        max_norm: looked-up rows whose ``norm_type``-norm exceeds it are renormalised in place
            first, as :class:`Embedding`'s.
        norm_type: the p of that p-norm (2 by default).
        scale_grad_by_freq: divide each row's gradient by how often its id occurs in the input
            (counted as PyTorch's CPU kernel counts, see :func:`embedding_bag`; not with
            ``mode='max'``).
        mode: ``'sum'``, ``'mean'`` (the default) or ``'max'``.
        sparse: PyTorch's sparse gradients; chainrule has only dense ones (``True`` raises).
        include_last_offset: ``offsets`` carries one more entry, the end of the last bag.
        padding_idx: an id left out of every bag (its row starts at zero, gets no gradient).
        dtype: float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape: (B, L) ids, or (N,) ids with (B,) offsets → (B, embedding_dim).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.EmbeddingBag(10, 3, mode="sum")(cr.tensor([[1, 2], [4, 9]])).shape
        (2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight=None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        from chainrule._device import check_device

        check_device(device)
        _refuse_sparse(sparse, "EmbeddingBag")
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "EmbeddingBag")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "EmbeddingBag")
        if mode not in MODES:
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got {mode!r}")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"EmbeddingBag: padding_idx must be within num_embeddings "
                    f"[-{self.num_embeddings}, {self.num_embeddings}), got {padding_idx!r}"
                )
            padding_idx %= self.num_embeddings
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.empty(shape, float_dtype(dtype)))
            init.normal_(self.weight, generator=generator)
            if padding_idx is not None:
                self.weight.array[padding_idx] = 0
        else:
            if tuple(_weight.shape) != shape:
                raise ShapeError(
                    f"EmbeddingBag: _weight of shape {tuple(_weight.shape)} does not match "
                    f"num_embeddings and embedding_dim {shape}"
                )
            array = _array(_weight)
            self.weight = Parameter(array)
            self.weight.array = array  # share memory, as PyTorch's Parameter(_weight) does

    def forward(self, input, offsets=None, per_sample_weights=None):  # noqa: A002
        return embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose ``weight`` is ``embeddings`` (rows = ids), as PyTorch's: the
        weight shares memory with ``embeddings``, ``freeze=True`` (the default) makes it
        require no gradient, and the padding row is left as given.

        Example:
            >>> import chainrule as cr
            >>> bag = cr.nn.EmbeddingBag.from_pretrained(cr.eye(3), mode="sum")
            >>> bag(cr.tensor([[0, 2]])).tolist()
            [[1.0, 0.0, 1.0]]
        """
        weight = _array(embeddings)
        if weight.ndim != 2:
            raise ValueError(
                f"EmbeddingBag.from_pretrained: embeddings must be 2-D (ids, dim), got shape "
                f"{weight.shape}"
            )
        float_dtype(weight.dtype)  # float32 or float64, as the layers hold
        layer = cls(
            *weight.shape,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            _weight=weight,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        layer.weight.requires_grad = not freeze
        return layer

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx!r}"
        return text

    def _config(self) -> dict:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "max_norm": self.max_norm,
            "norm_type": str(self.norm_type) if np.isinf(self.norm_type) else self.norm_type,
            "scale_grad_by_freq": self.scale_grad_by_freq,
            "mode": self.mode,
            "include_last_offset": self.include_last_offset,
            "padding_idx": self.padding_idx,
            "dtype": str(self.weight.array.dtype),
        }
