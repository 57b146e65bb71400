"""cr.linalg.matrix_exp (and cr.matrix_exp, Tensor.matrix_exp) against torch: values over a
range of norms (scaling and squaring), gradients, second derivatives, float32 and float64."""

import numpy as np
import pytest
from linalg_check import check, general

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [0.01, 1.0, 4.0])
@pytest.mark.parametrize("shape", [(3, 3), (2, 1, 4, 4)])
def test_matrix_exp_matches_torch(shape, scale, dtype):
    a = general(np.random.default_rng(0), shape) * scale
    tol = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-4)}[dtype]
    check(cr.linalg.matrix_exp, torch.linalg.matrix_exp, [a], dtype, tol=tol)


def test_large_norms_are_scaled_and_squared_as_torch():
    a = general(np.random.default_rng(1), (2, 4, 4)) * np.array([30.0, 0.001])[:, None, None]
    mine = cr.matrix_exp(cr.tensor(a, dtype=cr.float64)).numpy()
    theirs = torch.matrix_exp(torch.tensor(a)).numpy()
    np.testing.assert_allclose(mine, theirs, rtol=1e-11 * np.abs(theirs).max(), atol=0)
    assert np.allclose(cr.tensor(a, dtype=cr.float64).matrix_exp().numpy(), theirs, rtol=1e-9)


def test_second_derivative_matches_torch():
    a = general(np.random.default_rng(2), (2, 3, 3))
    mine = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    ref = torch.tensor(a, requires_grad=True)
    (grad,) = cr.autograd.grad(cr.linalg.matrix_exp(mine).pow(2).sum(), [mine], create_graph=True)
    (expected,) = torch.autograd.grad(
        torch.linalg.matrix_exp(ref).pow(2).sum(), [ref], create_graph=True
    )
    grad.pow(2).sum().backward()
    expected.pow(2).sum().backward()
    np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-9)
    cr.gradgradcheck(lambda t: cr.linalg.matrix_exp(t).sum(-1), cr.tensor(a, requires_grad=True))


def test_errors_are_pytorchs_kind():
    with pytest.raises(RuntimeError, match="square"):
        cr.linalg.matrix_exp(cr.ones(2, 3))
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.linalg.matrix_exp(cr.tensor([[1, 2], [3, 4]]))
