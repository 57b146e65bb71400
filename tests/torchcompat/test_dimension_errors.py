"""A dim out of range is an IndexError, as PyTorch's "Dimension out of range" is, and flatten
never wraps a dim or inserts an axis where PyTorch refuses."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DimensionError, ShapeError

torch = pytest.importorskip("torch")

OUT_OF_RANGE = {
    "sum": lambda t: t.sum(5),
    "mean": lambda t: t.mean(-3),
    "max": lambda t: t.max(4),
    "softmax": lambda t: t.softmax(3),
    "cumsum": lambda t: t.cumsum(2),
    "flip": lambda t: t.flip(2),
    "select": lambda t: t.select(2, 0),
    "narrow": lambda t: t.narrow(2, 0, 1),
    "transpose": lambda t: t.transpose(0, 4),
    "unsqueeze": lambda t: t.unsqueeze(5),
    "squeeze": lambda t: t.squeeze(4),
    "chunk": lambda t: t.chunk(2, 3),
    "flatten end": lambda t: t.flatten(0, 5),
    "flatten start": lambda t: t.flatten(-3, -1),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_a_dim_out_of_range_is_an_index_error_as_in_pytorch(name):
    call = OUT_OF_RANGE[name]
    with pytest.raises(IndexError):
        call(torch.ones(2, 3))
    with pytest.raises(IndexError) as caught:
        call(cr.ones(2, 3))
    # still a ShapeError (and so a RuntimeError and a ValueError) for code that caught those
    assert isinstance(caught.value, DimensionError)
    assert isinstance(caught.value, ShapeError) and isinstance(caught.value, RuntimeError)
    assert "out of range" in str(caught.value) or "got axis" in str(caught.value)


@pytest.mark.parametrize("dims", [(0, -1), (1, 1), (-2, -1), (0, 1), (1, 2), (0, 0)])
def test_flatten_in_range_matches_pytorch(dims):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    got = cr.tensor(data).flatten(*dims)
    want = torch.tensor(data).flatten(*dims)
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_flatten_with_start_after_end_is_refused_not_a_new_axis():
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).flatten(1, 0)
    with pytest.raises(ShapeError, match="start_dim 1 comes after end_dim 0"):
        cr.ones(2, 3).flatten(1, 0)  # it had returned shape (2, 1, 3)
