"""Batches of sequences of different lengths, as PyTorch's ``torch.nn.utils.rnn``.

Padding (:func:`pad_sequence`, :func:`unpad_sequence`) stacks the sequences into one tensor;
packing (:class:`PackedSequence`, :func:`pack_padded_sequence`, :func:`pad_packed_sequence`,
:func:`pack_sequence`, :func:`unpack_sequence`, in ``packed_sequence.py``) keeps only their real
steps, and ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` given a packed batch stop each sequence at its
own last step: ``h_n`` is each sequence's last real state, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_hooks import per_call
from chainrule.errors import ArgumentError, ShapeError
from chainrule.nn.utils.packed_sequence import (
    PackedSequence,
    pack_padded_sequence,
    pad_packed_sequence,
)
from chainrule.ops.shape import cat, stack
from chainrule.ops.shape_extra import unbind
from chainrule.tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def invert_permutation(permutation):
    """The inverse of a permutation of 0..n−1 (``None`` stays ``None``), as PyTorch's: what
    turns ``sorted_indices`` into ``unsorted_indices``."""
    if permutation is None:
        return None
    order = permutation.array if isinstance(permutation, Tensor) else np.asarray(permutation)
    if order.ndim != 1 or order.dtype.kind not in "iu" or not np.array_equal(
        np.sort(order), np.arange(order.size)
    ):
        raise ArgumentError(
            f"invert_permutation: expected a 1-D integer permutation of 0..n-1, got {order!r}"
        )
    inverse = np.empty_like(order, dtype=np.int64)
    inverse[order] = np.arange(order.size)
    return Tensor._make(inverse, False)


def pad_sequence(
    sequences,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of different lengths into one tensor, padding the short ones.

    Args:
        sequences: tensors of shape (L_i, *), the same * for all (or one tensor, read as the
            sequence of its rows, as PyTorch does).
        batch_first: output (B, L_max, *) instead of (L_max, B, *).
        padding_value: the value of the added steps (cast to the output's dtype).
        padding_side: ``"right"`` pads after each sequence, ``"left"`` before it.

    Returns:
        a tensor of the first sequence's dtype; gradients flow back to each sequence.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.utils.rnn import pad_sequence
        >>> pad_sequence([cr.tensor([1.0, 2.0, 3.0]), cr.tensor([4.0])], batch_first=True)
        tensor([[1., 2., 3.],
                [4., 0., 0.]])
    """
    if padding_side not in ("left", "right"):  # torch raises RuntimeError: both catch it
        raise ArgumentError(
            f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}"
        )
    if isinstance(sequences, Tensor):
        sequences = unbind(sequences, 0)
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    for i, seq in enumerate(sequences):
        if not isinstance(seq, Tensor):
            raise TypeError(
                f"pad_sequence: expected a Tensor as sequence {i}, got {type(seq).__name__}; "
                f"wrap it with cr.tensor(...)"
            )
    first = sequences[0]
    trailing = first.shape[1:]
    for i, seq in enumerate(sequences):
        if seq.ndim == 0 or seq.shape[1:] != trailing:
            raise ShapeError(
                f"pad_sequence: sequence {i} has shape {seq.shape}; every sequence must be "
                f"(length, *{trailing}) like sequence 0 ({first.shape})"
            )
    longest = max(seq.shape[0] for seq in sequences)
    padded = [
        _padded(seq.to(first.dtype), longest, padding_value, padding_side) for seq in sequences
    ]
    return stack(padded, axis=0 if batch_first else 1)


def _padded(seq: Tensor, length: int, value, side: str) -> Tensor:
    missing = length - seq.shape[0]
    if missing == 0:
        return seq
    # made per call, so cr.compile refills it instead of refusing an array made in forward
    shape = (missing, *seq.shape[1:])
    filler = Tensor._make(per_call(np.full, shape, value, seq.array.dtype), False)
    return cat([seq, filler] if side == "right" else [filler, seq], axis=0)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The inverse of :func:`pad_sequence` (right padding): the list of sequences, each cut to
    its length.

    Args:
        padded_sequences: (L_max, B, *), or (B, L_max, *) with ``batch_first``.
        lengths: B lengths (a list or a 1-D tensor).
    """
    lengths = np.asarray(lengths.array if isinstance(lengths, Tensor) else lengths).reshape(-1)
    batch_axis = 0 if batch_first else 1
    batch, longest = padded_sequences.shape[batch_axis], padded_sequences.shape[1 - batch_axis]
    if lengths.size != batch or np.any(lengths < 0) or np.any(lengths > longest):
        raise ShapeError(
            f"unpad_sequence: lengths {lengths.tolist()} do not fit padded sequences of shape "
            f"{padded_sequences.shape}: expected {batch} lengths in [0, {longest}]"
        )
    rows = unbind(padded_sequences, batch_axis)
    return [row[: int(length)] for row, length in zip(rows, lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences (PyTorch's function): ``pad_sequence`` then
    :func:`pack_padded_sequence` with their lengths."""
    sequences = list(sequences)
    lengths = [seq.shape[0] if isinstance(seq, Tensor) and seq.ndim else 0 for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences of a packed batch, each (L_i, *), in the original order."""
    if not isinstance(packed_sequences, PackedSequence):
        raise TypeError(
            f"unpack_sequence: expected a PackedSequence, got "
            f"{type(packed_sequences).__name__}; a padded batch is cut apart by "
            f"unpad_sequence(padded, lengths)"
        )
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
