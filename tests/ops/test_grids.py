"""meshgrid, cartesian_prod, tril_indices and triu_indices against PyTorch (values, shapes,
dtypes, errors), with gradients back to the 1-D inputs checked against torch and float64
finite differences."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:torch.meshgrid")  # torch warns, we do not

VECTORS = [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0]), np.array(7.0), np.array([6.0, 8.0])]
ARGS = [(0,), (0, 1), (0, 1, 3), (2, 0), (0, 2, 1), (1, 0, 3, 0)]


def pair(picks):
    ours = [cr.tensor(VECTORS[i], dtype="float64", requires_grad=True) for i in picks]
    theirs = [torch.tensor(VECTORS[i], requires_grad=True) for i in picks]
    return ours, theirs


def check_gradients(ours_in, ours_out, theirs_in, theirs_out):
    rng = np.random.default_rng(0)
    for o, t in zip(ours_out, theirs_out):
        assert o.shape == tuple(t.shape) and o.dtype == np.float64
        np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    upstream = [rng.standard_normal(o.shape) for o in ours_out]
    sum(((o * cr.tensor(u, dtype="float64")).sum() for o, u in zip(ours_out, upstream))).backward()
    sum(((t * torch.tensor(u)).sum() for t, u in zip(theirs_out, upstream))).backward()
    for o, t in zip(ours_in, theirs_in):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("picks", ARGS)
def test_meshgrid_matches_torch(picks, indexing):
    ours, theirs = pair(picks)
    out = cr.meshgrid(*ours, indexing=indexing)
    assert isinstance(out, tuple) and len(out) == len(picks)
    check_gradients(ours, out, theirs, torch.meshgrid(*theirs, indexing=indexing))
    again = cr.meshgrid(list(ours), indexing=indexing)  # a list, as PyTorch accepts
    assert [g.tolist() for g in again] == [g.tolist() for g in out]


def test_meshgrid_defaults_to_ij_without_a_warning():
    ours, theirs = pair((0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.meshgrid(*ours)
    expected = torch.meshgrid(*theirs, indexing="ij")
    assert [g.tolist() for g in out] == [g.tolist() for g in expected]


@pytest.mark.parametrize("picks", [(0,), (0, 1), (0, 1, 3), (1, 0, 1)])
def test_cartesian_prod_matches_torch(picks):
    ours, theirs = pair(picks)
    check_gradients(ours, [cr.cartesian_prod(*ours)], theirs, [torch.cartesian_prod(*theirs)])


def test_grid_gradients_pass_finite_differences():
    a = cr.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    b = cr.tensor([1.5, 0.25], dtype="float64", requires_grad=True)
    assert gradcheck(
        lambda x, y: cr.meshgrid(x, y, indexing="xy")[0] * cr.meshgrid(x, y)[1].T, a, b
    )
    assert gradcheck(lambda x, y: cr.cartesian_prod(x, y) ** 2, a, b)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.meshgrid(lib.zeros(2, 2)),
        lambda lib: lib.meshgrid(),
        lambda lib: lib.meshgrid(lib.zeros(2), lib.tensor([1, 2])),
        lambda lib: lib.meshgrid(lib.zeros(2), indexing="yx"),
        lambda lib: lib.cartesian_prod(lib.zeros(2, 2)),
        lambda lib: lib.cartesian_prod(lib.tensor(1.0)),
        lambda lib: lib.tril_indices(-1, 2),
        lambda lib: lib.triu_indices(2, -2),
        lambda lib: lib.tril_indices(2, 2, dtype=lib.float32),
    ],
)
def test_grid_errors_where_torch_errors(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises((RuntimeError, ValueError), match=r"meshgrid|cartesian_prod|_indices"):
        call(cr)


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize(
    "row, col, offset",
    [(3, 3, 0), (4, 2, 1), (2, 5, -1), (0, 3, 0), (3, 0, 0), (3, 4, -10), (3, 4, 9)],
)
def test_triangle_indices_match_torch(name, row, col, offset):
    ours = getattr(cr, name)(row, col, offset)
    theirs = getattr(torch, name)(row, col, offset)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not ours.requires_grad
    assert getattr(cr, name)(row, col, offset, dtype="int32").dtype == np.int32
