"""Packed batches of variable-length sequences, as PyTorch's ``PackedSequence`` and its
``pack_padded_sequence`` and ``pad_packed_sequence`` (``rnn.py`` builds ``pack_sequence`` and
``unpack_sequence`` on them).

A packed batch holds only the real steps, time-major: the rows of step 0 of every sequence,
then step 1 of every sequence still running, ..., with the sequences sorted longest first
(``batch_sizes[t]`` rows at step t). Packing and padding are each one gather
(``index_select``) of the rows, so gradients flow back to the padded input and out of the
packed data. ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` take a packed batch and stop each
sequence at its own last step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chainrule.autograd.compile_hooks import per_call
from chainrule.errors import ArgumentError, ShapeError
from chainrule.ops.indexing import index_select
from chainrule.ops.shape import cat
from chainrule.tensor import Tensor


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _int64(values) -> Tensor:
    return Tensor._make(np.asarray(values, dtype=np.int64), False)


def _int_array(values) -> np.ndarray | None:
    if values is None:
        return None
    return np.asarray(values.array if isinstance(values, Tensor) else values, dtype=np.int64)


class PackedSequence(_PackedFields):
    """A packed batch: ``data`` (sum of lengths, *) holds the real steps time-major,
    ``batch_sizes[t]`` how many sequences reach step t, ``sorted_indices`` the original batch
    index of each sorted (longest-first) sequence and ``unsorted_indices`` its inverse (both
    None when the batch came sorted). Make one with :func:`pack_padded_sequence` or
    :func:`pack_sequence`, as in PyTorch; it is a named tuple, so ``data, batch_sizes, *_ =
    packed`` works."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ArgumentError(
                "PackedSequence: batch_sizes is required; make a packed batch with "
                "pack_padded_sequence(input, lengths) or pack_sequence(sequences)"
            )
        sizes = _int_array(batch_sizes)
        if sizes.ndim != 1 or np.any(sizes[1:] > sizes[:-1]) or (sizes.size and sizes[-1] < 1):
            raise ShapeError(
                f"PackedSequence: batch_sizes must be a 1-D run of positive, non-increasing "
                f"counts, got {sizes.tolist()}"
            )
        sorted_array = _int_array(sorted_indices)
        if unsorted_indices is None and sorted_array is not None:
            inverse = np.empty_like(sorted_array)
            inverse[sorted_array] = np.arange(sorted_array.size)
            unsorted_indices = inverse
        return super().__new__(
            cls,
            data,
            _int64(sizes),
            None if sorted_indices is None else _int64(sorted_array),
            None if unsorted_indices is None else _int64(_int_array(unsorted_indices)),
        )

    def __getitem__(self, key):
        if isinstance(key, slice) or hasattr(key, "__index__"):
            return super().__getitem__(key)  # the named tuple's fields: packed[0] is data
        raise TypeError(
            f"a PackedSequence is a named tuple (data, batch_sizes, sorted_indices, "
            f"unsorted_indices) and cannot be indexed with {key!r}; index its padded form: "
            f"padded, lengths = nn.utils.rnn.pad_packed_sequence(packed, batch_first=True) "
            f"(each sequence's last output is padded[arange(batch), lengths - 1], or h_n[-1])"
        )

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same batch with ``data.to(...)`` (a dtype); the indices stay int64."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace(data=data)

    # PyTorch's dtype shorthands: the data converted, the indices kept
    def float(self) -> PackedSequence:
        return self._replace(data=self.data.float())

    def double(self) -> PackedSequence:
        return self._replace(data=self.data.double())

    def half(self) -> PackedSequence:
        return self._replace(data=self.data.half())

    def long(self) -> PackedSequence:
        return self._replace(data=self.data.long())

    def int(self) -> PackedSequence:
        return self._replace(data=self.data.int())

    def short(self) -> PackedSequence:
        return self._replace(data=self.data.short())

    def char(self) -> PackedSequence:
        return self._replace(data=self.data.char())

    def byte(self) -> PackedSequence:
        return self._replace(data=self.data.byte())

    def cpu(self) -> PackedSequence:
        return self

    def pin_memory(self) -> PackedSequence:
        """As it is: pinned memory is for copies to a GPU, which chainrule has not."""
        return self

    def is_pinned(self) -> bool:
        return False

    @property
    def is_cuda(self) -> bool:
        return False


# ---- the row maps between a padded (T, B, *) batch in sorted order and the packed rows -------
def packed_rows(batch_sizes: np.ndarray) -> np.ndarray:
    """For each packed row, its row in the (T·B, *) flattening of the padded sorted batch."""
    batch = int(batch_sizes[0])
    steps = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    starts = np.cumsum(batch_sizes) - batch_sizes
    return steps * batch + np.arange(steps.size) - np.repeat(starts, batch_sizes)


def pack_rows(padded: Tensor, batch_sizes: np.ndarray) -> Tensor:
    """The packed data of a padded (T, B, *) batch already in sorted order."""
    flat = padded.reshape(padded.shape[0] * padded.shape[1], *padded.shape[2:])
    return index_select(flat, 0, packed_rows(batch_sizes))


def pad_rows(data: Tensor, batch_sizes: np.ndarray, steps: int, order=None, value=0.0) -> Tensor:
    """The padded (steps, B, *) batch of packed ``data``, the padding filled with ``value``;
    column j is sorted sequence ``order[j]`` (sorted order when ``order`` is None)."""
    batch = int(batch_sizes[0])
    order = np.arange(batch) if order is None else order
    starts = np.cumsum(batch_sizes) - batch_sizes
    time = np.arange(steps)[:, None]
    real = time < batch_sizes.size
    sizes = np.where(real, batch_sizes[np.minimum(time, batch_sizes.size - 1)], 0)
    filler_row = data.shape[0]  # one row of ``value`` appended below the packed rows
    source = np.where(
        order[None, :] < sizes, starts[np.minimum(time, starts.size - 1)] + order, filler_row
    )
    # made per call, so cr.compile refills it instead of refusing an array made in forward
    filler = Tensor._make(per_call(np.full, (1, *data.shape[1:]), value, data.array.dtype), False)
    rows = index_select(cat([data, filler], axis=0), 0, source.reshape(-1))
    return rows.reshape(steps, batch, *data.shape[1:])


# ---- PyTorch's functions ---------------------------------------------------------------------
def _lengths(lengths, batch: int, steps: int) -> np.ndarray:
    array = _int_array(lengths)
    if array.ndim != 1:
        raise ShapeError(
            f"pack_padded_sequence: 'lengths' argument should be a 1D list or tensor of ints, "
            f"but got {array.ndim}D (shape {array.shape})"
        )
    if array.size != batch:
        raise ShapeError(
            f"pack_padded_sequence: Expected `len(lengths)` to be equal to batch_size, but got "
            f"{array.size} (batch_size={batch})"
        )
    if np.any(array <= 0):
        raise ArgumentError(
            "pack_padded_sequence: Length of all samples has to be greater than 0, but found an "
            f"element in 'lengths' that is <= 0 (lengths {array.tolist()}); drop empty sequences "
            "from the batch"
        )
    if np.any(array > steps):
        raise ShapeError(
            f"pack_padded_sequence: lengths {array.tolist()} exceed the padded input's "
            f"{steps} time steps; each length must be at most the sequence axis' size"
        )
    return array


def pack_padded_sequence(
    input,  # noqa: A002 - PyTorch's name
    lengths,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch of sequences of different lengths (PyTorch's function).

    Args:
        input: (T, B, *), or (B, T, *) with ``batch_first``; step t of sequence b is real
            when t < lengths[b].
        lengths: B positive lengths, at most T (a list, an array or an int tensor).
        enforce_sorted: the lengths must come longest first; pass False to sort them here
            (the layers return results in the original order either way).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.utils.rnn import pack_padded_sequence
        >>> packed = pack_padded_sequence(cr.ones(2, 3, 4), [1, 3], batch_first=True,
        ...                               enforce_sorted=False)
        >>> packed.data.shape, packed.batch_sizes.tolist()
        ((4, 4), [2, 1, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: expected a Tensor input, got {type(input)}")
    if input.ndim < 2:
        raise ShapeError(
            f"pack_padded_sequence: input must have a time and a batch axis, got shape "
            f"{input.shape}"
        )
    padded = input.transpose(0, 1) if batch_first else input
    lengths = _lengths(lengths, padded.shape[1], padded.shape[0])
    sorted_indices = None
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise ArgumentError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
                f"do not need ONNX exportability. (lengths {lengths.tolist()})"
            )
    else:
        sorted_indices = np.argsort(-lengths, kind="stable")
        lengths = lengths[sorted_indices]
        padded = index_select(padded, 1, sorted_indices)
    batch_sizes = np.count_nonzero(lengths[None, :] > np.arange(lengths[0])[:, None], axis=1)
    return PackedSequence(pack_rows(padded, batch_sizes), batch_sizes, sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The padded batch of a packed one, in the original batch order, and its lengths.

    Returns:
        (padded, lengths): padded (T, B, *) ((B, T, *) with ``batch_first``), the padding
        ``padding_value``, T = ``total_length`` or the longest length; lengths an int64 tensor.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.utils.rnn import pack_sequence, pad_packed_sequence
        >>> padded, lengths = pad_packed_sequence(
        ...     pack_sequence([cr.tensor([1.0]), cr.tensor([2.0, 3.0])], enforce_sorted=False),
        ...     batch_first=True)
        >>> padded.tolist(), lengths.tolist()
        ([[1.0, 0.0], [2.0, 3.0]], [1, 2])
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(
            f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}"
        )
    sizes = sequence.batch_sizes.array
    longest = sizes.size
    if total_length is not None:
        if total_length < longest:
            raise ArgumentError(
                f"Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{longest}"
            )
        longest = int(total_length)
    unsorted = sequence.unsorted_indices
    order = None if unsorted is None else unsorted.array
    padded = pad_rows(sequence.data, sizes, longest, order, padding_value)
    lengths = np.count_nonzero(sizes[:, None] > np.arange(sizes[0])[None, :], axis=0)
    if order is not None:
        lengths = lengths[order]
    return (padded.transpose(0, 1) if batch_first else padded), _int64(lengths)
