"""cr.linalg.inv / det / slogdet / solve / matrix_power and cr.inverse / det / logdet against
torch on random batched inputs (values and gradients, float32 and float64), float64 finite
differences, second derivatives, and PyTorch's errors (singular, non-square, integer)."""

import numpy as np
import pytest
from linalg_check import check, well_conditioned

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]
SHAPES = [(3, 3), (2, 4, 4), (2, 1, 3, 3)]


def matrices(shape, seed=0):
    return well_conditioned(np.random.default_rng(seed), shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (cr.linalg.inv, torch.linalg.inv),
        (cr.linalg.det, torch.linalg.det),
        (lambda a: cr.linalg.slogdet(a).logabsdet, lambda a: torch.linalg.slogdet(a).logabsdet),
        (lambda a: cr.linalg.slogdet(a)[0], lambda a: torch.linalg.slogdet(a)[0]),
        (cr.inverse, torch.inverse),
        (cr.det, torch.det),
        (lambda a: cr.logdet(a @ a.mT), lambda a: torch.logdet(a @ a.mT)),
        (lambda a: a.inverse(), lambda a: a.inverse()),
        (lambda a: a.det(), lambda a: a.det()),
        (lambda a: a.logdet(), lambda a: a.logdet()),  # NaN where det < 0, as PyTorch
    ],
    ids=[
        "inv",
        "det",
        "logabsdet",
        "sign",
        "cr.inverse",
        "cr.det",
        "logdet",
        "Tensor.inverse",
        "Tensor.det",
        "Tensor.logdet",
    ],
)
def test_matches_torch(ours, theirs, shape, dtype):
    a = matrices(shape)
    check(ours, theirs, [a], dtype, gradcheck=not _has_nan(theirs, a))


def _has_nan(fn, a):
    return bool(torch.isnan(fn(torch.tensor(a))).any())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "a_shape, b_shape",
    [
        ((3, 3), (3,)),  # a vector
        ((2, 3, 3), (3,)),  # one vector for every matrix
        ((2, 3, 3), (2, 3)),  # a batch of vectors: B.shape == A.shape[:-1]
        ((2, 3, 3), (3, 2)),  # a matrix
        ((2, 3, 3), (2, 3, 2)),
        ((3, 3), (4, 3, 2)),  # A broadcast over B's batch
        ((2, 1, 3, 3), (5, 3, 1)),  # both broadcast
    ],
)
@pytest.mark.parametrize("left", [True, False])
def test_solve_matches_torch(a_shape, b_shape, left, dtype):
    a = matrices(a_shape, 1)
    b = np.random.default_rng(2).standard_normal(b_shape)
    if not left:
        if b.ndim > 1 and b_shape != a_shape[:-1]:
            b = np.swapaxes(b, -1, -2)  # X A = B: B is (*, k, n)
        if b.ndim == 1 or b.shape == a_shape[:-1]:  # a vector: PyTorch refuses it here
            with pytest.raises(RuntimeError, match="(?i)incompatible shapes"):
                torch.linalg.solve(torch.tensor(a), torch.tensor(b), left=False)
            with pytest.raises(RuntimeError, match="incompatible shapes"):
                cr.linalg.solve(cr.tensor(a), cr.tensor(b), left=False)
            return
    check(
        lambda x, y: cr.linalg.solve(x, y, left=left),
        lambda x, y: torch.linalg.solve(x, y, left=left),
        [a, b],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power_matches_torch(n, dtype):
    a = matrices((2, 3, 3), 3) / 3  # powers stay of moderate size
    check(
        lambda t: cr.linalg.matrix_power(t, n),
        lambda t: torch.linalg.matrix_power(t, n),
        [a],
        dtype,
        gradcheck=n != 0,
    )
    assert cr.tensor(a).matrix_power(2).allclose(cr.tensor(a @ a))


def test_matrix_power_of_integers_as_torch():
    a = np.array([[1, 1], [0, 1]])
    assert cr.linalg.matrix_power(cr.tensor(a), 3).tolist() == [[1, 3], [0, 1]]
    with pytest.raises(RuntimeError, match="floating-point"):
        cr.linalg.matrix_power(cr.tensor(a), -1)


def test_det_of_a_singular_matrix_has_pytorchs_gradient():
    # PyTorch gives 0 where det(A) = 0 (not the adjugate); so does chainrule
    for m in ([[1.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [2.0, 4.0]]):
        check(cr.linalg.det, torch.linalg.det, [np.array(m)], "float64", gradcheck=False)
    batch = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.eye(2) * 2])
    check(cr.linalg.det, torch.linalg.det, [batch], "float64", gradcheck=False)


def test_second_derivatives_match_torch():
    a = matrices((2, 3, 3), 4)
    b = np.random.default_rng(5).standard_normal((2, 3))
    for ours, theirs, inputs in (
        (lambda t: cr.linalg.inv(t).sum(), lambda t: torch.linalg.inv(t).sum(), [a]),
        (lambda t: cr.linalg.det(t).sum(), lambda t: torch.linalg.det(t).sum(), [a]),
        (lambda t: cr.logdet(t @ t.mT).sum(), lambda t: torch.logdet(t @ t.mT).sum(), [a]),
        (
            lambda t, u: cr.linalg.solve(t, u).sum(),
            lambda t, u: torch.linalg.solve(t, u).sum(),
            [a, b],
        ),
    ):
        mine = [cr.tensor(x, dtype="float64", requires_grad=True) for x in inputs]
        ref = [torch.tensor(x, requires_grad=True) for x in inputs]
        grads = cr.autograd.grad(ours(*mine), mine, create_graph=True)
        expected = torch.autograd.grad(theirs(*ref), ref, create_graph=True)
        sum(g.pow(2).sum() for g in grads).backward()
        sum(g.pow(2).sum() for g in expected).backward()
        for x, y in zip(mine, ref):
            np.testing.assert_allclose(x.grad, y.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_singular_input_raises_linalg_error():
    singular = cr.tensor([[1.0, 2.0], [2.0, 4.0]])
    for call in (
        lambda: cr.linalg.inv(singular),
        lambda: cr.linalg.solve(singular, cr.ones(2)),
        lambda: cr.linalg.matrix_power(singular, -1),
    ):
        with pytest.raises(cr.linalg.LinAlgError, match="singular") as info:
            call()
        assert isinstance(info.value, RuntimeError)
    batch = cr.stack([cr.eye(2), singular.detach()])
    with pytest.raises(cr.LinAlgError, match=r"batch element 1"):
        cr.linalg.inv(batch)
    assert cr.linalg.LinAlgError is cr.LinAlgError


def test_non_square_and_integer_inputs_raise_pytorchs_kind():
    for fn in (cr.linalg.inv, cr.linalg.det, cr.linalg.slogdet, cr.logdet, cr.inverse):
        with pytest.raises(RuntimeError, match="square"):
            fn(cr.ones(2, 3))
        with pytest.raises(RuntimeError, match="floating-point"):
            fn(cr.tensor([[1, 2], [3, 4]]))
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            fn(cr.ones(3))
    with pytest.raises(RuntimeError, match="square"):
        cr.linalg.matrix_power(cr.ones(2, 3), 2)
    with pytest.raises(TypeError, match="integer"):
        cr.linalg.matrix_power(cr.eye(2), 1.5)


def test_solve_errors_are_pytorchs_kind():
    a = cr.eye(3)
    with pytest.raises(RuntimeError, match="incompatible shapes"):
        cr.linalg.solve(a, cr.ones(4, 2))
    with pytest.raises(RuntimeError, match="do not broadcast"):
        cr.linalg.solve(cr.eye(3).expand(2, 3, 3), cr.ones(3, 3, 1))
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.linalg.solve(a, cr.ones(3, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="incompatible shapes"):
        cr.linalg.solve(a, cr.ones(3, 2), left=False)  # X A = B: B is (*, k, 3)


def test_logdet_of_negative_and_zero_determinants_as_torch():
    a = np.stack([np.diag([-1.0, 2.0]), np.diag([3.0, 2.0])])  # det −2 (NaN) and 6
    check(cr.logdet, torch.logdet, [a], "float64", gradcheck=False)
    out = cr.logdet(cr.tensor(a))
    assert np.isnan(out[0].item()) and out[1].item() == pytest.approx(np.log(6))
    assert cr.logdet(cr.zeros(2, 2)).item() == -np.inf


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_empty_matrices_and_batches_as_torch(shape):
    a = np.zeros(shape)
    for fn in ("inv", "det"):
        mine = cr.tensor(a, dtype=cr.float64, requires_grad=True)
        ref = torch.tensor(a, requires_grad=True)
        out, expected = getattr(cr.linalg, fn)(mine), getattr(torch.linalg, fn)(ref)
        np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
        out.sum().backward()
        expected.sum().backward()
        assert mine.grad.shape == tuple(ref.grad.shape)
