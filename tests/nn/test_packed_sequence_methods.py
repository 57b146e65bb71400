"""PyTorch's PackedSequence methods and ``invert_permutation``, which users' code calls on a
packed batch (``packed.half()``, ``packed.pin_memory()`` in a DataLoader's collate, ...)."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn.utils import rnn


def _packed():
    sequences = [cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0, 5.0])]
    return rnn.pack_sequence(sequences, enforce_sorted=False)


@pytest.mark.parametrize("method", ["half", "long", "int", "short", "char", "byte"])
def test_dtype_shorthands_convert_the_data_only(method):
    packed = _packed()
    converted = getattr(packed, method)()
    theirs = getattr(torch.nn.utils.rnn.pack_sequence(
        [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0, 5.0])], enforce_sorted=False
    ), method)()  # fmt: skip
    assert str(converted.data.dtype) == str(theirs.data.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(converted.data.numpy(), theirs.data.numpy())
    assert converted.sorted_indices.tolist() == packed.sorted_indices.tolist()


def test_pinning_is_a_no_op_on_the_cpu():
    packed = _packed()
    assert packed.pin_memory() is packed and packed.is_pinned() is False


def test_invert_permutation_as_torch():
    order = np.array([2, 0, 3, 1])
    theirs = torch.nn.utils.rnn.invert_permutation(torch.tensor(order))
    assert rnn.invert_permutation(cr.tensor(order)).tolist() == theirs.tolist()
    assert rnn.invert_permutation(None) is None
    packed = _packed()
    assert rnn.invert_permutation(packed.sorted_indices).tolist() == (
        packed.unsorted_indices.tolist()
    )
    with pytest.raises(ValueError, match="permutation"):
        rnn.invert_permutation(cr.tensor([0, 0, 1]))
