"""ConvTranspose1d/2d/3d(x, output_size=...): PyTorch's way to pick one of the ``stride``
output sizes a strided transposed convolution can give (a U-Net's decoder matches its skip
connection: ``up(x, output_size=skip.shape)``). It raised TypeError (no such argument)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

CASES = [
    ("ConvTranspose2d(4, 2, 3, stride=2, padding=1)", (2, 4, 5, 6), (10, 11)),
    ("ConvTranspose2d(4, 2, 3, stride=2, padding=1)", (2, 4, 5, 6), [2, 2, 9, 12]),
    ("ConvTranspose2d(4, 6, (3, 2), stride=(3, 2), groups=2, dilation=2)", (4, 5, 3), (17, 8)),
    ("ConvTranspose2d(4, 6, (3, 2), stride=(3, 2), groups=2, dilation=2)", (4, 5, 3), (6, 18, 7)),
    ("ConvTranspose1d(3, 2, 4, stride=3, padding=1)", (2, 3, 6), [19]),
    ("ConvTranspose1d(3, 2, 4, stride=3, padding=1)", (3, 6), (2, 19)),
    ("ConvTranspose3d(2, 3, 2, stride=2)", (1, 2, 2, 3, 4), (5, 6, 9)),
    ("ConvTranspose2d(4, 2, 3, stride=2, output_padding=1)", (1, 4, 3, 3), None),
]


@pytest.mark.parametrize("expression, shape, output_size", CASES)
def test_output_size_matches_torch(expression, shape, output_size):
    ours = eval("nn." + expression).double()  # the test's own constructor strings
    theirs = eval("torch.nn." + expression).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape)
    xo = cr.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, expected = ours(xo, output_size=output_size), theirs(xt, output_size=output_size)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(cr.tensor(upstream, dtype="float64"))
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(np.asarray(xo.grad), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.weight.grad), theirs.weight.grad, rtol=1e-12)


def test_a_u_net_decoder_matches_its_skip_connection():
    down, up = nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ConvTranspose2d(4, 1, 3, 2, 1)
    for size in (7, 8):  # both sizes halve to 4; the default output is 7
        x = cr.randn(1, 1, size, size)
        assert up(down(x), output_size=x.shape).shape == x.shape


@pytest.mark.parametrize(
    "output_size, match",
    [
        ((12, 12), r"requested an output size of \[12, 12\], but valid sizes range from "
                   r"\[9, 11\] to \[10, 12\] \(for an input of \(5, 6\)\)"),
        ((10,), "for 4D input, output_size must have 2 or 4 elements"),
    ],
)
def test_an_impossible_output_size_is_refused_as_torch(output_size, match):
    layer = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match=match):
        layer(cr.ones(2, 4, 5, 6), output_size=output_size)
    with pytest.raises(ValueError):
        torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)(
            torch.ones(2, 4, 5, 6), output_size=output_size
        )
