"""arange, linspace and logspace against PyTorch's CPU kernels: the same length, dtype and
bits over a grid of bounds, steps and dtypes, or PyTorch's error."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

INTEGER_DTYPES = ["int64", "int32", "int16", "int8", "uint8"]


def _same(ours, theirs):
    want = theirs.numpy()
    got = ours.numpy()
    assert (got.dtype, got.shape) == (want.dtype, want.shape)
    np.testing.assert_array_equal(got, want)


def _grid(seed, count, low=-30.0, high=30.0):
    """(start, end, step) triples with fractional bounds and steps of either sign."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        start, end = np.round(rng.uniform(low, high, 2), int(rng.integers(0, 3)))
        step = float(np.round(rng.uniform(1.0, 4.0), int(rng.integers(0, 3))))
        yield float(start), float(end), step if end >= start else -step


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_integer_arange_truncates_fractional_bounds_and_steps_as_torch(dtype):
    # before: NumPy's float arange cast to int ([0, 1, 2] for arange(2.5, dtype=int64), where
    # PyTorch truncates the bound first and gives [0, 1]); lengths and values differed
    cases = [(2.5,), (0.5,), (1, 2.5), (-2.7, 3), (0.9, 5, 2), (5, 0.5, -1), (0, 5, 1.5)]
    cases += list(_grid(0, 300, low=0.0 if dtype == "uint8" else -30.0))
    for args in cases:
        ours = cr.arange(*args, dtype=dtype)
        _same(ours, torch.arange(*args, dtype=getattr(torch, dtype)))


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_integer_arange_refuses_a_step_that_truncates_to_zero(dtype):
    # PyTorch raises for int64 and repeats the start for the narrower dtypes: an error for all
    with pytest.raises(ValueError, match="truncates to 0"):
        cr.arange(0, 3, 0.5, dtype=dtype)
    if dtype == "int64":
        with pytest.raises(ValueError, match="step must be nonzero"):
            torch.arange(0, 3, 0.5, dtype=torch.int64)


@pytest.mark.parametrize("dtype", [None, "float32", "int64"])
def test_arange_step_zero_is_torchs_error(dtype):
    # before: a bare ZeroDivisionError('division by zero') from NumPy's length computation
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        torch.arange(1, 5, 0, dtype=None if dtype is None else getattr(torch, dtype))
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        cr.arange(1, 5, 0, dtype=dtype)


@pytest.mark.parametrize("dtype", [None, "float32", "float64", "float16"])
def test_float_arange_has_torchs_bits(dtype):
    # before: NumPy's start + i·step, one rounding; PyTorch's kernel starts each vector group
    # from a rounded base (-7.8999996 where NumPy gives -7.9 in float32)
    cases = [(-20.4, 28.2, 0.5), (-27.62, 1.72), (23.7, -4.6, -0.1), (0, 1, 0.001), (2.5,)]
    cases += [(0, 1, 4e-5), (-1e20, 1e20, 1e18), (1, 4, 3)]  # up to 32768 elements: one thread
    cases += list(_grid(1, 300))
    for args in cases:
        ours = cr.arange(*args, dtype=dtype)
        _same(ours, torch.arange(*args, dtype=None if dtype is None else getattr(torch, dtype)))


def test_arange_of_an_infinite_bound_is_torchs_error():
    for end in (float("inf"), float("nan")):
        with pytest.raises(RuntimeError, match="unsupported range"):
            torch.arange(0, end, 1.0)
        with pytest.raises(RuntimeError, match="unsupported range"):
            cr.arange(0, end, 1.0)
