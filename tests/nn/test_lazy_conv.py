"""LazyConv1d/2d/3d and LazyConvTranspose1d/2d/3d against PyTorch's: in_channels from the
first input, PyTorch's reprs before and after, the layer a Conv2d (its kind) once shaped, an
optimizer made before the first call updating it, PyTorch's values with the same weights,
cr.save, and PyTorch's errors. They were NotSupportedError."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

CASES = [
    ("LazyConv1d(4, 3, padding='same', padding_mode='reflect')", (3, 5)),
    ("LazyConv2d(8, 3, stride=2, padding=1, groups=2, bias=False)", (2, 4, 7, 7)),
    ("LazyConv3d(2, 2)", (1, 3, 3, 3, 3)),
    ("LazyConvTranspose1d(2, 3)", (2, 4, 5)),
    ("LazyConvTranspose2d(6, 3, stride=2, output_padding=1, groups=3)", (2, 3, 4, 4)),
    ("LazyConvTranspose3d(2, 2, stride=2)", (1, 2, 2, 2, 2)),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("expression, shape", CASES)
def test_lazy_convolutions_match_torch(expression, shape):
    ours, theirs = eval("nn." + expression), eval("torch.nn." + expression)  # our strings
    assert repr(ours) == repr(theirs)
    opt = cr.optim.SGD(ours.parameters(), lr=0.1)  # made before the shapes are known
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out, expected = ours(x), theirs(torch.from_numpy(x))
    assert type(ours).__name__ == type(theirs).__name__ == expression[4:].split("(")[0]
    assert repr(ours) == repr(theirs) and ours.weight.shape == tuple(theirs.weight.shape)
    fan_in = ours.weight.shape[1] * math.prod(ours.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # PyTorch's range
    assert 0 < np.abs(ours.weight.detach().numpy()).max() <= bound
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(out.detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert out.shape == tuple(expected.shape)
    before = ours.weight.detach().numpy().copy()
    out.sum().backward()
    opt.step()
    assert not np.array_equal(before, ours.weight.detach().numpy())


def test_a_lazy_cnn_saves_as_the_layers_it_became(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    x = cr.randn(2, 3, 6, 6)
    expected = model(x)
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    cr.save(model, tmp_path / "lazy.safetensors")
    loaded = cr.load(tmp_path / "lazy.safetensors")
    np.testing.assert_array_equal(loaded(x).detach().numpy(), expected.detach().numpy())


def test_pytorchs_errors():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input"):
        nn.LazyConv2d(4, 3)(cr.ones(3, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(cr.ones(1, 3, 5, 5))
    with pytest.raises(ValueError, match="LazyConv2d: groups=3 must divide"):
        nn.LazyConv2d(4, 3, groups=3)
