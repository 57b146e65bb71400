"""``einsum`` stretches an index of size 1 to the other operands' size, as PyTorch (it had
raised): values and gradients against PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ij,j->i", [(2, 1), (3,)]),
        ("ij,ij->ij", [(2, 1), (1, 3)]),
        ("ij,jk", [(2, 1), (3, 4)]),
        ("ij,j->i", [(0, 1), (3,)]),
        ("ij,j", [(2, 0), (1,)]),
        ("bij,bjk->bik", [(1, 2, 3), (4, 3, 5)]),
        ("ij,jk,kl->il", [(2, 1), (3, 1), (4, 5)]),
    ],
)
def test_size_one_index_broadcasts_like_torch(equation, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    c = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    co, to = cr.einsum(equation, *c), torch.einsum(equation, *t)
    assert co.shape == tuple(to.shape)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(co.shape)
    (co * cr.tensor(w, dtype="float64")).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for ci, ti in zip(c, t):
        np.testing.assert_allclose(ci.grad.numpy(), ti.grad.numpy(), rtol=1e-12)


def test_sizes_that_do_not_broadcast_still_raise():
    a, b = np.ones((2, 3)), np.ones(2)
    with pytest.raises(RuntimeError):
        torch.einsum("ij,j", torch.tensor(a), torch.tensor(b))
    with pytest.raises(RuntimeError, match="sizes 3 and 2"):
        cr.einsum("ij,j", cr.tensor(a), cr.tensor(b))
