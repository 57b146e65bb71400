"""cr.linalg.solve_triangular / cond / matrix_rank / multi_dot / vecdot / cross / diagonal /
matmul against torch.linalg (values, gradients, float32 and float64) and finite differences."""

import numpy as np
import pytest
from linalg_check import check, general, well_conditioned

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_solve_triangular_matches_torch(upper, left, unitriangular, dtype):
    a = well_conditioned(np.random.default_rng(0), (2, 3, 3))  # both triangles full: one is read
    b = np.random.default_rng(1).standard_normal((2, 3, 2) if left else (2, 2, 3))
    options = dict(upper=upper, left=left, unitriangular=unitriangular)
    check(
        lambda x, y: cr.linalg.solve_triangular(x, y, **options),
        lambda x, y: torch.linalg.solve_triangular(x, y, **options),
        [a, b],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, float("inf"), -float("inf")])
def test_cond_matches_torch(p, dtype):
    a = well_conditioned(np.random.default_rng(2), (2, 3, 3))
    # PyTorch 2.13's backward fails for these p (an inverse it modifies in place): values only,
    # and the gradient against finite differences
    torch_grad = p in (None, 2, -2, "nuc")
    check(
        lambda t: cr.linalg.cond(t, p),
        lambda t: torch.linalg.cond(t, p),
        [a],
        dtype,
        tol={"float32": dict(rtol=1e-3, atol=1e-3)}.get(dtype),
        grad=torch_grad,
    )
    if not torch_grad and dtype == "float64":
        cr.gradcheck(lambda t: cr.linalg.cond(t, p), cr.tensor(a, requires_grad=True))


def test_cond_of_a_singular_matrix_is_inf_as_torch():
    singular = [[1.0, 2.0], [2.0, 4.0]]
    assert (
        cr.linalg.cond(cr.tensor(singular), "fro").item()
        == torch.linalg.cond(torch.tensor(singular), "fro").item()
        == float("inf")
    )


@pytest.mark.parametrize("kwargs", [{}, {"atol": 0.5}, {"rtol": 0.3}, {"hermitian": True}])
def test_matrix_rank_matches_torch(kwargs):
    rng = np.random.default_rng(3)
    low = rng.standard_normal((2, 4, 2))
    a = low @ np.swapaxes(low, -1, -2)  # symmetric, rank 2
    a[1] += np.diag([0.0, 0.0, 0.2, 1.0])
    mine, theirs = (
        cr.linalg.matrix_rank(cr.tensor(a), **kwargs),
        torch.linalg.matrix_rank(torch.tensor(a), **kwargs),
    )
    assert mine.dtype == np.int64 and mine.tolist() == theirs.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shapes", [[(3,), (3, 4), (4,)], [(2, 3), (3, 4), (4, 5)], [(3,), (3, 2)], [(2, 3), (3,)]]
)
def test_multi_dot_matches_torch(shapes, dtype):
    rng = np.random.default_rng(4)
    arrays = [general(rng, s) for s in shapes]
    check(lambda *t: cr.linalg.multi_dot(t), lambda *t: torch.linalg.multi_dot(t), arrays, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vecdot_cross_diagonal_matmul_match_torch(dtype):
    rng = np.random.default_rng(5)
    x, y = general(rng, (2, 1, 3)), general(rng, (4, 3))
    check(
        lambda a, b: cr.linalg.vecdot(a, b), lambda a, b: torch.linalg.vecdot(a, b), [x, y], dtype
    )
    check(
        lambda a, b: cr.linalg.vecdot(a, b, dim=0),
        lambda a, b: torch.linalg.vecdot(a, b, dim=0),
        [y, y],
        dtype,
    )
    z = general(rng, (1, 4, 3))
    check(lambda a, b: cr.linalg.cross(a, b), lambda a, b: torch.linalg.cross(a, b), [x, z], dtype)
    m = general(rng, (2, 3, 4))
    check(
        lambda a: cr.linalg.diagonal(a, offset=1),
        lambda a: torch.linalg.diagonal(a, offset=1),
        [m],
        dtype,
    )
    check(cr.linalg.matmul, torch.linalg.matmul, [m, np.swapaxes(m, -1, -2)], dtype)


def test_errors_are_pytorchs_kind():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        cr.linalg.solve_triangular(cr.eye(3), cr.ones(3), upper=True)
    with pytest.raises(RuntimeError, match="expected at least 2 tensors"):
        cr.linalg.multi_dot([cr.ones(3)])
    with pytest.raises(RuntimeError, match="must be 2-D"):
        cr.linalg.multi_dot([cr.ones(3), cr.ones(2, 3, 3), cr.ones(3)])
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.linalg.vecdot(cr.tensor([1, 2]), cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        cr.linalg.cross(cr.ones(4, 3), cr.ones(3))
    with pytest.raises(RuntimeError, match="square"):
        cr.linalg.cond(cr.ones(2, 3), "fro")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [None, 2, 5])
def test_vander_matches_torch(n, dtype):
    x = np.array([[0.0, 2.0, -1.5], [0.5, 1.0, 3.0]])  # 0 included: a finite gradient there
    check(lambda t: cr.linalg.vander(t, N=n), lambda t: torch.linalg.vander(t, N=n), [x], dtype)
    assert cr.linalg.vander(cr.tensor([1, 2])).tolist() == [[1, 1], [1, 2]]  # integers, as torch


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensorinv_and_tensorsolve_match_torch(dtype):
    rng = np.random.default_rng(6)
    a = well_conditioned(rng, (6, 6)).reshape(2, 3, 6)
    check(
        lambda t: cr.linalg.tensorinv(t, ind=2),
        lambda t: torch.linalg.tensorinv(t, ind=2),
        [a],
        dtype,
    )
    b = rng.standard_normal((2, 3))
    check(cr.linalg.tensorsolve, torch.linalg.tensorsolve, [a, b], dtype)
    moved = np.moveaxis(a, -1, 0)  # (6, 2, 3): dims=(0,) moves it back to the end
    check(
        lambda x, y: cr.linalg.tensorsolve(x, y, dims=(0,)),
        lambda x, y: torch.linalg.tensorsolve(x, y, dims=(0,)),
        [moved, b],
        dtype,
    )


def test_vander_tensorinv_tensorsolve_errors():
    with pytest.raises(RuntimeError, match="greater than 1"):
        cr.linalg.vander(cr.tensor([1.0, 2.0]), N=1)
    with pytest.raises(RuntimeError, match="prod"):
        cr.linalg.tensorinv(cr.ones(4, 6, 3), ind=2)
    with pytest.raises(RuntimeError, match="does not fit"):
        cr.linalg.tensorsolve(cr.ones(2, 3, 5), cr.ones(2, 3))


def test_tolerances_may_be_tensors_over_the_batch_as_torch():
    a = general(np.random.default_rng(7), (2, 4, 3))
    for kwargs in (
        {"atol": [0.0, 10.0]},
        {"rtol": [0.0, 10.0]},
        {"atol": [0.0, 0.5], "rtol": [0.1, 0.1]},
    ):
        mine = {
            k: cr.tensor(v, dtype=cr.float64) if isinstance(v, list) else v
            for k, v in kwargs.items()
        }
        theirs = {
            k: torch.tensor(v, dtype=torch.float64) if isinstance(v, list) else v
            for k, v in kwargs.items()
        }
        ours_rank = cr.linalg.matrix_rank(cr.tensor(a, dtype=cr.float64), **mine)
        assert ours_rank.tolist() == torch.linalg.matrix_rank(torch.tensor(a), **theirs).tolist()
        np.testing.assert_allclose(
            cr.linalg.pinv(cr.tensor(a, dtype=cr.float64), **mine).numpy(),
            torch.linalg.pinv(torch.tensor(a), **theirs).numpy(),
            atol=1e-12,
        )
