"""finfo/iinfo, get/set_num_threads, use_deterministic_algorithms, testing.assert_close and
utils.checkpoint, side by side with torch."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    ours, theirs = cr.finfo(getattr(cr, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert cr.finfo().eps == torch.finfo().eps  # the default dtype


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8"])
def test_iinfo_matches_torch(name):
    ours, theirs = cr.iinfo(getattr(cr, name)), torch.iinfo(getattr(torch, name))
    assert (ours.bits, ours.max, ours.min) == (theirs.bits, theirs.max, theirs.min)


def test_finfo_and_iinfo_refuse_the_other_kind_as_torch():
    for lib in (cr, torch):
        with pytest.raises(TypeError, match="requires a floating point input type"):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError, match="requires an integer input type"):
            lib.iinfo(lib.float32)


def test_set_num_threads_sets_numpys_blas_threads():
    from chainrule._blas import blas_threads

    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1 == blas_threads()
        cr.set_num_threads(2)
        assert cr.get_num_threads() == 2
    finally:
        cr.set_num_threads(before)
    with pytest.raises(RuntimeError, match="positive integer"):
        cr.set_num_threads(0)


def test_use_deterministic_algorithms_is_recorded_as_torch():
    for lib in (cr, torch):
        lib.use_deterministic_algorithms(True, warn_only=True)
        assert lib.are_deterministic_algorithms_enabled()
        assert lib.is_deterministic_algorithms_warn_only_enabled()
        lib.use_deterministic_algorithms(False)
        assert not lib.are_deterministic_algorithms_enabled()


def _message(lib, actual, expected, **kw):
    try:
        lib.testing.assert_close(actual, expected, **kw)
    except AssertionError as err:
        return str(err).replace("torch.", "")
    return None


@pytest.mark.parametrize(
    ("a", "e", "dtype", "kw"),
    [
        ([1.0, 2.0], [1.0, 2.001], "float32", {}),
        ([1.0, 2.0], [1.0, 2.0 + 1e-7], "float32", {}),
        ([1.0, 2.0], [1.0, 2.0 + 1e-7], "float64", {}),
        ([1.0, math.nan], [1.0, math.nan], "float64", {}),
        ([1.0, math.nan], [1.0, math.nan], "float64", {"equal_nan": True}),
        ([1.0, math.inf], [1.0, math.inf], "float32", {}),
        ([3, 4], [3, 5], "int64", {}),
        ([1.0, 2.0], [1.1, 2.0], "float64", {"rtol": 0.2, "atol": 0.0}),
    ],
)
def test_assert_close_passes_and_fails_as_torch_with_its_report(a, e, dtype, kw):
    ours = _message(cr, cr.tensor(a, dtype=dtype), cr.tensor(e, dtype=dtype), **kw)
    theirs = _message(
        torch,
        torch.tensor(a, dtype=getattr(torch, dtype)),
        torch.tensor(e, dtype=getattr(torch, dtype)),
        **kw,
    )
    assert ours == theirs


def test_assert_close_shape_dtype_containers_and_tolerance_pairs():
    with pytest.raises(AssertionError, match="'dtype' do not match: float32 != float64"):
        cr.testing.assert_close(cr.ones(1), cr.ones(1, dtype="float64"))
    cr.testing.assert_close(cr.ones(1), cr.ones(1, dtype="float64"), check_dtype=False)
    with pytest.raises(AssertionError, match="'shape' do not match"):
        cr.testing.assert_close(cr.ones(2), cr.ones(3))
    cr.testing.assert_close({"w": [cr.ones(2)]}, {"w": [cr.ones(2)]})
    with pytest.raises(AssertionError, match="item \\['w'\\]item \\[0\\]"):
        cr.testing.assert_close({"w": [cr.ones(2)]}, {"w": [cr.zeros(2)]})
    for lib in (cr, torch):
        with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
            lib.testing.assert_close(lib.ones(1), lib.ones(1), rtol=1e-3)


def test_checkpoint_gives_the_functions_values_and_gradients_with_torchs_warning():
    x = np.random.default_rng(0).standard_normal(4)
    outs = []
    for lib in (cr, torch):
        t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = lib.utils.checkpoint.checkpoint(lambda v: (v.tanh() * v).sum(), t)
        assert any("use_reentrant parameter should be passed" in str(w.message) for w in caught)
        y.backward()
        seq = lib.nn.Sequential(lib.nn.Tanh(), lib.nn.Tanh())
        z = lib.utils.checkpoint.checkpoint_sequential(seq, 2, t, use_reentrant=False)
        outs.append((y.item(), t.grad.detach().numpy().copy(), z.detach().numpy()))
    assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
    np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-12)
