"""cr.linalg.vector_norm / matrix_norm / norm against torch.linalg: values and gradients on
random batched inputs (float32 and float64), float64 finite differences, PyTorch's dispatch
rules and its errors."""

import numpy as np
import pytest
from linalg_check import check, general

import chainrule as cr

torch = pytest.importorskip("torch")

INF = float("inf")
DTYPES = ["float32", "float64"]

VECTOR = [
    (2, None, False),
    (1, -1, True),
    (INF, (0, 2), False),
    (-INF, 1, False),
    (3, (-1, -2), True),
    (0.5, None, False),
    (0, 2, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord, dim, keepdim", VECTOR)
def test_vector_norm_matches_torch(ord, dim, keepdim, dtype):
    x = general(np.random.default_rng(0), (2, 3, 4))
    check(
        lambda t: cr.linalg.vector_norm(t, ord, dim, keepdim),
        lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim),
        [x],
        dtype,
        gradcheck=ord != 0,
    )


MATRIX = ["fro", "nuc", 1, -1, 2, -2, INF, -INF]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", MATRIX)
@pytest.mark.parametrize("dim, keepdim", [((-2, -1), False), ((0, 2), True), ((2, 0), False)])
def test_matrix_norm_matches_torch(ord, dim, keepdim, dtype):
    x = general(np.random.default_rng(1), (3, 2, 4))
    check(
        lambda t: cr.linalg.matrix_norm(t, ord, dim, keepdim),
        lambda t: torch.linalg.matrix_norm(t, ord, dim, keepdim),
        [x],
        dtype,
    )


NORM_CALLS = [
    ((4,), dict()),
    ((3, 4), dict()),
    ((2, 3, 4), dict()),
    ((3, 4), dict(ord=1)),  # 2-D with ord: a matrix norm
    ((4,), dict(ord=1)),  # 1-D with ord: a vector norm
    ((3, 4), dict(ord="nuc")),
    ((2, 3, 4), dict(ord=INF, dim=(1, 2))),
    ((2, 3, 4), dict(ord=INF, dim=1)),  # one dim: a vector norm
    ((2, 3, 4), dict(dim=(0, 2), keepdim=True)),  # no ord: the 2-norm over both dims
    ((2, 3, 4), dict(ord="fro", dim=(0, 1))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kwargs", NORM_CALLS)
def test_norm_dispatch_matches_torch(shape, kwargs, dtype):
    x = general(np.random.default_rng(2), shape)
    check(
        lambda t: cr.linalg.norm(t, **kwargs),
        lambda t: torch.linalg.norm(t, **kwargs),
        [x],
        dtype,
    )


def test_gradients_at_ties_and_zero_match_torch():
    # a tied largest column sum and a zero vector: PyTorch's even share and its 0
    x = np.array([[1.0, -1.0], [1.0, 1.0]])
    check(
        lambda t: cr.linalg.matrix_norm(t, 1),
        lambda t: torch.linalg.matrix_norm(t, 1),
        [x],
        "float64",
        gradcheck=False,
    )
    check(
        lambda t: cr.linalg.vector_norm(t, INF),
        lambda t: torch.linalg.vector_norm(t, INF),
        [x],
        "float64",
        gradcheck=False,
    )
    check(
        lambda t: cr.linalg.vector_norm(t, dim=1),
        lambda t: torch.linalg.vector_norm(t, dim=1),
        [np.zeros((2, 3))],
        "float64",
        gradcheck=False,
    )


def test_dtype_argument_casts_without_narrowing():
    x = cr.tensor([[3.0, 4.0]])
    out = cr.linalg.vector_norm(x, dtype=cr.float64)
    assert out.dtype == np.float64 and out.item() == 5.0
    assert cr.linalg.matrix_norm(x, dtype="float64").dtype == np.float64
    with pytest.raises(cr.DTypeError, match="without narrowing"):
        cr.linalg.vector_norm(x.double(), dtype=cr.float32)


def test_errors_are_pytorchs_kind():
    ints = cr.tensor([[1, 2], [3, 4]])
    for call in (
        lambda: cr.linalg.vector_norm(ints),
        lambda: cr.linalg.vector_norm(ints, dtype=cr.float64),  # PyTorch checks the input
        lambda: cr.linalg.matrix_norm(ints),
        lambda: cr.linalg.norm(ints),
    ):
        with pytest.raises(RuntimeError, match="floating-point"):
            call()
    x = cr.ones(2, 3, 4)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        cr.linalg.matrix_norm(cr.ones(3))
    with pytest.raises(RuntimeError, match="2-tuple"):
        cr.linalg.matrix_norm(x, dim=1)
    with pytest.raises(RuntimeError, match="different"):
        cr.linalg.matrix_norm(x, dim=(0, 0))
    with pytest.raises(ValueError, match="order 3 is not supported"):
        cr.linalg.matrix_norm(x, ord=3)
    with pytest.raises(RuntimeError, match="1-D or 2-D"):
        cr.linalg.norm(x, 2)
    with pytest.raises(RuntimeError, match="1 or 2 dims"):
        cr.linalg.norm(x, dim=(0, 1, 2))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        cr.linalg.norm(cr.ones(3), "fro")  # a string ord is a matrix norm
    with pytest.raises(TypeError, match="ord must be a number"):
        cr.linalg.vector_norm(x, "fro")
    with pytest.raises(IndexError):
        cr.linalg.matrix_norm(x, dim=(0, 5))
