"""RNN, LSTM, GRU, their cells and MultiheadAttention refuse an integer or bool tensor input, as
PyTorch's do ("RNN input dtype ... does not match weight dtype"); they had converted it to
float silently (token ids fed to an LSTM without an Embedding trained on the raw ids)."""

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_an_integer_sequence_is_refused_as_torch(kind):
    ids = np.ones((4, 2, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="dtype"):
        getattr(torch.nn, kind)(1, 3)(torch.tensor(ids))
    with pytest.raises(cr.DTypeError, match=r"input dtype \(int64\).*Embedding"):
        getattr(cr.nn, kind)(1, 3)(cr.tensor(ids))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cell_refuses_an_integer_step(kind):
    with pytest.raises(cr.DTypeError, match="input dtype"):
        getattr(cr.nn, kind)(2, 3)(cr.tensor([[1, 2]]))


def test_an_integer_state_and_packed_ids_are_refused_too():
    gru = cr.nn.GRU(2, 3)
    with pytest.raises(cr.DTypeError, match="input dtype"):
        gru(cr.randn(4, 1, 2), cr.zeros(1, 1, 3, dtype=cr.int64))
    packed = cr.nn.utils.rnn.pack_sequence([cr.tensor([[1, 2], [3, 4]])])
    with pytest.raises(cr.DTypeError, match="input dtype"):
        gru(packed)


def test_arrays_and_lists_are_still_converted():
    out, _ = cr.nn.GRU(1, 3)(np.ones((4, 2, 1), dtype=np.int64))
    assert out.dtype == np.float32


def test_multihead_attention_and_a_transformer_layer_refuse_integer_tensors():
    ids = cr.ones(2, 1, 4, dtype=cr.int64)
    with pytest.raises(cr.DTypeError, match="MultiheadAttention input dtype"):
        cr.nn.MultiheadAttention(4, 2)(ids, ids, ids)
    with pytest.raises(cr.DTypeError, match="Embedding first"):
        cr.nn.TransformerEncoderLayer(4, 2, 8)(ids)
