"""Max pooling where a window's values are all −∞ (masked positions, a log-probability of 0)
and the window reaches into the padding, which is −∞ too: PyTorch's arg-max is then the
window's first tap inside the input, so the indices point into the input (max_unpool can use
them) and the gradient reaches the input. It went to the padding (negative indices, lost
gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def masked(shape, seed):
    x = np.random.default_rng(seed).integers(-1, 2, shape).astype(float)
    x[np.random.default_rng(seed + 1).random(shape) < 0.6] = -np.inf
    x.reshape(-1)[: shape[-1]] = -np.inf  # a whole first row: every window along it is −∞
    return x


CASES = [
    ("max_pool1d", (2, 3, 7), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", (1, 1, 2), dict(kernel_size=2, stride=2, padding=1)),
    ("max_pool2d", (2, 2, 5, 6), dict(kernel_size=3, stride=1, padding=1)),
    ("max_pool2d", (1, 1, 2, 2), dict(kernel_size=2, stride=1, padding=1)),
    ("max_pool2d", (2, 2, 7, 6), dict(kernel_size=(3, 2), stride=2, padding=(1, 1), dilation=2)),
    ("max_pool2d", (1, 2, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool3d", (1, 2, 3, 4, 5), dict(kernel_size=3, stride=1, padding=1)),
    ("max_pool3d", (2, 1, 4, 5, 3), dict(kernel_size=(2, 3, 2), stride=2, padding=(1, 1, 0))),
]


@pytest.mark.parametrize("name, shape, options", CASES)
@pytest.mark.parametrize("seed", [0, 5])
def test_minus_infinity_windows_pick_the_first_input_tap_as_pytorch(name, shape, options, seed):
    x = masked(shape, seed)
    ours = cr.tensor(x, dtype="float64", requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, idx = getattr(F, name)(ours, return_indices=True, **options)
    expected, expected_idx = getattr(TF, name)(theirs, return_indices=True, **options)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), expected_idx.numpy())
    assert idx.numpy().min() >= 0
    upstream = np.random.default_rng(seed).standard_normal(tuple(expected.shape))
    out.backward(cr.tensor(upstream, dtype="float64"))
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), rtol=1e-12)


def test_the_indices_of_a_masked_map_unpool():
    x = masked((1, 1, 4, 4), 3)
    out, idx = F.max_pool2d(cr.tensor(x, dtype="float64"), 2, stride=2, padding=1,
                            return_indices=True)
    expected = TF.max_unpool2d(*TF.max_pool2d(torch.tensor(x), 2, 2, 1, return_indices=True),
                               2, 2, 1, output_size=(4, 4))
    got = F.max_unpool2d(out, idx, 2, 2, 1, output_size=(4, 4))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
