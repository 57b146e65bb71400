"""Parity probe, round 9: bit shifts by any count, scatter's reduce names, embedding's
max_norm, and the fuzzed areas of round 9, each checked against PyTorch itself."""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")


def _kind(fn):
    """The value as a list with its dtype's name, or the builtin class of the error raised
    (the one a PyTorch script's ``except`` names)."""
    try:
        result = fn()
    except NotImplementedError:  # before RuntimeError: it is one
        return "NotImplementedError"
    except RuntimeError:
        return "RuntimeError"
    except (ValueError, TypeError, OverflowError, IndexError) as err:
        return type(err).__name__
    return result.tolist(), str(result.dtype).replace("torch.", "")


# ---- << and >> by negative, too large and wrapped counts -----------------------------------------
def _shift(lib, dtype, op, count, in_place):
    values = [1, 200, 3] if dtype == "uint8" else [1, -7, 3]
    x = lib.tensor(values, dtype=getattr(lib, dtype))
    if in_place:
        if op == "<<":
            x <<= count
        else:
            x >>= count
        return x
    return x << count if op == "<<" else x >> count


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("count", [-65, -3, -1, 9, 33, 64, 100, 2**40, 2**63, -(2**63)])
@pytest.mark.parametrize("op", ["<<", ">>"])
@pytest.mark.parametrize("in_place", [False, True])
def test_shifts_by_any_count_of_64_bits_give_pytorchs_values(dtype, count, op, in_place):
    ours = _kind(lambda: _shift(cr, dtype, op, count, in_place))
    assert ours == _kind(lambda: _shift(torch, dtype, op, count, in_place))
    assert ours[1] == dtype


@pytest.mark.parametrize("count", [2**64, -(2**63) - 1])
def test_a_shift_count_beyond_64_bits_is_an_overflow_error_as_in_pytorch(count):
    assert _kind(lambda: _shift(cr, "uint8", "<<", count, False)) == "OverflowError"
    assert _kind(lambda: _shift(torch, "uint8", "<<", count, False)) == "OverflowError"


def _bool_shifts(lib):
    x = lib.tensor([True, False])

    def in_place(other):
        y = x.clone()
        y <<= other
        return y

    return {
        "bool << 2": lambda: x << 2,
        "bool << bool": lambda: x << x,
        "bool << True": lambda: x << True,
        "bool <<= 2": lambda: in_place(2),
        "bool <<= int tensor": lambda: in_place(lib.tensor([1, 2])),
        "bool <<= bool": lambda: in_place(x),
    }


def test_shifts_of_bools_answer_as_in_pytorch():
    ours = {name: _kind(call) for name, call in _bool_shifts(cr).items()}
    assert ours == {name: _kind(call) for name, call in _bool_shifts(torch).items()}
    assert ours["bool << 2"] == ([4, 0], "int64")


# ---- argument values an op does not take: PyTorch's RuntimeError ---------------------------------
def _bad_arguments(lib):
    x, index = lib.zeros(3), lib.tensor([0, 2])
    return {
        "scatter_reduce('bad')": lambda: x.scatter_reduce(0, index, lib.ones(2), "bad"),
        "scatter_reduce_('add')": lambda: x.clone().scatter_reduce_(0, index, lib.ones(2), "add"),
        "scatter(reduce='mean')": lambda: x.scatter(0, index, lib.ones(2), reduce="mean"),
        "scatter_(value, reduce='sum')": lambda: x.clone().scatter_(0, index, 2.0, reduce="sum"),
        "clamp()": lambda: x.clamp(),
        "clip()": lambda: x.clip(),
        "clamp_()": lambda: x.clone().clamp_(),
        "trunc_normal_(a > b)": lambda: lib.nn.init.trunc_normal_(x.clone(), a=2.0, b=-2.0),
        "-bool": lambda: -lib.tensor([True, False]),
        "bool.neg()": lambda: lib.tensor([True]).neg(),
    }


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_argument_values_an_op_does_not_take_raise_pytorchs_runtime_error():
    ours = {name: _kind(call) for name, call in _bad_arguments(cr).items()}
    assert ours == {name: _kind(call) for name, call in _bad_arguments(torch).items()}
    assert set(ours.values()) == {"RuntimeError"}


def test_a_bad_reduce_name_is_still_a_value_error():
    with pytest.raises(ValueError, match="reduce argument must be either sum, prod"):
        cr.zeros(3).scatter_reduce(0, cr.tensor([0]), cr.ones(1), "add")
