"""Clear errors where a PackedSequence is used as a tensor: indexing it as one (an RNN's packed
output read as ``out[:, -1]``) and embedding packed ids; both had raised cryptic errors (a
tuple's "indices must be integers", NumPy's "inhomogeneous shape")."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils import rnn


def _packed():
    return rnn.pack_padded_sequence(cr.tensor(np.ones((5, 3, 2))), [5, 3, 2])


def test_a_packed_sequence_still_indexes_and_unpacks_as_a_named_tuple():
    packed = _packed()
    data, batch_sizes, *_ = packed
    assert packed[0] is data and packed[np.int64(1)] is batch_sizes
    assert packed[:2] == (data, batch_sizes) and len(packed) == 4


@pytest.mark.parametrize("key", [(slice(None), -1), (0, 1), "data"])
def test_indexing_a_packed_sequence_as_a_tensor_says_to_pad_it_first(key):
    output, _ = cr.nn.GRU(2, 3)(_packed())
    with pytest.raises(TypeError, match="pad_packed_sequence"):
        output[key]


def test_embedding_packed_ids_says_how_to_repack():
    ids = rnn.pack_padded_sequence(cr.tensor(np.array([[1, 2, 3], [4, 0, 0]]).T), [3, 1])
    embedding = cr.nn.Embedding(5, 2)
    with pytest.raises(TypeError, match=r"PackedSequence.*packed._replace\(data="):
        embedding(ids)
    embedded = ids._replace(data=embedding(ids.data))
    output, _ = cr.nn.LSTM(2, 3)(embedded)
    assert output.data.shape == (4, 3)


def test_unpack_sequence_of_a_tensor_names_itself():
    with pytest.raises(TypeError, match="unpack_sequence: expected a PackedSequence"):
        rnn.unpack_sequence(cr.ones(3, 2))
