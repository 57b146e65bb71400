"""``full`` takes PyTorch's argument names: ``size`` and ``fill_value`` by keyword, as in
PyTorch's CTCLoss example (``torch.full(size=(N,), fill_value=T, dtype=torch.long)``), which
raised TypeError."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {"size": (4,), "fill_value": 50}),
        ((), {"size": (2, 3), "fill_value": 1.5}),
        (((2, 2),), {"fill_value": True}),
        (((3,), 7), {}),
        ((), {"size": (), "fill_value": -2.0}),
    ],
)
def test_full_matches_torch(args, kwargs):
    ours = cr.full(*args, **kwargs)
    theirs = torch.full(*args, **kwargs)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_full_with_dtype_keyword_as_in_ctc_example():
    lengths = cr.full(size=(16,), fill_value=50, dtype=cr.long)
    assert lengths.dtype == np.int64
    assert lengths.tolist() == [50] * 16
