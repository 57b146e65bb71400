"""A PyTorch training script ported to chainrule: the corners it met that gave another answer
than PyTorch, or an unclear error (values, shapes and gradients against PyTorch)."""

import re

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("sizes", [[5, -1], [-1, 5], [6, -2, 0]])
def test_split_refuses_negative_sizes_as_torch(sizes):
    # They add up to the length, and slicing from the end had made pieces of other sizes.
    with pytest.raises(RuntimeError):
        torch.ones(4).split(sizes)
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.ones(4).split(sizes)
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.split(cr.ones(4), sizes)


def test_split_with_a_zero_size_still_matches_torch():
    pieces = cr.arange(4).split([0, 3, 1])
    expected = torch.arange(4).split([0, 3, 1])
    assert [p.tolist() for p in pieces] == [e.tolist() for e in expected]


EINSUMS = [
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(5, 1, 3, 4), (2, 4, 5)]),
    ("...ij->ij", [(2, 3, 4)]),
    ("ij...", [(2, 3, 4)]),
    ("i...->...i", [(2, 3, 4)]),
    ("...->", [(2, 3)]),
    ("a...b,b...->...a", [(2, 3, 4), (4, 3)]),
    ("... i j, ... j k -> ... i k", [(2, 3, 4), (2, 4, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("bii->bi", [(2, 3, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("iijj->ij", [(2, 2, 3, 3)]),
    ("ij,ii->j", [(3, 2), (3, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_ellipsis_and_diagonals_match_torch(equation, shapes):
    # Attention code writes '...qd,...kd->...qk'; both had raised "not supported yet".
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_c, out_t = cr.einsum(equation, *ours), torch.einsum(equation, *theirs)
    assert out_c.shape == tuple(out_t.shape)
    assert out_c.grad_fn.name() == out_t.grad_fn.name()
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(out_c.shape)
    (out_c * cr.tensor(w, dtype="float64")).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for c, t in zip(ours, theirs):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    leaves = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert cr.gradcheck(lambda *t: cr.einsum(equation, *t) ** 2, *leaves)


@pytest.mark.parametrize(
    "equation, shapes, words",
    [
        ("b...,b...->b", [(2, 3), (2, 3, 4)], "a dimension under '...' has sizes 3 and 4"),
        ("ijk...->...", [(2, 3)], "names more dimensions than operand 0 has"),
        ("......", [(2,)], "a '.' that is not one '...'"),
        ("ii", [(2, 3)], "over sizes 2 and 3"),
    ],
)
def test_einsum_bad_ellipsis_or_diagonal_raises_as_torch(equation, shapes, words):
    with pytest.raises(RuntimeError):
        torch.einsum(equation, *[torch.ones(s) for s in shapes])
    with pytest.raises((ValueError, RuntimeError), match=re.escape(words)):
        cr.einsum(equation, *[cr.ones(*s) for s in shapes])


@pytest.mark.parametrize(
    "index, value_shape",
    [
        (0, (2, 5)),
        (0, (3,)),
        ((slice(None), slice(0, 2)), (4, 3)),
        ([0, 1], (3, 5)),
        ("mask", (3,)),
    ],
)
def test_index_assignment_of_a_wrong_shape_is_a_runtime_error_as_torch(index, value_shape):
    # NumPy's plain ValueError slipped past a PyTorch script's `except RuntimeError`.
    ours, theirs = cr.arange(20.0).reshape(4, 5), torch.arange(20.0).reshape(4, 5)
    index_c, index_t = (ours > 15, theirs > 15) if index == "mask" else (index, index)
    with pytest.raises(RuntimeError):
        theirs[index_t] = torch.ones(value_shape)
    with pytest.raises(RuntimeError, match="index assignment: .*must broadcast"):
        ours[index_c] = cr.ones(*value_shape)
    assert ours.tolist() == torch.arange(20.0).reshape(4, 5).tolist()  # nothing was written
