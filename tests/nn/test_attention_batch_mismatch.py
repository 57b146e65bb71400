"""MultiheadAttention with query and key of different batch sizes: a clear error naming both
(PyTorch's, and chainrule's before, came from a reshape deep inside), including the usual
cause, (batch, length, features) inputs to a module built without batch_first."""

import pytest

import chainrule as cr


def test_a_batch_mismatch_names_both_batch_sizes():
    attention = cr.nn.MultiheadAttention(6, 2)
    with pytest.raises(cr.ShapeError, match="query's batch size 3 does not match key's 2"):
        attention(cr.randn(4, 3, 6), cr.randn(5, 2, 6), cr.randn(5, 2, 6))


def test_batch_first_inputs_to_a_sequence_first_module_get_the_hint():
    attention = cr.nn.MultiheadAttention(6, 2)
    x, memory = cr.randn(8, 5, 6), cr.randn(8, 7, 6)  # (batch, length, features)
    with pytest.raises(AssertionError, match=r"batch_first=True"):
        attention(x, memory, memory)
    assert cr.nn.MultiheadAttention(6, 2, batch_first=True)(x, memory, memory)[0].shape == x.shape
