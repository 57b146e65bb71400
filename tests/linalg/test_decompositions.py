"""cr.linalg.cholesky / qr / eigh / eigvalsh / svd / svdvals / pinv against torch on random
batched inputs (values and gradients, float32 and float64) and float64 finite differences.

Eigenvectors and singular vectors are unique up to sign: the losses fix the sign (first row
positive) or use sign-free products, as a loss must for the gradient to be defined."""

import numpy as np
import pytest
from linalg_check import check, general, spd, symmetric

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]
LOOSE = {"float32": dict(rtol=1e-3, atol=1e-3)}  # float32 decompositions: ~1e-5 relative each


def tol(dtype):
    return LOOSE.get(dtype)


def signs(lib, vectors):
    """±1 per column making each column's first entry positive (constant: no gradient)."""
    first = vectors[..., :1, :].detach()
    return (
        lib.where(first >= 0, 1.0, -1.0).to(vectors.dtype)
        if lib is torch
        else (cr.where(first >= 0, 1.0, -1.0).to(vectors.dtype))
    )


def sym(t):
    return (t + t.mT) / 2  # a gradient check moves both triangles of a symmetric input


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_matches_torch(shape, upper, dtype):
    a = spd(np.random.default_rng(0), shape)
    check(
        lambda t: cr.linalg.cholesky(sym(t), upper=upper),
        lambda t: torch.linalg.cholesky(sym(t), upper=upper),
        [a],
        dtype,
        tol=tol(dtype),
    )
    check(
        lambda t: cr.cholesky(t),
        lambda t: torch.cholesky(t),
        [a],
        dtype,
        tol=tol(dtype),
        gradcheck=False,
    )  # the raw gradient is symmetric: both triangles share it


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 5, 3), (2, 3, 5), (3, 4)])
@pytest.mark.parametrize("part", ["Q", "R", "both"])
def test_qr_matches_torch(shape, part, dtype):
    a = general(np.random.default_rng(1), shape)

    def pick(q, r):
        return {"Q": q.sum(-1), "R": r.sum(-2), "both": q.sum(-1) + (r * r).sum(-1).sum(-1, True)}[
            part
        ]

    check(
        lambda t: pick(*cr.linalg.qr(t)),
        lambda t: pick(*torch.linalg.qr(t)),
        [a],
        dtype,
        tol=tol(dtype),
    )


def test_qr_modes_as_torch():
    a = general(np.random.default_rng(2), (5, 3))
    for mode in ("complete", "r"):
        q, r = cr.linalg.qr(cr.tensor(a), mode=mode)
        tq, tr = torch.linalg.qr(torch.tensor(a), mode=mode)
        assert q.shape == tuple(tq.shape) and r.shape == tuple(tr.shape)
        np.testing.assert_allclose(r.numpy(), tr.numpy(), atol=1e-12)
    wide = general(np.random.default_rng(3), (3, 5))
    check(
        lambda t: cr.linalg.qr(t, mode="complete").Q.sum(-1),
        lambda t: torch.linalg.qr(t, mode="complete").Q.sum(-1),
        [wide],
        "float64",
    )
    x = cr.tensor(a, requires_grad=True)
    with pytest.raises(NotImplementedError, match="mode='complete' and nrows > ncols"):
        cr.linalg.qr(x, mode="complete").R.sum().backward()
    with pytest.raises(NotImplementedError, match="mode='r'"):
        cr.linalg.qr(x, mode="r").R.sum().backward()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(shape, uplo, dtype):
    a = symmetric(np.random.default_rng(4), shape)
    weights = np.random.default_rng(5).standard_normal(shape[-1])

    def loss(lib, linalg, t):
        values, vectors = linalg.eigh(sym(t), UPLO=uplo)
        fixed = vectors * signs(lib, vectors)
        product = (vectors * lib.tensor(weights, dtype=t.dtype)) @ vectors.mT  # sign-free
        return fixed.sum(-1) + values + product.sum(-1)

    check(
        lambda t: loss(cr, cr.linalg, t),
        lambda t: loss(torch, torch.linalg, t),
        [a],
        dtype,
        tol=tol(dtype),
    )
    check(
        lambda t: cr.linalg.eigvalsh(sym(t)),
        lambda t: torch.linalg.eigvalsh(sym(t)),
        [a],
        dtype,
        tol=tol(dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 3, 5), (2, 1, 5, 2)])
@pytest.mark.parametrize("part", ["U", "S", "Vh", "all"])
def test_svd_matches_torch(shape, part, dtype):
    a = general(np.random.default_rng(6), shape)

    def loss(lib, linalg, t):
        u, s, vh = linalg.svd(t, full_matrices=False)
        flip = signs(lib, u)
        u, vh = u * flip, vh * flip.mT
        terms = {"U": u.sum(-2), "S": s, "Vh": vh.sum(-1)}
        return sum(terms.values()) if part == "all" else terms[part]

    check(
        lambda t: loss(cr, cr.linalg, t),
        lambda t: loss(torch, torch.linalg, t),
        [a],
        dtype,
        tol=tol(dtype),
    )


@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_svd_full_matrices_as_torch(shape):
    a = general(np.random.default_rng(7), shape)
    u, s, vh = cr.linalg.svd(cr.tensor(a))
    tu, ts, tvh = torch.linalg.svd(torch.tensor(a))
    assert (u.shape, vh.shape) == (tuple(tu.shape), tuple(tvh.shape))
    k = min(shape)

    def loss(lib, linalg, t):  # the first k vectors: the rest are not unique
        u, s, vh = linalg.svd(t)
        flip = signs(lib, u[..., :k])
        return (u[..., :k] * flip).sum(-2) + s + (vh[..., :k, :] * flip.mT).sum(-1)

    check(lambda t: loss(cr, cr.linalg, t), lambda t: loss(torch, torch.linalg, t), [a], "float64")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_svdvals_and_pinv_match_torch(shape, dtype):
    a = general(np.random.default_rng(8), shape)
    check(cr.linalg.svdvals, torch.linalg.svdvals, [a], dtype, tol=tol(dtype))
    check(cr.linalg.pinv, torch.linalg.pinv, [a], dtype, tol=tol(dtype))
    check(cr.pinverse, torch.pinverse, [a], dtype, tol=tol(dtype), gradcheck=False)
    h = symmetric(np.random.default_rng(9), shape[:-2] + (3, 3))
    check(
        lambda t: cr.linalg.pinv(sym(t), hermitian=True),
        lambda t: torch.linalg.pinv(sym(t), hermitian=True),
        [h],
        dtype,
        tol=tol(dtype),
    )


def test_pinv_drops_small_singular_values_as_torch():
    a = np.array([[1.0, 0.0], [0.0, 1e-3]])
    for kwargs in (dict(atol=1e-2), dict(rtol=1e-2), dict()):
        np.testing.assert_allclose(
            cr.linalg.pinv(cr.tensor(a), **kwargs).numpy(),
            torch.linalg.pinv(torch.tensor(a), **kwargs).numpy(),
        )


def test_errors_are_pytorchs_kind():
    with pytest.raises(cr.LinAlgError, match="not positive-definite") as info:
        cr.linalg.cholesky(-cr.eye(2))
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(cr.LinAlgError, match="batch element 1"):
        cr.linalg.cholesky(cr.stack([cr.eye(2), -cr.eye(2)]))
    ints = cr.tensor([[2, 1], [1, 2]])
    for fn in (
        cr.linalg.cholesky,
        cr.linalg.qr,
        cr.linalg.eigh,
        cr.linalg.eigvalsh,
        cr.linalg.svd,
        cr.linalg.svdvals,
        cr.linalg.pinv,
    ):
        with pytest.raises(RuntimeError, match="floating-point"):
            fn(ints)
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            fn(cr.ones(3))
    for fn in (cr.linalg.cholesky, cr.linalg.eigh, cr.linalg.eigvalsh):
        with pytest.raises(RuntimeError, match="square"):
            fn(cr.ones(2, 3))
    with pytest.raises(ValueError, match="UPLO"):
        cr.linalg.eigh(cr.eye(2), UPLO="X")
    with pytest.raises(ValueError, match="mode"):
        cr.linalg.qr(cr.eye(2), mode="full")


def test_repeated_eigenvalues_give_finite_eigenvalue_gradients_as_torch():
    # only the eigenvalues used: the eigenvector term (0 / 0 here) must be skipped, as PyTorch
    # (a repeated eigenvalue is not differentiable: no finite-difference check)
    a = np.diag([2.0, 2.0, 5.0])
    check(
        lambda t: cr.linalg.eigh(sym(t)).eigenvalues,
        lambda t: torch.linalg.eigh(sym(t))[0],
        [a],
        "float64",
        gradcheck=False,
    )
    s = np.diag([3.0, 3.0])
    check(
        lambda t: cr.linalg.svd(t).S,
        lambda t: torch.linalg.svd(t).S,
        [s],
        "float64",
        gradcheck=False,
    )


def test_pinv_rcond_and_the_cuda_only_driver_as_torch():
    a = general(np.random.default_rng(10), (3, 3))
    np.testing.assert_allclose(
        cr.linalg.pinv(cr.tensor(a, dtype=cr.float64), 0.3).numpy(),
        torch.linalg.pinv(torch.tensor(a), 0.3).numpy(),
        atol=1e-12,
    )
    for fn in (cr.linalg.svd, cr.linalg.svdvals):
        with pytest.raises(ValueError, match="driver= is only supported on CUDA"):
            fn(cr.tensor(a), driver="gesvd")
