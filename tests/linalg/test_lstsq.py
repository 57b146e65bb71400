"""cr.linalg.lstsq against torch.linalg.lstsq: solutions and their gradients (float32 and
float64, tall, square and wide A, vector and matrix B, broadcast batches), each driver's other
outputs, a rank-deficient A (the minimum-norm solution), and PyTorch's errors."""

import numpy as np
import pytest
from linalg_check import check, general

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]
LOOSE = {"float32": dict(rtol=1e-3, atol=1e-3)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "a_shape, b_shape",
    [
        ((5, 3), (5, 2)),
        ((3, 3), (3,)),
        ((2, 5, 3), (2, 5)),
        ((2, 3, 5), (1, 3, 2)),
        ((1, 4, 2), (3, 4, 1)),
    ],
)
def test_solution_and_gradient_match_torch(a_shape, b_shape, dtype):
    rng = np.random.default_rng(0)
    a, b = general(rng, a_shape), general(rng, b_shape)
    check(
        lambda x, y: cr.linalg.lstsq(x, y).solution,
        lambda x, y: torch.linalg.lstsq(x, y).solution,
        [a, b],
        dtype,
        tol=LOOSE.get(dtype),
    )


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("b_shape", [(2, 5, 2), (2, 5)])
def test_every_output_of_every_driver_matches_torch(driver, b_shape):
    rng = np.random.default_rng(1)
    a, b = general(rng, (2, 5, 3)), general(rng, b_shape)
    mine = cr.linalg.lstsq(
        cr.tensor(a, dtype=cr.float64), cr.tensor(b, dtype=cr.float64), driver=driver
    )
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for name, x, y in zip(mine._fields, mine, theirs):
        assert x.shape == tuple(y.shape) and str(x.dtype) == str(y.dtype)[6:], name
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_rank_deficient_a_gives_the_minimum_norm_solution_as_torch():
    rng = np.random.default_rng(2)
    low = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 3))  # rank 2
    b = rng.standard_normal((5, 1))
    mine = cr.linalg.lstsq(cr.tensor(low, dtype=cr.float64), cr.tensor(b, dtype=cr.float64))
    theirs = torch.linalg.lstsq(torch.tensor(low), torch.tensor(b))
    np.testing.assert_allclose(mine.solution.numpy(), theirs.solution.numpy(), rtol=1e-8)
    assert mine.rank.tolist() == theirs.rank.tolist() == 2


def test_errors_are_pytorchs_kind():
    for a_shape, b_shape in (((2, 5, 3), (5,)), ((5, 3), (2, 5, 1)), ((2, 5, 3), (1, 5))):
        a, b = np.ones(a_shape), np.ones(b_shape)
        with pytest.raises(RuntimeError):
            torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
        with pytest.raises(RuntimeError, match="linalg.lstsq: B"):
            cr.linalg.lstsq(cr.tensor(a), cr.tensor(b))
    with pytest.raises(RuntimeError, match="same number of rows"):
        cr.linalg.lstsq(cr.ones(5, 3), cr.ones(4, 2))
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.linalg.lstsq(cr.ones(5, 3), cr.ones(5, 2, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.linalg.lstsq(cr.tensor([[1, 2], [3, 4]]), cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="driver"):
        cr.linalg.lstsq(cr.eye(2), cr.ones(2), driver="gelsx")
