"""The creation functions take PyTorch's argument names by keyword: ``full(size=...,
fill_value=...)`` (PyTorch's CTCLoss example, ``torch.full(size=(N,), fill_value=T,
dtype=torch.long)``), ``arange(start=..., end=...)`` and ``*_like(input=...)``; each raised
TypeError."""

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


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {"end": 5}),
        ((), {"start": 1, "end": 7, "step": 2}),
        ((2,), {"end": 4.5}),
        ((5,), {}),
        ((1, 4), {}),
        ((), {"start": 0.0, "end": 1.0, "step": 0.25}),
    ],
)
def test_arange_keywords_match_torch(args, kwargs):
    ours = cr.arange(*args, **kwargs)
    theirs = torch.arange(*args, **kwargs)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_arange_without_end_raises_type_error():
    with pytest.raises(TypeError, match="end"):
        cr.arange()


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "full_like"])
def test_like_functions_take_input_by_keyword(name):
    extra = {"fill_value": 3.0} if name == "full_like" else {}
    ours = getattr(cr, name)(input=cr.ones(2, 3, dtype="float64"), **extra)
    theirs = getattr(torch, name)(input=torch.ones(2, 3, dtype=torch.float64), **extra)
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == "float64"
    if name != "empty_like":
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["rand_like", "randn_like"])
def test_random_like_functions_take_input_by_keyword(name):
    out = getattr(cr, name)(input=cr.ones(4, 2))
    assert out.shape == (4, 2) and str(out.dtype) == "float32"
