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


@pytest.mark.parametrize("dtype", INTEGER_DTYPES + ["float16"])
def test_linspace_converts_bounds_to_the_dtype_first_as_torch(dtype):
    # before: computed from the float bounds, then truncated ([16, 15, 14, ...] where PyTorch,
    # truncating 16.51 and 4.27 first, gives [16, 14, 13, ...]); float16 in float32, not float16
    cases = [(16.51, 4.27, 11), (12.63, -19.89, 4), (7.42, 6.02, 11), (-1, 3, 5), (0, 10, 7)]
    cases += [(1, 0, 4), (0, 10, 4), (-128, 0.3, 3), (2.5, 2.5, 1), (3.5, 1, 0)]
    cases += [(s, e, int(abs(e - s) * 7) % 90 + 2) for s, e, _ in _grid(2, 200, -20.0, 20.0)]
    for start, end, steps in cases:
        if dtype == "uint8" and min(start, end) < 0:
            continue
        theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
        _same(cr.linspace(start, end, steps, dtype=dtype), theirs)


@pytest.mark.parametrize(
    "start, end, dtype",
    [(-100, 127.5, "int8"), (0, 255.9, "uint8"), (-0.5, 3, "uint8"), (1e40, 0, "float32")],
)
def test_linspace_bound_past_the_dtype_is_torchs_overflow_error(start, end, dtype):
    # before: wrapped or truncated silently (127.5 as int8 became 127, -0.5 as uint8 0)
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.linspace(start, end, 3, dtype=getattr(torch, dtype))
    with pytest.raises(RuntimeError, match="without overflow"):
        cr.linspace(start, end, 3, dtype=dtype)
    # -1 given as an int wraps to 255 in both
    _same(cr.linspace(-1, 3, 5, dtype="uint8"), torch.linspace(-1, 3, 5, dtype=torch.uint8))


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int32", "int8"])
@pytest.mark.parametrize("base", [10.0, 2.0, 0.5, 3.7, 0.0, -2.0])
def test_logspace_has_torchs_bits(dtype, base):
    # before: NumPy's logspace (its vectorised power, float bounds) then a cast: last bits in
    # float32/float64, [3, 31, 316] where PyTorch, truncating 0.5 and 2.5, gives [1, 10, 100]
    scale = 1.0 if dtype in ("int8", "float16") else 3.0
    cases = [(0.5, 2.5, 3), (1.67, -3.0, 3), (16.51, 4.27, 11), (-1, 1, 3), (2, 2, 1), (0, 1, 0)]
    cases += [(s / 10 * scale, e / 10 * scale, n) for s, e, n in _steps_grid(3, 150)]
    for start, end, steps in cases:
        theirs = torch.logspace(start, end, steps, base=base, dtype=getattr(torch, dtype))
        _same(cr.logspace(start, end, steps, base=base, dtype=dtype), theirs)


def _steps_grid(seed, count):
    rng = np.random.default_rng(seed)
    for start, end, _ in _grid(seed, count, -20.0, 20.0):
        yield start, end, int(rng.integers(0, 120))


def test_logspace_refuses_negative_steps_as_torch():
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        torch.logspace(0, 1, -1)
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        cr.logspace(0, 1, -1)
