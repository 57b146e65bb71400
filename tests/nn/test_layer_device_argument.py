"""The layers a CNN is built of take PyTorch's ``device=`` factory argument (``nn.Conv2d(3, 8,
3, device=device)``, ``**factory_kwargs`` in a custom module): the CPU is accepted, another
device refused with chainrule's usual error. It was a TypeError ("unexpected keyword")."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import nn

LAYERS = {
    "Linear": lambda **kw: nn.Linear(4, 3, **kw),
    "LazyLinear": lambda **kw: nn.LazyLinear(3, **kw),
    "Conv1d": lambda **kw: nn.Conv1d(2, 4, 3, **kw),
    "Conv2d": lambda **kw: nn.Conv2d(2, 4, 3, **kw),
    "Conv3d": lambda **kw: nn.Conv3d(2, 4, 3, **kw),
    "ConvTranspose1d": lambda **kw: nn.ConvTranspose1d(2, 4, 3, **kw),
    "ConvTranspose2d": lambda **kw: nn.ConvTranspose2d(2, 4, 3, **kw),
    "ConvTranspose3d": lambda **kw: nn.ConvTranspose3d(2, 4, 3, **kw),
    "BatchNorm1d": lambda **kw: nn.BatchNorm1d(4, **kw),
    "BatchNorm2d": lambda **kw: nn.BatchNorm2d(4, **kw),
    "BatchNorm3d": lambda **kw: nn.BatchNorm3d(4, **kw),
    "GroupNorm": lambda **kw: nn.GroupNorm(2, 4, **kw),
    "InstanceNorm2d": lambda **kw: nn.InstanceNorm2d(4, affine=True, **kw),
    "LayerNorm": lambda **kw: nn.LayerNorm(4, **kw),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_the_cpu_is_accepted_another_device_refused(name):
    make = LAYERS[name]
    for device in ("cpu", "cpu:0", cr.device("cpu"), None):
        assert all(p.dtype == cr.float32 for p in make(device=device).parameters())
    factory_kwargs = {"device": "cpu", "dtype": cr.float64}
    assert all(p.dtype == cr.float64 for p in make(**factory_kwargs).parameters())
    with pytest.raises(NotImplementedError, match="CPU only"):
        make(device="cuda")
