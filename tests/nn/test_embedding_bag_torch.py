"""F.embedding_bag and nn.EmbeddingBag against PyTorch: 2-D input and 1-D input with offsets,
sum/mean/max, per_sample_weights, padding_idx, empty bags, include_last_offset, max_norm,
gradients for weight and per_sample_weights, the module's repr and from_pretrained, errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
F = nn.functional
TF = torch.nn.functional

BAGS = [  # (input, offsets, include_last_offset)
    ([[1, 2, 2, 0], [2, 7, 5, 2], [2, 2, 2, 2]], None, False),
    ([1, 2, 2, 0, 2, 7, 5, 3, 2], [0, 0, 3, 3, 8], False),  # empty bags, first and middle
    ([1, 2, 2, 0, 2, 7, 5, 3, 2], [0, 0, 3, 3, 9], True),  # an empty bag before the end
    ([1, 2, 2, 0, 2, 7, 5, 3, 2], [0, 2, 3, 4], True),  # the last offset short of the end
    (np.zeros(0, np.int64), [0, 0], False),  # no ids at all
    (np.zeros((0, 3), np.int64), None, False),  # no bags
]


def _both(ids, offsets, dtype="float64", psw=False, seed=0, **kwargs):
    """(output, weight gradient, per-sample-weight gradient) of chainrule and of torch."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((8, 3))
    weights = rng.standard_normal(np.shape(ids)) if psw else None
    tdtype = getattr(torch, dtype)
    wt = torch.tensor(weight, dtype=tdtype, requires_grad=True)
    pt = torch.tensor(weights, dtype=tdtype, requires_grad=True) if psw else None
    ot = None if offsets is None else torch.tensor(offsets)
    expected = TF.embedding_bag(torch.tensor(ids), wt, ot, per_sample_weights=pt, **kwargs)
    upstream = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(upstream, dtype=tdtype))
    wc = cr.tensor(weight, dtype=dtype, requires_grad=True)
    pc = cr.tensor(weights, dtype=dtype, requires_grad=True) if psw else None
    oc = None if offsets is None else cr.tensor(offsets)
    out = F.embedding_bag(cr.tensor(ids), wc, oc, per_sample_weights=pc, **kwargs)
    out.backward(cr.tensor(upstream, dtype=dtype))
    ours = [out.detach().numpy(), np.asarray(wc.grad)]
    theirs = [expected.detach().numpy(), wt.grad.numpy()]
    if psw:
        ours.append(np.asarray(pc.grad))
        theirs.append(pt.grad.numpy())
    return ours, theirs


def _close(ours, theirs, atol=1e-12):
    assert ours[0].shape == theirs[0].shape and ours[0].dtype == theirs[0].dtype
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize(("ids", "offsets", "last"), BAGS)
def test_values_and_weight_gradient_match_torch(mode, padding_idx, ids, offsets, last):
    ours, theirs = _both(ids, offsets, mode=mode, padding_idx=padding_idx, include_last_offset=last)
    _close(ours, theirs)


@pytest.mark.parametrize("padding_idx", [None, 2, 0])
@pytest.mark.parametrize(("ids", "offsets", "last"), BAGS[:3])
def test_per_sample_weights_and_their_gradient_match_torch(padding_idx, ids, offsets, last):
    ours, theirs = _both(
        ids, offsets, psw=True, mode="sum", padding_idx=padding_idx, include_last_offset=last
    )
    _close(ours, theirs)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_float32_matches_torch(mode):
    ours, theirs = _both([1, 4, 4, 0, 3], [0, 2, 2], dtype="float32", mode=mode, seed=3)
    assert ours[0].dtype == np.float32 and ours[1].dtype == np.float32
    _close(ours, theirs, atol=1e-6)


def test_max_keeps_the_first_maximum_and_skips_nan_as_torch():
    weight = np.array([[np.nan, 1.0], [2.0, 3.0], [2.0, 0.0]])
    for ids in ([[0, 1], [1, 0]], [[1, 2], [2, 1]]):
        wt = torch.tensor(weight, requires_grad=True)
        expected = TF.embedding_bag(torch.tensor(ids), wt, mode="max")
        expected.sum().backward()
        wc = cr.tensor(weight, dtype="float64", requires_grad=True)
        out = F.embedding_bag(cr.tensor(ids), wc, mode="max")
        out.sum().backward()
        np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
        np.testing.assert_array_equal(np.asarray(wc.grad), wt.grad.numpy())


@pytest.mark.parametrize("padding_idx", [None, 0, 2])
@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize(
    ("ids", "offsets"),
    [
        ([[1, 2, 2, 0], [2, 7, 0, 0]], None),
        ([[1, 2, 2, 3], [2, 4, 5, 6]], None),
        ([3, 2, 2, 3, 1, 4, 5, 3, 7, 7], [0, 4, 4, 9]),
        ([[1, 2, 3], [4, 5, 6]], None),
    ],
)
def test_scale_grad_by_freq_gradient_matches_torch(padding_idx, mode, ids, offsets):
    """PyTorch's CPU kernel divides the i-th smallest distinct id's row by the count of the
    i-th smallest id; chainrule gives the same gradients (docs/pytorch.md)."""
    kwargs = {"mode": mode, "padding_idx": padding_idx, "scale_grad_by_freq": True}
    _close(*_both(ids, offsets, **kwargs))


def test_scale_grad_by_freq_counts_as_pytorchs_kernel():
    from chainrule.ops.embedding_bag import _frequencies

    # ids 1, 2, 2, 3: row 3 is the third distinct id, divided by the count of sorted[2] = 2
    assert _frequencies(np.array([1, 2, 2, 3]), 5).tolist() == [1, 1, 2, 2, 1]
    # no repeats: each id's own count
    assert _frequencies(np.array([4, 0, 2]), 5).tolist() == [1, 1, 1, 1, 1]


def test_max_norm_renormalises_the_looked_up_rows_in_place_as_torch():
    weight = np.random.default_rng(2).standard_normal((6, 4)) * 3
    wt = torch.tensor(weight)
    expected = TF.embedding_bag(torch.tensor([[0, 3], [3, 5]]), wt, max_norm=1.5, mode="sum")
    wc = cr.tensor(weight, dtype="float64")
    out = F.embedding_bag(cr.tensor([[0, 3], [3, 5]]), wc, max_norm=1.5, mode="sum")
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-12)
    np.testing.assert_allclose(wc.numpy(), wt.numpy(), atol=1e-12)


def test_gradcheck_weight_and_per_sample_weights():
    rng = np.random.default_rng(9)
    weight = cr.tensor(rng.standard_normal((6, 3)), dtype="float64", requires_grad=True)
    psw = cr.tensor(rng.standard_normal(7), dtype="float64", requires_grad=True)
    ids, offsets = cr.tensor([0, 2, 2, 5, 1, 3, 2]), cr.tensor([0, 3, 3])
    assert cr.gradcheck(
        lambda w, p: F.embedding_bag(ids, w, offsets, mode="sum", per_sample_weights=p),
        weight,
        psw,
    )
    assert cr.gradcheck(lambda w: F.embedding_bag(ids, w, offsets, padding_idx=2), weight)
    assert cr.gradcheck(lambda w: F.embedding_bag(ids, w, offsets, mode="max"), weight)


def test_int32_ids_and_offsets_work_as_torch():
    ids, offsets = np.array([1, 2, 3], np.int32), np.array([0, 1], np.int32)
    weight = np.arange(12.0).reshape(4, 3)
    out = F.embedding_bag(cr.tensor(ids), cr.tensor(weight), cr.tensor(offsets))
    expected = TF.embedding_bag(torch.tensor(ids), torch.tensor(weight), torch.tensor(offsets))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_old_argument_order_warns_and_swaps_as_torch():
    weight = cr.tensor(np.arange(6.0).reshape(3, 2))
    with pytest.warns(UserWarning, match="Argument order of nn.functional.embedding_bag"):
        out = F.embedding_bag(weight, cr.tensor([[0, 2]]), mode="sum")
    assert out.tolist() == [[4.0, 6.0]]


# ---- errors ------------------------------------------------------------------------------------
W = np.zeros((10, 3))
ERRORS = [  # (input, offsets, kwargs, chainrule error, message)
    ([[1, 2]], None, {"mode": "foo"}, ValueError, "mode has to be one of sum, mean or max"),
    ([[1, 2]], None, {"mode": "max", "scale_grad_by_freq": True}, ValueError, "max mode"),
    ([[[1, 2]]], None, {}, ValueError, "input has to be 1D or 2D"),
    ([1, 2], None, {}, ValueError, "offsets has to be a 1D Tensor but got None"),
    ([1, 2], [[0]], {}, ValueError, "offsets has to be a 1D Tensor"),
    ([[1, 2]], [0], {}, ValueError, "if input is 2D, then offsets has to be None"),
    ([1, 2, 3], [1, 2], {}, cr.ShapeError, r"offsets\[0\] has to be 0"),
    ([1, 2, 3], [0, 4], {}, cr.ShapeError, r"offsets\[-1\] can not be greater"),
    ([1, 11], [0], {}, IndexError, "got id 11"),
    ([1, -1], [0], {}, IndexError, "got id -1"),
    ([[1, 2]], None, {"padding_idx": 10}, ValueError, "padding_idx must be within"),
    ([[1, 2]], None, {"padding_idx": -11}, ValueError, "padding_idx must be within"),
    ([[1, 2]], None, {"per_sample_weights": np.ones(2)}, ValueError, "same shape as the input"),
    (
        [[1, 2]],
        None,
        {"mode": "mean", "per_sample_weights": np.ones((1, 2))},
        NotImplementedError,
        "only supported for mode='sum'",
    ),  # fmt: skip
    (
        [[1, 2]],
        None,
        {"per_sample_weights": np.ones((1, 2), np.float32)},
        cr.DTypeError,
        "weight's dtype",
    ),  # fmt: skip
    (np.zeros((3, 0), np.int64), None, {}, cr.ShapeError, "empty bags"),
]


@pytest.mark.parametrize(("ids", "offsets", "kwargs", "error", "match"), ERRORS)
def test_errors_as_torch(ids, offsets, kwargs, error, match):
    def call(lib, functional, wrap):
        args = {k: wrap(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        mode = {"mode": args.pop("mode", "sum" if "per_sample_weights" in args else "mean")}
        offs = None if offsets is None else wrap(np.array(offsets))
        return functional(wrap(np.array(ids)), wrap(W), offs, **mode, **args)

    with pytest.raises((RuntimeError, ValueError, IndexError, NotImplementedError)):
        call(torch, TF.embedding_bag, torch.as_tensor)
    with pytest.raises(error, match=match):
        call(cr, F.embedding_bag, lambda v: cr.tensor(v, dtype=str(v.dtype)))


def test_float_ids_weight_and_sparse_errors():
    with pytest.raises(cr.DTypeError, match="integer input"):
        F.embedding_bag(cr.tensor([1.0, 2.0]), cr.tensor(W), cr.tensor([0]))
    with pytest.raises(cr.DTypeError, match="integer offsets"):
        F.embedding_bag(cr.tensor([1, 2]), cr.tensor(W), cr.tensor([0.0]))
    with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
        F.embedding_bag(cr.tensor([1, 2]), cr.tensor(W[0]), cr.tensor([0]))
    with pytest.raises(ValueError, match="max mode does not support sparse"):
        F.embedding_bag(cr.tensor([[1, 2]]), cr.tensor(W), mode="max", sparse=True)
    with pytest.raises(cr.NotSupportedError, match="sparse=True"):
        F.embedding_bag(cr.tensor([[1, 2]]), cr.tensor(W), sparse=True)
    with pytest.raises(cr.NotSupportedError, match="sparse=True"):
        nn.EmbeddingBag(4, 2, sparse=True)


def test_second_derivative_is_refused_as_torch():
    w = cr.tensor(np.ones((4, 2)), dtype="float64", requires_grad=True)
    out = F.embedding_bag(cr.tensor([[1, 2]]), w, mode="sum")
    (grad,) = cr.autograd.grad((out * out).sum(), w, create_graph=True)
    np.testing.assert_allclose(grad.detach().numpy(), [[0, 0], [4, 4], [4, 4], [0, 0]])
    with pytest.raises(NotImplementedError, match="not implemented"):
        cr.autograd.grad(grad.sum(), w)


# ---- the module ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "sum", "padding_idx": 1},
        {"mode": "max", "max_norm": 1.0, "norm_type": 1.0},
        {"scale_grad_by_freq": True, "padding_idx": -2, "include_last_offset": True},
    ],
)
def test_module_repr_and_forward_match_torch(kwargs):
    ours, theirs = nn.EmbeddingBag(10, 3, **kwargs), torch.nn.EmbeddingBag(10, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.padding_idx == theirs.padding_idx
    if theirs.padding_idx is not None:
        assert not ours.weight.detach().numpy()[ours.padding_idx].any()
    ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    ids, offsets = np.array([1, 2, 4, 4, 9]), np.array([0, 2, 5])
    if not kwargs.get("include_last_offset"):
        offsets = offsets[:-1]
    out = ours(cr.tensor(ids), cr.tensor(offsets))
    expected = theirs(torch.tensor(ids), torch.tensor(offsets))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-6)


def test_module_per_sample_weights_and_state_dict_names():
    layer = nn.EmbeddingBag(5, 2, mode="sum", dtype="float64")
    assert list(layer.state_dict()) == ["weight"] and layer.weight.shape == (5, 2)
    out = layer(cr.tensor([[0, 3]]), per_sample_weights=cr.tensor([[2.0, 0.5]], dtype="float64"))
    expected = 2 * layer.weight.detach().numpy()[0] + 0.5 * layer.weight.detach().numpy()[3]
    np.testing.assert_allclose(out.detach().numpy()[0], expected)


def test_from_pretrained_as_torch():
    weight = np.array([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]], np.float32)
    ours = nn.EmbeddingBag.from_pretrained(cr.tensor(weight))
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(weight))
    assert repr(ours) == repr(theirs) and not ours.weight.requires_grad
    out = ours(cr.tensor([[1, 0]]))
    np.testing.assert_allclose(out.numpy(), theirs(torch.tensor([[1, 0]])).numpy())
    unfrozen = nn.EmbeddingBag.from_pretrained(
        cr.tensor(weight), freeze=False, mode="max", padding_idx=0
    )
    assert unfrozen.weight.requires_grad and unfrozen.mode == "max"
    assert (
        unfrozen.weight.detach().numpy()[0].tolist() == weight[0].tolist()
    )  # the padding row as given
    with pytest.raises(ValueError, match="2-D"):
        nn.EmbeddingBag.from_pretrained(cr.tensor(weight[0]))


def test_module_argument_errors():
    with pytest.raises(ValueError, match="padding_idx must be within"):
        nn.EmbeddingBag(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match="mode has to be one of"):
        nn.EmbeddingBag(4, 2, mode="median")
    with pytest.raises(cr.ShapeError, match="does not match"):
        nn.EmbeddingBag(4, 2, _weight=cr.zeros(3, 2))


def test_module_trains_its_rows():
    layer = nn.EmbeddingBag(6, 2, mode="mean", padding_idx=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(cr.tensor([[1, 2, 0]])).sum().backward()
    grad = np.asarray(layer.weight.grad)
    np.testing.assert_allclose(grad[[1, 2]], 0.5)  # the mean of two ids: padding left out
    assert not grad[[0, 3, 4, 5]].any()


def test_registry_round_trip_and_save_load(tmp_path):
    from chainrule.nn.registry import module_from_config, module_to_config

    layer = nn.EmbeddingBag(
        10, 3, mode="max", padding_idx=-1, max_norm=2.0, include_last_offset=True, dtype="float64"
    )
    config = module_to_config(layer)
    assert config["args"]["mode"] == "max" and config["args"]["padding_idx"] == 9
    assert repr(module_from_config(config)) == repr(layer)
    cr.save(nn.Sequential(layer), tmp_path / "bag.safetensors")
    loaded = cr.load(tmp_path / "bag.safetensors")[0]
    ids, offsets = cr.tensor([1, 2, 9, 4]), cr.tensor([0, 2, 4])
    assert loaded.include_last_offset and loaded.weight.dtype == np.float64
    np.testing.assert_array_equal(
        loaded(ids, offsets).detach().numpy(), layer(ids, offsets).detach().numpy()
    )
