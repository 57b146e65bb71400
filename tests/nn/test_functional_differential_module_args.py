"""Module constructor arguments PyTorch users pass, checked against torch.nn."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "make",
    [lambda **kw: nn.PReLU(3, **kw), lambda **kw: nn.Bilinear(2, 3, 4, **kw)],
    ids=["PReLU", "Bilinear"],
)
def test_prelu_and_bilinear_take_device_as_the_other_layers(make):
    # both raised TypeError: unexpected keyword argument 'device'
    for device in ("cpu", cr.device("cpu"), None):
        assert all(p.dtype == cr.float32 for p in make(device=device).parameters())
    layer = make(device="cpu", dtype=cr.float64)
    assert all(p.dtype == cr.float64 for p in layer.parameters())
    with pytest.raises(NotImplementedError, match="CPU only"):
        make(device="cuda")


def test_prelu_made_with_device_computes_as_torch():
    theirs = torch.nn.PReLU(3, init=0.1, device="cpu", dtype=torch.float64)
    ours = nn.PReLU(3, init=0.1, device="cpu", dtype=cr.float64)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(
        ours(cr.tensor(x, dtype="float64")).detach().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
    )


def test_hardtanh_takes_torchs_deprecated_min_value_and_max_value():
    # TypeError: unexpected keyword argument 'min_value' (PyTorch warns and accepts it)
    with pytest.warns(FutureWarning, match="`min_value` is deprecated"):
        ours = nn.Hardtanh(min_value=-0.5, max_value=2.0)
    with pytest.warns(FutureWarning, match="`max_value` is deprecated"):
        theirs = torch.nn.Hardtanh(min_value=-0.5, max_value=2.0)
    assert (ours.min_val, ours.max_val) == (theirs.min_val, theirs.max_val) == (-0.5, 2.0)
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())


def test_hardtanh_layer_refuses_equal_bounds_as_torch():
    with pytest.raises(AssertionError):
        torch.nn.Hardtanh(1.0, 1.0)
    with pytest.raises(ValueError, match="must be greater than"):
        nn.Hardtanh(1.0, 1.0)  # was accepted
    # the function takes them, as PyTorch's
    np.testing.assert_array_equal(cr.nn.functional.hardtanh(cr.tensor([0.0, 2.0]), 1, 1), [1, 1])
