"""LazyBatchNorm1d/2d/3d and LazyInstanceNorm1d/2d/3d against PyTorch's: num_features from
the first input, PyTorch's defaults (the lazy instance norms are affine and track statistics)
and reprs, the layer a BatchNorm2d (its kind) once shaped, values and running statistics in
training and evaluation. They were NotSupportedError."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

CASES = [
    ("LazyBatchNorm1d()", (4, 3)),
    ("LazyBatchNorm1d(momentum=None)", (4, 3, 5)),
    ("LazyBatchNorm2d(affine=False)", (2, 3, 4, 4)),
    ("LazyBatchNorm3d(eps=1e-3, track_running_stats=False)", (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d()", (2, 3, 5)),
    ("LazyInstanceNorm2d(momentum=0.3)", (2, 3, 4, 5)),
    ("LazyInstanceNorm3d(bias=False)", (2, 3, 2, 3, 4)),
]


@pytest.mark.parametrize("expression, shape", CASES)
def test_lazy_norms_match_torch(expression, shape):
    ours = eval("nn." + expression).double()  # the test's own strings
    theirs = eval("torch.nn." + expression).double()
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    for training in (True, True, False):
        ours.train(training), theirs.train(training)
        x = rng.standard_normal(shape) * 3 + 1
        out, expected = ours(cr.tensor(x, dtype="float64")), theirs(torch.from_numpy(x))
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    assert type(ours).__name__ == type(theirs).__name__ == expression[4:].split("(")[0]
    assert repr(ours) == repr(theirs)
    state = theirs.state_dict()
    assert set(ours.state_dict()) == set(state)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(value), state[name].numpy(), rtol=1e-10)


def test_a_lazy_instance_norm_reads_one_sample_too():
    # PyTorch's reads dimension 1 of an unbatched (C, H, W) image and then refuses it
    layer = nn.LazyInstanceNorm2d()
    assert layer(cr.randn(3, 4, 5)).shape == (3, 4, 5) and layer.num_features == 3
    with pytest.raises(cr.ShapeError, match=r"expected \(N, C, \.\.\.\)"):
        nn.LazyBatchNorm1d()(cr.ones(3))
