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
