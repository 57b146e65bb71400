"""A Python number written into a tensor (full, full_like, masked_fill, x[i] = v) is converted
as PyTorch converts a scalar: truncated toward zero for an integer dtype, an overflow (past the
dtype's range, NaN or inf for integers) raised instead of wrapped."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

OVERFLOWS = [
    (300.0, "uint8"),
    (300.0, "int8"),
    (-1.5, "uint8"),
    (-0.5, "uint8"),
    (1e30, "int64"),
    (float("nan"), "int32"),
    (float("inf"), "int64"),
    (1e39, "float32"),
    (70000.0, "float16"),
]
FITS = [(2.7, "int64"), (-2.7, "int8"), (255.0, "uint8"), (-1, "uint8"), (1e38, "float32")]


def _write(lib, how, value, dtype):
    dtype = getattr(lib, dtype)
    if how == "full":
        return lib.full((3,), value, dtype=dtype)
    if how == "full_like":
        return lib.full_like(lib.zeros(3, dtype=dtype), value)
    if how == "masked_fill":
        return lib.zeros(3, dtype=dtype).masked_fill(lib.tensor([True, False, True]), value)
    x = lib.zeros(3, dtype=dtype)
    x[1:] = value
    return x


@pytest.mark.parametrize("how", ["full", "full_like", "masked_fill", "setitem"])
@pytest.mark.parametrize("value, dtype", OVERFLOWS)
def test_an_overflowing_number_raises_as_torch(how, value, dtype):
    # before: full/full_like wrapped silently (300.0 as uint8 was 44, NaN as int32 -2**31,
    # 1e39 as float32 inf); masked_fill and x[i] = v gave 0 for -0.5 in uint8
    if how == "setitem" and dtype == "float16":
        pytest.skip("PyTorch writes float16 unchecked (inf), and so does chainrule")
    with pytest.raises(RuntimeError, match="without overflow"):
        _write(torch, how, value, dtype)
    with pytest.raises(RuntimeError, match="without overflow"):
        _write(cr, how, value, dtype)


@pytest.mark.parametrize("how", ["full", "full_like", "masked_fill", "setitem"])
@pytest.mark.parametrize("value, dtype", FITS)
def test_a_number_that_fits_is_written_as_torch(how, value, dtype):
    theirs = _write(torch, how, value, dtype).numpy()
    ours = _write(cr, how, value, dtype).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_float16_setitem_past_its_range_is_inf_as_torch():
    ours, theirs = cr.zeros(3, dtype=cr.float16), torch.zeros(3, dtype=torch.float16)
    ours[0], theirs[0] = 1e30, 1e30
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _list_cases(lib):
    t = lib.tensor
    return [
        [t([1.5]), t([2.0])],
        [t(1.5), t([2.0])],
        [[t([1.0])], [t([2.0])]],
        [t([[1.0]]), t([[2.0]])],
        [t([1]), 2.5],
        [t([True]), t([1])],
        [t([1.0], dtype=lib.float64)],
        [t(1.0, dtype=lib.float64), 2.5],
        [t([1], dtype=lib.int32), 2],
        [t([1], dtype=lib.uint8), t([2], dtype=lib.int8)],
        [t([1.0], dtype=lib.float16), 2],
        [[t([1.0], dtype=lib.float64)], [2.0]],
    ]


@pytest.mark.parametrize("make", ["tensor", "as_tensor"])
def test_a_list_of_one_element_tensors_is_a_list_of_numbers_as_torch(make):
    # before: the tensors were stacked ([t([1.5]), t([2.0])] gave shape (2, 1), not (2,)), and
    # a float64 tensor in the list gave float32 (NumPy data's default, not the tensor's dtype)
    for ours_data, theirs_data in zip(_list_cases(cr), _list_cases(torch)):
        ours, theirs = getattr(cr, make)(ours_data), getattr(torch, make)(theirs_data)
        assert ours.numpy().dtype == theirs.numpy().dtype
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_list_of_longer_tensors_is_torchs_error():
    with pytest.raises(ValueError, match="only one element tensors"):
        torch.tensor([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    with pytest.raises(ValueError, match="only one element tensors.*cr.stack"):
        cr.tensor([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])


def test_randperm_of_a_negative_count_raises_as_torch():
    with pytest.raises(RuntimeError, match="negative dimension"):
        torch.randperm(-1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        cr.randperm(-1)


IN_PLACE = ["fill_", "masked_fill_", "fill_diagonal_"]


@pytest.mark.parametrize("op", IN_PLACE)
@pytest.mark.parametrize(
    "value, dtype",
    [(300.0, "uint8"), (-1.5, "uint8"), (float("nan"), "int32"), (1e39, "float32"),
     (1e12, "int32"), (2.7, "uint8"), (-1, "uint8"), (float("inf"), "float32")],
)  # fmt: skip
def test_in_place_fills_convert_a_number_as_torch(op, value, dtype):
    # fill_(300.0) on uint8 gave 44 and NaN into int32 gave -2**31, silently
    outcomes = []
    for lib in (torch, cr):
        t = lib.zeros(3, 3, dtype=getattr(lib, dtype))
        try:
            if op == "masked_fill_":
                t.masked_fill_(lib.ones(3, 3, dtype=lib.bool), value)
            else:
                getattr(t, op)(value)
            outcomes.append(np.asarray(t.tolist(), dtype=float))
        except RuntimeError:  # chainrule's DTypeError is a RuntimeError too
            outcomes.append("raised")
    if isinstance(outcomes[0], str) or isinstance(outcomes[1], str):
        assert outcomes[0] == outcomes[1] == "raised"
    else:
        np.testing.assert_array_equal(outcomes[0], outcomes[1])
