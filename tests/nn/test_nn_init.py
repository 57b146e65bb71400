"""nn.init: distribution statistics, gains against torch, seeding, in-place behaviour."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


def _param(*shape):
    return nn.Parameter(np.zeros(shape, np.float32))


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param in [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
        *((f"conv{d}d", None) for d in (1, 2, 3)),
        *((f"conv_transpose{d}d", None) for d in (1, 2, 3)),
    ]:
        ours, theirs = init.calculate_gain(name, param), torch.nn.init.calculate_gain(name, param)
        assert ours == pytest.approx(theirs, rel=1e-12)
        assert type(ours) is type(theirs)  # PyTorch's linear-like gains are the int 1
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize(
    "fill, mean, std, bound",
    [
        (lambda p: init.uniform_(p, -2.0, 4.0), 1.0, 6 / math.sqrt(12), (-2.0, 4.0)),
        (lambda p: init.normal_(p, 0.5, 2.0), 0.5, 2.0, None),
        # fan_in = 300, fan_out = 200
        (init.xavier_uniform_, 0.0, math.sqrt(2 / 500), (-math.sqrt(6 / 500), math.sqrt(6 / 500))),
        (init.xavier_normal_, 0.0, math.sqrt(2 / 500), None),
        (
            lambda p: init.kaiming_uniform_(p, nonlinearity="relu"),
            0.0,
            math.sqrt(2 / 300),
            (-math.sqrt(6 / 300), math.sqrt(6 / 300)),
        ),
        (
            lambda p: init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu"),
            0.0,
            math.sqrt(2 / 200),
            None,
        ),
    ],
)
def test_initialiser_statistics(fill, mean, std, bound):
    p = _param(200, 300)
    data = p.array
    assert fill(p) is p and p.array is data  # in place, same array
    assert p.data.mean() == pytest.approx(mean, abs=4 * std / math.sqrt(p.numel()))
    assert p.data.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert bound[0] <= p.data.min() and p.data.max() <= bound[1]


def test_constant_fills_and_fan_checks():
    p = _param(3, 2)
    assert np.all(init.ones_(p).data == 1)
    assert np.all(init.zeros_(p).data == 0)
    assert np.all(init.constant_(p, 0.25).data == 0.25)
    with pytest.raises(cr.ShapeError, match="at least 2 dimensions"):
        init.xavier_uniform_(_param(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(_param(2, 2), mode="fan")


def test_seeding_reproduces_initial_weights():
    cr.manual_seed(42)
    first = nn.Linear(5, 4).weight.array.copy()
    cr.manual_seed(42)
    np.testing.assert_array_equal(nn.Linear(5, 4).weight.data, first)
    assert not np.array_equal(nn.Linear(5, 4).weight.data, first)  # the sequence moves on
    a = init.normal_(_param(3, 3), generator=cr.Generator(9)).data
    b = init.normal_(_param(3, 3), generator=cr.Generator(9)).data
    np.testing.assert_array_equal(a, b)
    g = cr.Generator(1)
    np.testing.assert_array_equal(
        nn.Linear(3, 3, generator=g).weight.data,
        nn.Linear(3, 3, generator=cr.Generator(1)).weight.data,
    )


def test_initialisers_do_not_record_a_graph():
    p = _param(4, 4)
    init.kaiming_uniform_(p)
    assert p.is_leaf and p.grad is None and p.dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 3), (8, 4, 3, 3), (5, 2, 7), (0, 3), (3, 0, 2)])
def test_private_fan_helpers_as_pytorchs(shape):
    """reset_parameters() copied from nn.Linear calls init._calculate_fan_in_and_fan_out."""
    torch = pytest.importorskip("torch")
    ours, theirs = cr.zeros(*shape), torch.zeros(*shape)
    assert init._calculate_fan_in_and_fan_out(ours) == (
        torch.nn.init._calculate_fan_in_and_fan_out(theirs)
    )
    for mode in ("fan_in", "fan_out"):
        assert init._calculate_correct_fan(ours, mode) == (
            torch.nn.init._calculate_correct_fan(theirs, mode)
        )
    with pytest.raises(ValueError):
        init._calculate_fan_in_and_fan_out(cr.zeros(3))
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init._calculate_correct_fan(ours, "fan_avg")


@pytest.mark.parametrize("shape, sparsity", [((50, 7), 0.1), ((9, 4), 0.5), ((3, 5), 0.34)])
def test_sparse_zeros_the_same_count_per_column_as_pytorch(shape, sparsity):
    torch = pytest.importorskip("torch")
    ours = cr.nn.init.sparse_(cr.nn.Parameter(cr.zeros(*shape)), sparsity, std=0.02)
    theirs = torch.nn.init.sparse_(torch.empty(*shape), sparsity, std=0.02)
    ours_zeros = (ours.detach().numpy() == 0).sum(axis=0)
    theirs_zeros = (theirs.numpy() == 0).sum(axis=0)
    np.testing.assert_array_equal(ours_zeros, theirs_zeros)  # ⌈sparsity · rows⌉ each
    assert not np.array_equal(ours_zeros, np.zeros(shape[1]))


def test_sparse_draws_normal_values_and_refuses_other_ranks():
    torch = pytest.importorskip("torch")
    w = cr.nn.init.sparse_(cr.nn.Parameter(cr.zeros(400, 300)), 0.2, std=0.05)
    kept = w.detach().numpy()[w.detach().numpy() != 0]
    assert kept.size == 300 * (400 - 80)
    assert abs(kept.std() - 0.05) < 0.002 and abs(kept.mean()) < 0.002
    for bad in ((5,), (2, 3, 4)):
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions") as ours:
            cr.nn.init.sparse_(cr.zeros(*bad), 0.1)
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.sparse_(torch.empty(*bad), 0.1)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize(
    "name, args",
    [
        ("uniform_", ()),
        ("normal_", ()),
        ("xavier_uniform_", ()),
        ("xavier_normal_", ()),
        ("kaiming_uniform_", ()),
        ("kaiming_normal_", ()),
        ("orthogonal_", ()),
        ("sparse_", (0.5,)),
        ("trunc_normal_", ()),
    ],
)
def test_random_initialisers_refuse_integer_and_bool_tensors_as_pytorch(name, args, dtype):
    # written into an int tensor, U(0, 1) would truncate to all zeros without a word
    torch = pytest.importorskip("torch")
    with pytest.raises(NotImplementedError):
        getattr(torch.nn.init, name)(torch.zeros(3, 4, dtype=getattr(torch, dtype)), *args)
    ours = cr.zeros(3, 4, dtype=dtype)
    with pytest.raises(NotImplementedError, match=f"{name}.*{dtype}"):
        getattr(init, name)(ours, *args)
    assert not ours.numpy().any()  # left untouched


def test_deterministic_initialisers_still_fill_integer_tensors_as_pytorch():
    torch = pytest.importorskip("torch")
    for name, args in [("constant_", (2.7,)), ("ones_", ()), ("zeros_", ()), ("eye_", ())]:
        ours = getattr(init, name)(cr.zeros(3, 4, dtype="int64"), *args)
        theirs = getattr(torch.nn.init, name)(torch.zeros(3, 4, dtype=torch.int64), *args)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_calculate_gain_refuses_identity_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("identity")
    with pytest.raises(ValueError, match="unknown nonlinearity 'identity'"):
        cr.nn.init.calculate_gain("identity")
    assert cr.nn.init.calculate_gain("linear") == torch.nn.init.calculate_gain("linear") == 1
