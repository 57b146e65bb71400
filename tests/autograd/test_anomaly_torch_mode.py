"""torch.autograd.detect_anomaly / set_detect_anomaly: PyTorch's mode (backward NaN only, its
message and warnings), run side by side with torch."""

import math
import warnings

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _backward_error(lib, make, check_nan=True, size=2):
    """What backward() raises inside the library's anomaly mode (None if it passes)."""
    x = lib.full((size,), -1.0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly(check_nan=check_nan):
            y = make(lib, x)
            try:
                y.sum().backward()
            except RuntimeError as err:
                return str(err)
    return None


@pytest.mark.parametrize("size", [2, 5000])  # 5000: the engine's in-place gradient path
def test_a_nan_gradient_raises_torchs_error(size):
    def make(lib, x):
        return x * lib.full((size,), math.nan)

    ours, theirs = _backward_error(cr, make, size=size), _backward_error(torch, make, size=size)
    assert theirs == "Function 'MulBackward0' returned nan values in its 0th output."
    assert ours == theirs


def test_a_large_tanh_gradient_on_the_engines_in_place_path_is_checked():
    # tanh writes its gradient over the incoming one for 4096+ elements (backward_in_place):
    # ∞ arriving where tanh saturated to 1 gives ∞·(1 − 1²) = NaN there, as in PyTorch
    def make(lib, x):
        return lib.tanh(-20 * x) * lib.full((5000,), math.inf)

    theirs = _backward_error(torch, make, size=5000)
    assert theirs == "Function 'TanhBackward0' returned nan values in its 0th output."
    assert _backward_error(cr, make, size=5000) == theirs


def test_forward_nan_and_infinite_gradients_pass_as_in_torch():
    def forward_nan(lib, x):
        return lib.where(x > 0, lib.sqrt(x), lib.zeros_like(x))  # masked sqrt(-1)

    def infinite(lib, x):
        return x * lib.full((2,), math.inf)

    for make in (infinite,):
        assert _backward_error(torch, make) is None
        assert _backward_error(cr, make) is None
    # a NaN in the forward pass alone is not an anomaly for PyTorch's mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (cr, torch):
            with lib.autograd.detect_anomaly():
                out = lib.sqrt(lib.tensor([-1.0]))
            assert math.isnan(out.item())
    assert _backward_error(torch, forward_nan) == _backward_error(cr, forward_nan)


def test_check_nan_false_lets_nan_through():
    def make(lib, x):
        return x * lib.full((2,), math.nan)

    assert _backward_error(cr, make, check_nan=False) is None
    assert _backward_error(torch, make, check_nan=False) is None


def test_set_detect_anomaly_as_a_call_and_a_block_and_the_warning():
    for lib in (cr, torch):
        assert not lib.is_anomaly_enabled()
        lib.autograd.set_detect_anomaly(True)
        assert lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
        lib.autograd.set_detect_anomaly(False)
        assert not lib.is_anomaly_enabled()
        with lib.autograd.set_detect_anomaly(True, check_nan=False):
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
        assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            lib.autograd.detect_anomaly()


def test_as_a_decorator():
    @cr.autograd.detect_anomaly()
    def step(x):
        assert cr.is_anomaly_enabled()
        (x * cr.tensor([math.nan])).sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="MulBackward0' returned nan values"):
            step(cr.ones(1, requires_grad=True))
    assert not cr.is_anomaly_enabled()
