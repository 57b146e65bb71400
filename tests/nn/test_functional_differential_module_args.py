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
