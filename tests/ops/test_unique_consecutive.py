"""unique_consecutive against PyTorch: values, inverse, counts, dtypes and shapes, flattened
and along a dim (negative dims, empty tensors, NaNs, 0-d), and its errors."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAN = float("nan")
INPUTS = [
    [1.0, 1.0, 2.0, 2.0, 3.0, 1.0, 1.0, 2.0],
    [[1, 1], [1, 1], [2, 3], [2, 3], [1, 1]],
    [[[1, 2], [1, 2]], [[1, 2], [0, 2]], [[1, 2], [0, 2]]],
    [NAN, NAN, 1.0, 1.0],
    [True, True, False, True],
    5.0,
    np.zeros((0, 3)),
    np.zeros((3, 0)),
]
FLAGS = [(False, False), (True, False), (False, True), (True, True)]


def check(data, dim, return_inverse, return_counts):
    array = np.asarray(data)
    array = (
        array.astype(np.float32) if array.dtype.kind == "f" else array
    )  # both libraries' default
    kwargs = dict(return_inverse=return_inverse, return_counts=return_counts, dim=dim)
    theirs = torch.unique_consecutive(torch.tensor(array), **kwargs)
    ours = cr.unique_consecutive(cr.tensor(array), **kwargs)
    method = cr.tensor(array).unique_consecutive(**kwargs)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    ours = ours if isinstance(ours, tuple) else (ours,)
    method = method if isinstance(method, tuple) else (method,)
    assert len(ours) == len(theirs) == len(method)
    for o, m, t in zip(ours, method, theirs):
        expected = t.numpy()
        assert o.shape == expected.shape and o.dtype == expected.dtype
        np.testing.assert_array_equal(o.numpy(), expected)
        np.testing.assert_array_equal(m.numpy(), expected)


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("data", INPUTS, ids=range(len(INPUTS)))
def test_flattened_matches_torch(data, flags):
    check(data, None, *flags)


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize(
    "data, dim",
    [(INPUTS[1], 0), (INPUTS[1], 1), (INPUTS[1], -2), (INPUTS[2], 0), (INPUTS[2], 1)]
    + [(INPUTS[2], -1), (INPUTS[0], 0), (INPUTS[3], -1), (INPUTS[6], 0), (INPUTS[7], 1)],
)
def test_along_a_dim_matches_torch(data, dim, flags):
    check(data, dim, *flags)


def test_is_not_part_of_the_graph():
    x = cr.tensor([1.0, 1.0, 2.0], requires_grad=True)
    assert not cr.unique_consecutive(x).requires_grad


@pytest.mark.parametrize("data, dim", [([[1, 2]], 2), ([[1, 2]], -3), (5.0, 0)])
def test_a_bad_dim_raises_index_error_as_torch(data, dim):
    with pytest.raises(IndexError):
        torch.unique_consecutive(torch.tensor(data), dim=dim)
    with pytest.raises(IndexError, match="unique_consecutive"):
        cr.unique_consecutive(cr.tensor(data), dim=dim)


def test_an_empty_dimension_other_than_dim_raises_as_torch():
    with pytest.raises(RuntimeError):
        torch.unique_consecutive(torch.zeros(3, 0), dim=0)
    with pytest.raises(RuntimeError, match="empty dimension"):
        cr.unique_consecutive(cr.zeros(3, 0), dim=0)
