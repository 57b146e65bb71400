"""A tensor-valued lr (PyTorch reads it at every step, so in-place changes count) is refused by
name; before, the message said only "lr must be a number", which a tensor of one number is."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam"])
@pytest.mark.parametrize("make", [lambda: cr.tensor(0.01), lambda: torch.tensor(0.01)])
def test_tensor_lr_is_refused_by_name(name, make):
    torch_param = torch.zeros(2, requires_grad=True)
    getattr(torch.optim, name)([torch_param], lr=torch.tensor(0.01))  # PyTorch takes it
    with pytest.raises(TypeError, match=r"tensor-valued lr is not supported.*float\(value\)"):
        getattr(optim, name)([cr.zeros(2, requires_grad=True)], lr=make())


def test_tensor_beta_is_refused_by_name_and_numbers_still_pass():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"tensor-valued betas\[0\]"):
        optim.Adam([w], betas=(cr.tensor(0.9), 0.999))
    assert optim.Adam([w], lr=np.float64(0.01)).param_groups[0]["lr"] == 0.01
