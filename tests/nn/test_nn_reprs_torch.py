"""Reprs of layers, parameter containers and load_state_dict's result, against PyTorch."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pairs():
    def params(lib):
        return [lib.zeros(2), lib.nn.Parameter(lib.zeros(2, 3, dtype=lib.float64))]

    def net(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.scales = lib.nn.ParameterList([lib.ones(1)])
                self.fc = lib.nn.Linear(1, 1)

        return Net()

    yield lambda lib: lib.nn.ParameterList(params(lib))
    yield lambda lib: lib.nn.ParameterDict(OrderedDict(zip("ba", params(lib))))
    yield lambda lib: lib.nn.ParameterDict({"s": lib.tensor(1.0), "a": lib.zeros(3)})
    yield lambda lib: lib.nn.ParameterList()
    yield lambda lib: lib.nn.ParameterDict()
    yield net
    yield lambda lib: lib.nn.Hardtanh(inplace=True)
    yield lambda lib: lib.nn.Hardtanh(-2, 2)
    yield lambda lib: lib.nn.Hardtanh(-0.5, 1.5, True)
    yield lambda lib: lib.nn.ReLU6(inplace=True)
    yield lambda lib: lib.nn.ReLU6()
    yield lambda lib: lib.nn.Softplus(beta=2)
    yield lambda lib: lib.nn.Softplus(beta=0.5, threshold=10)
    yield lambda lib: lib.nn.LeakyReLU(1)
    yield lambda lib: lib.nn.ELU(alpha=2)
    yield lambda lib: lib.nn.Unflatten(1, [3, 2])
    yield lambda lib: lib.nn.Unflatten(1, (3, 2))


@pytest.mark.parametrize("build", list(_pairs()))
def test_repr_matches_torch(build):
    assert repr(build(cr)) == repr(build(torch))


def test_values_kept_as_given_still_compute_as_torch():
    x = np.linspace(-8, 8, 9, dtype=np.float32)
    for build in (lambda lib: lib.nn.Hardtanh(-2, 2), lambda lib: lib.nn.Softplus(beta=2)):
        ours = build(cr)(cr.tensor(x))
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours.numpy(), build(torch)(torch.tensor(x)).numpy(), rtol=1e-6)
    assert cr.nn.Unflatten(1, [3, 2])(cr.ones(4, 6)).shape == (4, 3, 2)


def test_load_state_dict_result_prints_as_torchs():
    ours, theirs = cr.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    assert repr(ours.load_state_dict(ours.state_dict())) == "<All keys matched successfully>"
    assert str(ours.load_state_dict(ours.state_dict())) == str(
        theirs.load_state_dict(theirs.state_dict())
    )
    partial = ours.load_state_dict({"weight": np.zeros((1, 2)), "x": np.zeros(1)}, strict=False)
    expected = theirs.load_state_dict(
        {"weight": torch.zeros(1, 2), "x": torch.zeros(1)}, strict=False
    )
    assert repr(partial) == repr(expected)
    missing, unexpected = partial  # still a named tuple
    assert (missing, unexpected) == (["bias"], ["x"]) == tuple(expected)
