"""Second derivatives (create_graph=True) through every linalg op against PyTorch's, and
float64 finite differences of the first derivatives (gradgradcheck)."""

import numpy as np
import pytest
from linalg_check import general, spd, symmetric, well_conditioned

import chainrule as cr

torch = pytest.importorskip("torch")


def sym(t):
    return (t + t.mT) / 2


def signs(lib, vectors):
    """±1 per column making its first entry positive (a constant: no gradient)."""
    return lib.where(vectors[..., :1, :].detach() >= 0, 1.0, -1.0).to(vectors.dtype)


def eigh_loss(lib, t):
    values, vectors = lib.linalg.eigh(sym(t))
    return (values * values).sum() + (vectors * signs(lib, vectors)).sum(-1).pow(2).sum()


def svd_loss(lib, t):
    u, s, vh = lib.linalg.svd(t, full_matrices=False)
    flip = signs(lib, u)  # U's column signs and Vh's row signs flip together
    return (s * s).sum() + (u * flip).sum(-2).pow(2).sum() + ((vh * flip.mT) ** 3).sum()


CASES = {
    "inv": (lambda lib, t: lib.linalg.inv(t).pow(2).sum(), well_conditioned, (2, 3, 3)),
    "det": (lambda lib, t: lib.linalg.det(t).pow(2).sum(), well_conditioned, (2, 3, 3)),
    "slogdet": (lambda lib, t: lib.linalg.slogdet(t)[1].pow(2).sum(), well_conditioned, (3, 3)),
    "cholesky": (lambda lib, t: lib.linalg.cholesky(sym(t)).pow(3).sum(), spd, (2, 3, 3)),
    "qr_tall": (lambda lib, t: sum(x.pow(3).sum() for x in lib.linalg.qr(t)), general, (4, 3)),
    "qr_wide": (lambda lib, t: sum(x.pow(3).sum() for x in lib.linalg.qr(t)), general, (2, 3, 4)),
    "eigh": (eigh_loss, symmetric, (2, 3, 3)),
    "eigvalsh": (lambda lib, t: lib.linalg.eigvalsh(sym(t)).pow(3).sum(), symmetric, (3, 3)),
    "svd_tall": (svd_loss, general, (4, 3)),
    "svd_wide": (svd_loss, general, (2, 3, 4)),
    "svdvals": (lambda lib, t: lib.linalg.svdvals(t).pow(3).sum(), general, (3, 4)),
    "matrix_norm_2": (lambda lib, t: lib.linalg.matrix_norm(t, 2).pow(2).sum(), general, (3, 4)),
    "pinv": (lambda lib, t: lib.linalg.pinv(t).pow(2).sum(), general, (4, 3)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivative_matches_torch(name):
    loss, domain, shape = CASES[name]
    a = domain(np.random.default_rng(3), shape)
    mine = cr.tensor(a, dtype="float64", requires_grad=True)
    ref = torch.tensor(a, requires_grad=True)
    (grad,) = cr.autograd.grad(loss(cr, mine), [mine], create_graph=True)
    (expected,) = torch.autograd.grad(loss(torch, ref), [ref], create_graph=True)
    np.testing.assert_allclose(
        grad.detach().numpy(), expected.detach().numpy(), rtol=1e-8, atol=1e-10
    )
    (grad * grad).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-7, atol=1e-9)
    checked = cr.tensor(a, dtype="float64", requires_grad=True)
    cr.gradgradcheck(lambda t: loss(cr, t), checked, atol=1e-5, rtol=1e-4)
