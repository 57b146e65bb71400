"""PyTorch's top-level spellings of nn.functional ops (``torch.layer_norm``, ``torch.ctc_loss``,
``torch.grid_sampler``, ...) and the Tensor methods ``hardshrink``/``prelu``: the names exist
exactly where PyTorch has them, with ATen's signatures (names, positional order, defaults,
keyword-only arguments), and give PyTorch's values and gradients; ATen's int enums out of range
are clear errors."""

import math

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAMES = cr._NN_TOPLEVEL + cr._CONVS


def _schema(name):
    """ATen's arguments of ``torch.<name>``: (name, has a default, default, keyword-only), read
    from the schema text (``self`` is ``input`` in Python)."""
    schemas = torch._C._jit_get_schemas_for_operator(f"aten::{name}")
    schema = next(s for s in schemas if s.overload_name in ("", "input", "IntList"))
    text = str(schema)
    inner = text[text.index("(") + 1 : text.rindex(") ->")]
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(inner):
        depth += ch in "([" and 1 or (ch in ")]" and -1 or 0)
        if ch == "," and depth == 0:
            parts.append(inner[start:k].strip())
            start = k + 1
    parts.append(inner[start:].strip())
    args, keyword_only = [], False
    for part in parts:
        if part == "*":
            keyword_only = True
            continue
        declared = part.split("=", 1)[0].split()[-1]
        args.append(("input" if declared == "self" else declared, "=" in part, keyword_only))
    defaults = {a.name: a.default_value for a in schema.arguments}
    return [(n, has, defaults.get(n, defaults.get("self")), kw) for n, has, kw in args]


def test_every_name_is_pytorchs_and_present():
    for name in NAMES:
        assert hasattr(torch, name), name
        assert callable(getattr(cr, name)), name
    assert set(cr.torch_nn_functions.__all__) == set(cr._NN_TOPLEVEL)


def _same_default(ours, theirs) -> bool:
    if isinstance(theirs, (list, tuple)):  # ATen's [] stride is "the kernel size"
        ours = ours if isinstance(ours, (list, tuple)) else [ours] * max(len(theirs), 1)
        return list(ours) == list(theirs) or (not theirs and not ours)
    if isinstance(theirs, float) and isinstance(ours, (int, float)):
        return math.isclose(ours, theirs, rel_tol=1e-12)
    return ours == theirs


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_atens(name):
    import inspect

    params = list(inspect.signature(getattr(cr, name)).parameters.values())
    theirs = _schema(name)
    assert [p.name for p in params] == [a[0] for a in theirs]
    for p, (arg, has_default, default, keyword_only) in zip(params, theirs):
        assert (p.kind is inspect.Parameter.KEYWORD_ONLY) == keyword_only, (name, arg)
        assert (p.default is not inspect.Parameter.empty) == has_default, (name, arg)
        if has_default and arg == "reduction":  # PyTorch's binding reads ATen's 1 as 0
            assert p.default == 0 and default == 1, name
        elif has_default:
            assert _same_default(p.default, default), (name, arg, p.default, default)


def test_a_left_out_reduction_is_none_as_pytorchs_binding_makes_it():
    a, b = np.random.default_rng(1).random((2, 4, 3))
    y = np.array([1.0, -1.0, 1.0, -1.0])
    calls = [
        ("kl_div", (np.log(a), b), (4, 3)),
        ("margin_ranking_loss", (a[:, 0], b[:, 0], y), (4,)),
        ("hinge_embedding_loss", (a[:, 0], y), (4,)),
        ("cosine_embedding_loss", (a, b, y), (4,)),
        ("triplet_margin_loss", (a, b, a[::-1].copy()), (4,)),
        ("binary_cross_entropy_with_logits", (a, b), (4, 3)),
    ]
    for name, args, shape in calls:
        theirs = getattr(torch, name)(*map(torch.tensor, args))
        ours = getattr(cr, name)(*(cr.tensor(x, dtype="float64") for x in args))
        assert ours.shape == tuple(theirs.shape) == shape, name
        np.testing.assert_allclose(np.asarray(ours.data), theirs.numpy(), rtol=1e-12)


# ---- values and gradients against PyTorch ---------------------------------------------------
class Stat(np.ndarray):
    """A float input that takes no gradient (running statistics): compared after the call."""


def _stat(a):
    return np.asarray(a, dtype=np.float64).view(Stat)


def _log_softmax(a, axis=-1):
    a = a - a.max(axis=axis, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=axis, keepdims=True))


def _cases():
    r = np.random.default_rng(0)

    def n(*shape):
        return r.standard_normal(shape)

    def sign(*shape):
        return np.where(r.random(shape) < 0.5, -1.0, 1.0)

    grid = r.uniform(-1.1, 1.1, (1, 3, 3, 2))
    grid3 = r.uniform(-1.1, 1.1, (1, 2, 2, 2, 3))
    lp = _log_softmax(n(6, 2, 4))
    targets = np.array([[1, 2, 3], [2, 2, 0]])
    cases = [
        ("celu", (n(3, 4), 0.5)),  # 1/α exact in float32 (PyTorch rounds it to float32)
        ("selu", (n(3, 4),)),
        ("rrelu", (n(3, 4), 0.1, 0.3, False)),
        ("hardshrink", (n(3, 4), 0.3)),
        ("prelu", (n(2, 3, 4), r.random(3))),
        ("threshold", (n(3, 4), 0.1, -2.0)),
        ("pdist", (n(5, 3), 1.5)),
        ("cosine_similarity", (n(4, 3), n(4, 3), 1, 1e-8)),
        ("pairwise_distance", (n(4, 3), n(4, 3), 3.0, 1e-6, True)),
        ("pixel_shuffle", (n(1, 8, 2, 3), 2)),
        ("pixel_unshuffle", (n(1, 2, 4, 6), 2)),
        ("channel_shuffle", (n(2, 6, 3, 3), 3)),
        ("native_channel_shuffle", (n(2, 6, 3, 3), 2)),
        ("embedding", (n(6, 3), np.array([[0, 2, 5, 2], [1, 1, 3, 4]]), 2)),
        ("embedding", (n(6, 3), np.array([0, 5, 5]))),
        ("bilinear", (n(4, 3), n(4, 5), n(2, 3, 5), n(2))),
        ("layer_norm", (n(2, 3, 4), [3, 4], n(3, 4), n(3, 4), 1e-5, True)),
        ("layer_norm", (n(2, 3, 4), [4])),
        ("rms_norm", (n(2, 3, 4), [4], n(4), 1e-6)),
        ("group_norm", (n(2, 6, 5), 3, n(6), n(6), 1e-5, True)),
        (
            "batch_norm",
            (n(4, 3, 5), n(3), n(3), _stat(n(3)), _stat(n(3) ** 2), True, 0.2, 1e-5, True),
        ),
        (
            "batch_norm",
            (n(4, 3), n(3), None, _stat(n(3)), _stat(n(3) ** 2), False, 0.1, 1e-3, False),
        ),
        ("instance_norm", (n(2, 3, 5), n(3), n(3), None, None, True, 0.1, 1e-5, True)),
        (
            "instance_norm",
            (n(2, 3, 5), None, None, _stat(n(3)), _stat(n(3) ** 2), True, 0.3, 1e-5, True),
        ),
        ("dropout", (n(3, 4), 0.5, False)),
        ("feature_dropout", (n(2, 3, 4), 0.5, False)),
        ("alpha_dropout", (n(3, 4), 0.5, False)),
        ("feature_alpha_dropout", (n(2, 3, 4), 0.5, False)),
        ("adaptive_avg_pool1d", (n(2, 3, 7), 3)),
        ("adaptive_max_pool1d", (n(2, 3, 7), 3)),
        ("avg_pool1d", (n(2, 3, 9), 3)),
        ("avg_pool1d", (n(2, 3, 9), 3, 2, 1, True, False)),
        ("max_pool1d", (n(2, 3, 9), 3)),
        ("max_pool1d", (n(3, 9), 3, [2], [1], [2], True)),
        ("max_pool2d", (n(2, 3, 6, 7), 2)),
        ("max_pool2d", (n(2, 3, 6, 7), 3, 2, 1, 1, True)),
        ("max_pool3d", (n(1, 2, 4, 5, 6), 2)),
        ("max_pool1d_with_indices", (n(2, 3, 9), 3, 2)),
        ("grid_sampler", (n(1, 2, 4, 5), grid, 0, 1, False)),
        ("grid_sampler", (n(1, 2, 4, 5), grid, 1, 2, True)),
        ("grid_sampler", (n(1, 2, 4, 5), grid, 2, 0, False)),
        ("grid_sampler_2d", (n(1, 2, 4, 5), grid, 0, 2, False)),
        ("grid_sampler_3d", (n(1, 2, 3, 4, 5), grid3, 0, 0, True)),
        ("grid_sampler", (n(1, 2, 3, 4, 5), grid3, 1, 1, False)),
        ("affine_grid_generator", (n(2, 2, 3), [2, 3, 4, 5], False)),
        ("affine_grid_generator", (n(1, 3, 4), [1, 1, 2, 3, 4], True)),
        ("kl_div", (_log_softmax(n(3, 4)), r.dirichlet(np.ones(4), 3), 2)),
        ("kl_div", (_log_softmax(n(3, 4)), _log_softmax(n(3, 4))), {"log_target": True}),
        ("conv1d", (n(2, 3, 8), n(4, 3, 3), n(4), 2, 1, 1, 1)),
        ("conv2d", (n(2, 4, 6, 5), n(6, 2, 3, 2), None, 1, "same", 1, 2)),
        ("conv3d", (n(1, 2, 4, 4, 4), n(3, 2, 2, 2, 2), n(3), 2)),
        ("conv_transpose1d", (n(2, 3, 5), n(3, 2, 3), n(2), 2, 1, 1, 1, 1)),
        ("conv_transpose2d", (n(1, 2, 3, 4), n(2, 3, 3, 3), None, 2, 1, 0, 1, 2)),
        ("conv_transpose3d", (n(1, 2, 2, 3, 2), n(2, 1, 2, 2, 2))),
    ]
    for red in (0, 1, 2):
        cases += [
            ("margin_ranking_loss", (n(5), n(5), sign(5), 0.2, red)),
            ("hinge_embedding_loss", (n(5), sign(5), 1.0, red)),
            ("cosine_embedding_loss", (n(4, 3), n(4, 3), sign(4), 0.1, red)),
            ("triplet_margin_loss", (n(4, 3), n(4, 3), n(4, 3), 1.0, 3.0, 1e-6, True, red)),
            ("poisson_nll_loss", (n(3, 4), r.poisson(2.0, (3, 4)) * 1.0, True, True, 1e-8, red)),
            (
                "poisson_nll_loss",
                (r.random((3, 4)) + 0.1, r.random((3, 4)), False, False, 1e-8, red),
            ),
            ("ctc_loss", (lp, targets, [6, 5], [3, 2], 0, red)),
            ("ctc_loss", (lp, targets, np.array([6, 6]), np.array([3, 1]), 0, red, True)),
            ("kl_div", (_log_softmax(n(3, 4)), r.dirichlet(np.ones(4), 3), red)),
            (
                "binary_cross_entropy_with_logits",
                (n(3, 4), r.random((3, 4)), _stat(r.random(4)), _stat(r.random(4)), red),
            ),
        ]
    return cases


CASES = _cases()


def _convert(arg, lib):
    if isinstance(arg, Stat):
        data = np.asarray(arg).copy()
        return cr.tensor(data, dtype="float64") if lib is cr else torch.tensor(data)
    if isinstance(arg, np.ndarray):
        if arg.dtype.kind == "f":
            if lib is cr:
                return cr.tensor(arg, dtype="float64", requires_grad=True)
            return torch.tensor(arg, requires_grad=True)
        return cr.tensor(arg) if lib is cr else torch.tensor(arg)
    return arg


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _run(lib, name, args, kwargs):
    inputs = [_convert(a, lib) for a in args]
    outs = _outputs(getattr(lib, name)(*inputs, **kwargs))
    first = outs[0]
    weight = np.linspace(-1.0, 2.0, num=max(int(np.prod(first.shape)), 1)).reshape(first.shape)
    leaves = [x for x in inputs if getattr(x, "requires_grad", False)]
    if lib is cr:
        (first * cr.tensor(weight, dtype="float64")).sum().backward()
        grads = [np.asarray(x.grad) if x.grad is not None else None for x in leaves]
        stats = [np.asarray(x.data) for a, x in zip(args, inputs) if isinstance(a, Stat)]
        return [np.asarray(o.data) for o in outs], grads, stats
    try:
        (first * torch.tensor(weight)).sum().backward()
        grads = [x.grad.numpy() if x.grad is not None else None for x in leaves]
    except RuntimeError:  # a PyTorch op with no derivative (native_channel_shuffle)
        grads = None
    stats = [x.numpy() for a, x in zip(args, inputs) if isinstance(a, Stat)]
    return [o.detach().numpy() for o in outs], grads, stats


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_values_and_gradients_match_pytorch(case):
    name, args, kwargs = (*case, {}) if len(case) == 2 else case
    outs, grads, stats = _run(cr, name, args, kwargs)
    outs_t, grads_t, stats_t = _run(torch, name, args, kwargs)
    assert len(outs) == len(outs_t)
    for ours, theirs in zip(outs, outs_t):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)
    if grads_t is not None:
        for ours, theirs in zip(grads, grads_t):
            if theirs is None:
                assert ours is None or not np.any(ours)
            else:
                np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
    for ours, theirs in zip(stats, stats_t):  # running statistics, updated in place
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_tensor_methods_are_exactly_pytorchs():
    x = np.array([[-1.5, -0.2, 0.0], [0.3, 0.6, 2.0]])
    for name in ("hardshrink", "prelu", "celu", "selu", "rrelu", "pdist", "layer_norm"):
        assert hasattr(torch.Tensor, name) == hasattr(cr.Tensor, name), name
    c, t = cr.tensor(x, dtype="float64"), torch.tensor(x)
    np.testing.assert_array_equal(np.asarray(c.hardshrink(0.25).data), t.hardshrink(0.25))
    np.testing.assert_array_equal(np.asarray(c.hardshrink().data), t.hardshrink())
    w = np.array([0.1, 0.2, 0.3])
    ours = c.prelu(cr.tensor(w, dtype="float64"))
    np.testing.assert_allclose(np.asarray(ours.data), t.prelu(torch.tensor(w)))


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("celu_", (0.5,)),
        ("selu_", ()),
        ("rrelu_", (0.1, 0.3, False)),
        ("threshold_", (0.1, 7.0)),
    ],
)
def test_in_place_forms_write_into_their_input(name, args):
    x = np.array([[-1.5, -0.2, 0.0], [0.3, 0.6, 2.0]])
    c, t = cr.tensor(x, dtype="float64"), torch.tensor(x)
    out = getattr(cr, name)(c, *args)
    getattr(torch, name)(t, *args)
    assert out is c
    np.testing.assert_allclose(np.asarray(c.data), t.numpy(), rtol=1e-12)


def test_rrelu_takes_its_generator_by_position():
    x = -np.ones((4, 50))
    first = cr.rrelu(cr.tensor(x), 0.1, 0.3, True, cr.Generator().manual_seed(5))
    again = cr.rrelu(cr.tensor(x), 0.1, 0.3, True, cr.Generator().manual_seed(5))
    np.testing.assert_array_equal(np.asarray(first.data), np.asarray(again.data))
    slopes = -np.asarray(first.data)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y = cr.tensor(x)
    assert cr.rrelu_(y, 0.1, 0.3, True, cr.Generator().manual_seed(5)) is y
    np.testing.assert_array_equal(np.asarray(y.data), np.asarray(first.data))


def test_embedding_padding_idx_follows_aten():
    w = np.arange(12.0).reshape(4, 3)
    idx = np.array([0, 3, 3, 1])
    for padding in (-1, 3, -2):
        c = cr.tensor(w, dtype="float64", requires_grad=True)
        t = torch.tensor(w, requires_grad=True)
        cr.embedding(c, cr.tensor(idx), padding).sum().backward()
        torch.embedding(t, torch.tensor(idx), padding).sum().backward()
        np.testing.assert_array_equal(np.asarray(c.grad), t.grad.numpy())


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout"])
def test_dropout_forms_train_and_write_in_place(name):
    cr.manual_seed(0)
    x = np.ones((40, 50))
    out = np.asarray(getattr(cr, name)(cr.tensor(x), 0.3, True).data)
    values = np.unique(np.round(out, 9))
    assert len(values) == 2  # kept and dropped, each one value
    expected = torch.unique(getattr(torch, name)(torch.tensor(x), 0.3, True)).numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert (
        abs(np.mean(out == values.min()) - 0.3) < 0.05
        or abs(np.mean(out == values.max()) - 0.3) < 0.05
    )
    y = cr.tensor(x.copy())
    assert getattr(cr, name + "_")(y, 0.3, True) is y
    assert len(np.unique(np.round(np.asarray(y.data), 9))) == 2


@pytest.mark.parametrize("name", ["feature_dropout", "feature_alpha_dropout"])
def test_feature_dropout_drops_whole_channels(name):
    cr.manual_seed(1)
    x = np.ones((8, 10, 6))
    out = np.asarray(getattr(cr, name)(cr.tensor(x), 0.5, True).data)
    assert np.all(out == out[:, :, :1])  # one draw per (sample, channel)
    assert len(np.unique(np.round(out, 9))) == 2
    y = cr.tensor(x.copy())
    assert getattr(cr, name + "_")(y, 0.5, True) is y
    with pytest.raises(cr.ShapeError, match="at least 2 dimensions"):
        getattr(cr, name)(cr.tensor(np.ones(5)), 0.5, True)


# ---- errors ---------------------------------------------------------------------------------
def test_reduction_is_atens_int():
    a, y = cr.tensor([0.5, -1.0]), cr.tensor([1.0, -1.0])
    with pytest.raises(TypeError, match="argument 'reduction' must be int, not str"):
        cr.margin_ranking_loss(a, a, y, 0.0, "mean")
    with pytest.raises(TypeError, match="must be int, not bool"):
        cr.hinge_embedding_loss(a, y, 1.0, True)
    with pytest.raises(ValueError, match=r"reduction must be one of 0 \(none\), 1 \(mean\), 2"):
        cr.kl_div(a, a, 3)


def test_grid_sampler_modes_and_ranks_are_checked():
    x, grid = cr.zeros(1, 1, 3, 3), cr.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match=r"interpolation_mode must be one of 0 \(bilinear\)"):
        cr.grid_sampler(x, grid, 5, 0, False)
    with pytest.raises(ValueError, match=r"padding_mode must be one of .*2 \(reflection\)"):
        cr.grid_sampler(x, grid, 0, 3, False)
    with pytest.raises(cr.ShapeError, match=r"grid_sampler_3d\(\): expected a 5-D input"):
        cr.grid_sampler_3d(x, grid, 0, 0, False)
    with pytest.raises(cr.ShapeError, match=r"grid_sampler_2d\(\): expected a 4-D input"):
        cr.grid_sampler_2d(cr.zeros(1, 1, 2, 3, 3), cr.zeros(1, 2, 2, 2, 3), 0, 0, False)
