"""PyTorch's shape and contraction names composed of existing ops (unbind, narrow, movedim,
unflatten, tensor_split, hstack, vstack, fliplr, flipud, atleast_nd, take_along_dim, inner, mv,
tensordot), against PyTorch and float64 finite differences."""

import numpy as np
import pytest
from op_check import case, check_case, ids

import chainrule as cr

torch = pytest.importorskip("torch")

M43 = [((4, 3),)]
M234 = [((2, 3, 4),)]


def weighted(pieces):
    """One tensor from a tuple of pieces, each scaled differently (so gradients tell them apart)."""
    return [p * (i + 1) for i, p in enumerate(pieces)]


CASES = [
    *case(
        "unbind",
        lambda a: cr.stack(weighted(a.unbind(1)), 0),
        lambda a: torch.stack(weighted(a.unbind(1)), 0),
        M234,
    ),
    *case("narrow", lambda a: a.narrow(1, 1, 2), lambda a: a.narrow(1, 1, 2), M43 + M234),
    *case(
        "narrow_neg", lambda a: cr.narrow(a, -1, -3, 2), lambda a: torch.narrow(a, -1, -3, 2), M234
    ),
    *case("movedim", lambda a: cr.movedim(a, 0, -1), lambda a: torch.movedim(a, 0, -1), M234),
    *case(
        "movedim_many",
        lambda a: a.movedim((0, 1), (2, 0)),
        lambda a: a.movedim((0, 1), (2, 0)),
        M234,
    ),
    *case("moveaxis", lambda a: cr.moveaxis(a, 2, 0), lambda a: torch.moveaxis(a, 2, 0), M234),
    *case("swapdims", lambda a: a.swapdims(0, 2), lambda a: a.swapdims(0, 2), M234),
    *case("unflatten", lambda a: a.unflatten(2, (2, -1)), lambda a: a.unflatten(2, (2, -1)), M234),
    *case(
        "tensor_split_n",
        lambda a: cr.cat(weighted(cr.tensor_split(a, 3, dim=1)), 1),
        lambda a: torch.cat(weighted(torch.tensor_split(a, 3, dim=1)), 1),
        [((2, 7),)],
    ),
    *case(
        "tensor_split_idx",
        lambda a: cr.cat(weighted(a.tensor_split([1, 4, 3, 9])), 0),
        lambda a: torch.cat(weighted(a.tensor_split([1, 4, 3, 9])), 0),
        [((6, 2),)],
    ),
    *case(
        "hstack",
        lambda a, b: cr.hstack([a, b * 2]),
        lambda a, b: torch.hstack([a, b * 2]),
        [((4, 3), (4, 2)), ((3,), (2,)), ((), (2,))],
    ),
    *case(
        "vstack",
        lambda a, b: cr.vstack((a, b)),
        lambda a, b: torch.vstack((a, b)),
        [((4, 3), (2, 3)), ((3,), (3,)), ((3,), (2, 3))],
    ),
    *case(
        "concat",
        lambda a, b: cr.concat([a, b], dim=1),
        lambda a, b: torch.concat([a, b], dim=1),
        [((4, 3), (4, 2))],
    ),
    *case(
        "concatenate",
        lambda a, b: cr.concatenate([a, b]),
        lambda a, b: torch.concatenate([a, b]),
        [((4, 3), (2, 3))],
    ),
    *case("fliplr", lambda a: a.fliplr() * a, lambda a: a.fliplr() * a, M43 + M234),
    *case("flipud", lambda a: cr.flipud(a) * a, lambda a: torch.flipud(a) * a, [((3,),)] + M43),
    *case("atleast_1d", cr.atleast_1d, torch.atleast_1d, [((),), ((3,),)]),
    *case("atleast_2d", cr.atleast_2d, torch.atleast_2d, [((),), ((3,),), ((2, 3),)]),
    *case("atleast_3d", cr.atleast_3d, torch.atleast_3d, [((),), ((3,),), ((2, 3),), ((2, 3, 4),)]),
    *case(
        "atleast_many",
        lambda a, b: cr.cat([t.reshape(-1) for t in cr.atleast_2d(a, b)]),
        lambda a, b: torch.cat([t.reshape(-1) for t in torch.atleast_2d(a, b)]),
        [((), (3,))],
    ),
    *case(
        "take_along_dim",
        lambda a: cr.take_along_dim(a, cr.tensor([[0, 2, 2]]), 0),
        lambda a: torch.take_along_dim(a, torch.tensor([[0, 2, 2]]), 0),
        M43,
    ),
    *case(
        "take_along_dim_broadcast",
        lambda a: a.take_along_dim(cr.tensor([[[3], [0], [3]]]), 2),
        lambda a: a.take_along_dim(torch.tensor([[[3], [0], [3]]]), 2),
        M234,
    ),
    *case(
        "take_along_dim_flat",
        lambda a: cr.take_along_dim(a, cr.tensor([5, 0, 5, 11])),
        lambda a: torch.take_along_dim(a, torch.tensor([5, 0, 5, 11])),
        M43,
    ),
    *case(
        "broadcast_to",
        lambda a: cr.broadcast_to(a, (2, 4, 3)),
        lambda a: torch.broadcast_to(a, (2, 4, 3)),
        [((3,),), ((4, 1),)],
    ),
    *case(
        "inner",
        cr.inner,
        torch.inner,
        [((3,), (3,)), ((4, 3), (2, 3)), ((2, 3, 4), (5, 4)), ((), (2, 3))],
    ),
    *case("inner_method", lambda a, b: a.inner(b), lambda a, b: a.inner(b), [((4, 3), (3,))]),
    *case("mv", cr.mv, torch.mv, [((4, 3), (3,))]),
    *case("mv_method", lambda a, b: a.mv(b), lambda a, b: a.mv(b), [((2, 5), (5,))]),
    *case(
        "tensordot_int",
        lambda a, b: cr.tensordot(a, b, 2),
        lambda a, b: torch.tensordot(a, b, 2),
        [((2, 3, 4), (3, 4, 5))],
    ),
    *case(
        "tensordot_0",
        lambda a, b: cr.tensordot(a, b, 0),
        lambda a, b: torch.tensordot(a, b, 0),
        [((2, 3), (4,))],
    ),
    *case(
        "tensordot_lists",
        lambda a, b: cr.tensordot(a, b, ([1, 2], [1, 0])),
        lambda a, b: torch.tensordot(a, b, ([1, 2], [1, 0])),
        [((2, 3, 4), (4, 3, 5))],
    ),
    *case(
        "tensordot_one",
        lambda a, b: cr.tensordot(a, b, dims=([0], [-1])),
        lambda a, b: torch.tensordot(a, b, dims=([0], [-1])),
        [((4, 3), (2, 4))],
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


def test_shapes_of_splits_and_unbind_match_torch():
    x = np.arange(24).reshape(2, 3, 4)
    ours, theirs = cr.tensor(x), torch.tensor(x)
    for split in (1, 2, 3, 5, [0], [2, 2], [3, 1], [-1], cr.tensor(2)):
        other = torch.tensor(split.item()) if isinstance(split, cr.Tensor) else split
        got = [t.tolist() for t in cr.tensor_split(ours, split, dim=-1)]
        assert got == [t.tolist() for t in torch.tensor_split(theirs, other, dim=-1)], split
    assert [t.tolist() for t in ours.unbind()] == [t.tolist() for t in theirs.unbind()]
    assert isinstance(ours.unbind(2), tuple) and len(ours.unbind(2)) == 4
    assert ours.narrow(2, cr.tensor(1), 2).tolist() == theirs.narrow(2, 1, 2).tolist()
    assert cr.atleast_1d(ours) is ours
    assert cr.movedim(cr.tensor(3.0), 0, 0).shape == ()
    assert cr.hstack([cr.tensor([1, 2]), cr.tensor([3])]).dtype == np.int64


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.narrow(x, 0, 1, 5),
        lambda lib, x: lib.narrow(x, 0, 7, 1),
        lambda lib, x: x.unflatten(1, (5, -1)),
        lambda lib, x: x.unflatten(1, (-1, -1)),
        lambda lib, x: lib.movedim(x, (0, 0), (1, 0)),
        lambda lib, x: lib.fliplr(x[0]),
        lambda lib, x: lib.mv(x, x),
        lambda lib, x: lib.inner(x, x[:, :2]),
        lambda lib, x: lib.tensordot(x, x, ([0], [1])),
        lambda lib, x: lib.tensor_split(x, 0),
    ],
)
def test_bad_arguments_raise_as_in_torch(call):
    x = np.zeros((3, 4), np.float32)
    with pytest.raises((RuntimeError, IndexError, ValueError)):
        call(torch, torch.tensor(x))
    with pytest.raises((cr.ShapeError, ValueError, TypeError)):
        call(cr, cr.tensor(x))


def test_tensordot_and_inner_refuse_mixed_dtypes_as_torch():
    a, b = np.ones((2, 3)), np.ones((3, 2))
    with pytest.raises(RuntimeError):
        torch.tensordot(torch.tensor(a, dtype=torch.float32), torch.tensor(b), 1)
    with pytest.raises(cr.DTypeError):
        cr.tensordot(cr.tensor(a), cr.tensor(b, dtype=cr.float64), 1)


@pytest.mark.parametrize(("shape", "size", "dim"), [((0,), 3, 0), ((3, 0), 2, -1), ((0, 4), 1, 0)])
def test_split_of_an_empty_axis_is_one_empty_piece_as_torch(shape, size, dim):
    # the list of pieces was empty, so `a, = x.split(n)` or zip over pieces silently differed
    ours = cr.zeros(*shape).split(size, dim)
    theirs = torch.zeros(*shape).split(size, dim)
    assert isinstance(ours, tuple)
    assert [t.shape for t in ours] == [tuple(t.shape) for t in theirs]
    assert [t.shape for t in cr.split(cr.zeros(*shape), size, dim=dim)] == [
        tuple(t.shape) for t in theirs
    ]
