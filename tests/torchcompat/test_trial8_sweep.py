"""Differences a randomized sweep against PyTorch found: ``Tensor.unfold`` (was refused),
``Tensor.tile`` with the sizes as separate arguments, ``gather`` and ``scatter`` on a 0-d
tensor, ``index_select`` of a 0-d tensor, unary ``+`` on a bool tensor, ``expand`` with -1
in a new leading dimension and in-place writes with extra leading dimensions."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _outcome(fn):
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - the class is the comparison
        return err


def _pair(array, requires_grad=True):
    c = cr.tensor(array, dtype=array.dtype, requires_grad=requires_grad)
    t = torch.tensor(array, requires_grad=requires_grad)
    return c, t


def _same(c, t):
    assert c.shape == tuple(t.shape)
    assert str(c.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (0, 3)])
@pytest.mark.parametrize("args", [(2, 1), (1, 2), (3, 2), (0, 1)])
@pytest.mark.parametrize("dim", [0, -1, 1])
def test_unfold_values_and_grad_match_torch(shape, args, dim):
    array = np.random.default_rng(0).standard_normal(shape)
    c, t = _pair(array)
    co = _outcome(lambda: c.unfold(dim, *args))
    to = _outcome(lambda: t.unfold(dim, *args))
    if isinstance(to, Exception):
        assert isinstance(co, type(to))
        return
    _same(co, to)
    w = np.random.default_rng(1).standard_normal(tuple(to.shape))
    (co * cr.tensor(w, dtype=w.dtype)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("args", [(0, 1, 1), (-1, 0, 2), (0, 2, 1), (1, 1, 1)])
def test_unfold_zero_dim_matches_torch(args):
    c, t = _pair(np.array(3.0), requires_grad=False)
    co, to = _outcome(lambda: c.unfold(*args)), _outcome(lambda: t.unfold(*args))
    if isinstance(to, Exception):
        assert isinstance(co, type(to))
        return
    _same(co, to)


@pytest.mark.parametrize("args", [(0, 2, 0), (0, -1, 1), (0, 1.0, 1), (0, 6, 1)])
def test_unfold_bad_arguments_raise_like_torch(args):
    c, t = _pair(np.arange(5.0), requires_grad=False)
    to = _outcome(lambda: t.unfold(*args))
    co = _outcome(lambda: c.unfold(*args))
    assert isinstance(co, type(to))


def test_unfold_int_and_bool_keep_dtype():
    for array in (np.arange(6), np.arange(6) % 2 == 0):
        c, t = _pair(array, requires_grad=False)
        _same(c.unfold(0, 3, 2), t.unfold(0, 3, 2))


@pytest.mark.parametrize("sizes", [(2, 1), (2, 1, 1, 1), (3,), ((2, 2),), ([1, 2],)])
def test_tile_sizes_as_separate_arguments(sizes):
    array = np.arange(12.0).reshape(3, 4)
    c, t = _pair(array, requires_grad=False)
    _same(c.tile(*sizes), t.tile(*sizes))


def test_gather_zero_dim_matches_torch():
    c, t = _pair(np.array(3.0))
    co, to = cr.gather(c, 0, cr.tensor(0)), torch.gather(t, 0, torch.tensor(0))
    _same(co, to)
    co.backward()
    to.backward()
    assert c.grad.item() == t.grad.item() == 1.0
    with pytest.raises(RuntimeError):
        cr.gather(c, 0, cr.tensor(1))


def test_unary_plus_on_bool_raises_like_torch():
    with pytest.raises(RuntimeError):
        +torch.tensor([True])
    with pytest.raises(RuntimeError, match="bool"):
        +cr.tensor([True])
    x = cr.tensor([1.0, 2.0])
    assert (+x) is x


@pytest.mark.parametrize("kind", ["src", "value"])
def test_scatter_zero_dim_matches_torch(kind):
    (c, t), (cs, ts) = _pair(np.array(2.0)), _pair(np.array(5.0))
    if kind == "src":
        co, to = cr.scatter(c, 0, cr.tensor(0), cs), torch.scatter(t, 0, torch.tensor(0), ts)
    else:
        co = cr.scatter(c, 0, cr.tensor(0), value=7.0)
        to = torch.scatter(t, 0, torch.tensor(0), value=7.0)
    _same(co, to)
    co.backward()
    to.backward()
    assert c.grad.item() == t.grad.item()
    if kind == "src":
        assert cs.grad.item() == ts.grad.item() == 1.0


@pytest.mark.parametrize("sizes", [(-1, 3, 4), (2, -1, -1), (-1, -1, 4), (1, 2, -1, 4)])
def test_expand_minus_one_in_new_leading_dim_raises_like_torch(sizes):
    c, t = _pair(np.ones((3, 4)), requires_grad=False)
    to = _outcome(lambda: t.expand(*sizes))
    co = _outcome(lambda: c.expand(*sizes))
    if isinstance(to, Exception):
        assert isinstance(co, RuntimeError), co
    else:
        _same(co, to)


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x: x.copy_(L.ones(1, 2, 3)),
        lambda L, x: x.fill_(L.tensor(2.0)),
        lambda L, x: x.copy_(L.ones(3)),
        lambda L, x: x.long().pow_(-L.ones(1, 2, 3, dtype=L.int64)),
        lambda L, x: x.long().pow_(L.ones(1, 2, 3, dtype=L.int64)),
        lambda L, x: x.long().pow_(L.ones(3, dtype=L.int64)),
    ],
)
def test_in_place_keeps_shape_against_extra_leading_dims(fn):
    to = _outcome(lambda: fn(torch, torch.zeros(2, 3)))
    co = _outcome(lambda: fn(cr, cr.zeros(2, 3)))
    if isinstance(to, Exception):
        assert isinstance(co, RuntimeError), co
    else:
        _same(co, to)


@pytest.mark.parametrize("index", [[0], [0, 0], [], 0])
def test_index_select_of_zero_dim_tensor_like_torch(index):
    c, t = _pair(np.array(3.0), requires_grad=False)
    to = _outcome(lambda: torch.index_select(t, 0, torch.tensor(index)))
    co = _outcome(lambda: cr.index_select(c, 0, cr.tensor(index, dtype="int64")))
    if isinstance(to, Exception):
        assert isinstance(co, type(to)), co
    else:
        _same(co, to)
