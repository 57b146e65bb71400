"""nn.Embedding takes PyTorch's constructor and call arguments: ``device=``, ``_weight`` and
``_freeze`` (what ``from_pretrained`` passes), and ``input=`` by keyword."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def test_embedding_takes_a_cpu_device_and_refuses_a_gpu():
    layer = nn.Embedding(5, 3, device="cpu")
    assert layer(cr.tensor([1, 4])).shape == (2, 3)
    assert nn.Embedding(5, 3, device=torch.device("cpu")).weight.shape == (5, 3)
    with pytest.raises(NotImplementedError):
        nn.Embedding(5, 3, device="cuda")


def test_embedding_weight_given_as_underscore_weight_is_shared_and_kept_as_torch():
    rows = np.arange(15, dtype=np.float64).reshape(5, 3)
    ours = nn.Embedding(5, 3, padding_idx=1, _weight=cr.tensor(rows, dtype="float64"))
    theirs = torch.nn.Embedding(5, 3, padding_idx=1, _weight=torch.tensor(rows))
    ids = np.array([[1, 0], [4, 1]])
    out = ours(cr.tensor(ids))
    np.testing.assert_array_equal(out.detach().numpy(), theirs(torch.tensor(ids)).detach().numpy())
    assert ours.weight.requires_grad and out.dtype == np.float64
    out.sum().backward()
    theirs(torch.tensor(ids)).sum().backward()
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    shared = np.zeros((5, 3))
    nn.Embedding(5, 3, _weight=shared).weight.data[0, 0] = 7.0
    assert shared[0, 0] == 7.0


def test_embedding_underscore_freeze_and_wrong_weight_shape():
    frozen = nn.Embedding(2, 3, _weight=np.ones((2, 3)), _freeze=True)
    assert not frozen.weight.requires_grad
    with pytest.raises(cr.ShapeError, match=r"_weight of shape \(3, 2\).*\(2, 3\)"):
        nn.Embedding(2, 3, _weight=np.ones((3, 2)))


def test_embedding_call_takes_input_by_keyword():
    layer = nn.Embedding(5, 3)
    np.testing.assert_array_equal(
        layer(input=cr.tensor([2])).detach().numpy(), layer(cr.tensor([2])).detach().numpy()
    )


def test_from_pretrained_still_shares_and_freezes():
    rows = np.eye(3, dtype=np.float32)
    layer = nn.Embedding.from_pretrained(rows, padding_idx=0)
    assert not layer.weight.requires_grad and layer.padding_idx == 0
    layer.weight.data[2, 2] = 5.0
    assert rows[2, 2] == 5.0
    assert nn.Embedding.from_pretrained(rows, freeze=False).weight.requires_grad
