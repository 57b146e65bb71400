"""PyTorch's memory formats (``x.to(memory_format=torch.channels_last)`` in image code): the
names, the layouts they give (NumPy strides as PyTorch's), values and gradients unchanged,
and PyTorch's errors. ``cr.channels_last`` was an AttributeError, ``contiguous(...)``,
``is_contiguous(...)``, ``to(memory_format=...)`` and ``clone(memory_format=...)`` TypeErrors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def test_channels_last_lays_out_memory_as_pytorch_and_keeps_the_values():
    x = cr.randn(2, 3, 4, 5, requires_grad=True)
    xt = torch.tensor(x.detach().numpy())
    for convert in [
        lambda t, lib: t.to(memory_format=lib.channels_last),
        lambda t, lib: t.contiguous(memory_format=lib.channels_last),
        lambda t, lib: t.clone(memory_format=lib.channels_last),
    ]:
        y, yt = convert(x, cr), convert(xt, torch)
        assert y.array.strides == tuple(s * 4 for s in yt.stride())
        np.testing.assert_array_equal(y.detach().numpy(), yt.numpy())
        for fmt in ("contiguous_format", "channels_last", "preserve_format"):
            assert y.is_contiguous(memory_format=getattr(cr, fmt)) == yt.is_contiguous(
                memory_format=getattr(torch, fmt)
            )
    back = x.to(memory_format=cr.channels_last).contiguous()
    assert back.is_contiguous() and back.array.strides == (240, 80, 20, 4)
    volume = cr.randn(2, 3, 2, 4, 5).to(memory_format=cr.channels_last_3d)
    assert volume.is_contiguous(memory_format=cr.channels_last_3d)
    assert not volume.is_contiguous(memory_format=cr.channels_last)  # a 5-D tensor: never
    assert x.to(memory_format=cr.preserve_format) is x


def test_a_channels_last_model_trains_as_the_contiguous_one():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten())
    x = cr.randn(2, 3, 6, 6, requires_grad=True)
    expected = model(x)
    (expected**2).sum().backward()
    grad = x.grad.numpy().copy()
    x.grad = None
    model = model.to(memory_format=cr.channels_last)  # parameters keep their layout
    out = model(x.to(memory_format=cr.channels_last))
    (out**2).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-5, atol=1e-7)


def test_the_errors_are_pytorchs():
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
        cr.randn(2, 3, 4).contiguous(memory_format=cr.channels_last)
    with pytest.raises(RuntimeError):
        torch.randn(2, 3, 4).contiguous(memory_format=torch.channels_last)
    with pytest.raises(TypeError, match="memory_format must be cr.contiguous_format"):
        cr.randn(2, 3, 4, 5).to(memory_format="channels_last")
    assert repr(cr.channels_last) == "chainrule.channels_last"
    assert isinstance(cr.channels_last, cr.memory_format)
