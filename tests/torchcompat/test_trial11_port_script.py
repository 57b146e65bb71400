"""A PyTorch training script ported to chainrule: the corners it met that gave another answer
than PyTorch, or an unclear error (values, shapes and gradients against PyTorch)."""

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
