"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch: outputs, attention
weights, input and parameter gradients (float64 tight, float32), masks of every kind,
batch_first, unbatched input, PyTorch's parameter names, initialisation and errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
F = nn.functional
TOL = {"float64": dict(rtol=1e-10, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5)}
TORCH_DTYPE = {"float64": torch.float64, "float32": torch.float32}


def _pair(shape, dtype="float64", seed=0):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    ours = cr.tensor(values, dtype=dtype, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    return ours, theirs


def _close(ours, theirs, dtype="float64"):
    np.testing.assert_allclose(np.asarray(ours.detach()), theirs.detach().numpy(), **TOL[dtype])


# ---- scaled_dot_product_attention ------------------------------------------------------------
def _mask(kind, shape):
    rng = np.random.default_rng(7)
    if kind == "bool":
        mask = rng.random(shape) > 0.3
        mask[..., 0] = True  # every query sees a key
        return mask
    return rng.standard_normal(shape)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"is_causal": True},
        {"scale": 0.3},
        {"mask": "bool"},
        {"mask": "float"},
        {"mask": "bool", "mask_shape": (3, 5)},  # broadcast over the batch
    ],
)
def test_sdpa_matches_torch(dtype, options):
    (q, tq), (k, tk), (v, tv) = (
        _pair((2, 3, 4), dtype, 0),
        _pair((2, 5, 4), dtype, 1),
        _pair((2, 5, 6), dtype, 2),
    )
    kwargs = {key: value for key, value in options.items() if key in ("is_causal", "scale")}
    theirs_kwargs = dict(kwargs)
    if "mask" in options:
        mask = _mask(options["mask"], options.get("mask_shape", (2, 3, 5)))
        kwargs["attn_mask"] = mask.astype(dtype) if mask.dtype.kind == "f" else mask
        theirs_kwargs["attn_mask"] = torch.tensor(kwargs["attn_mask"])
    out = F.scaled_dot_product_attention(q, k, v, **kwargs)
    expected = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **theirs_kwargs)
    _close(out, expected, dtype)
    grad = np.random.default_rng(3).standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(grad, dtype=dtype))
    expected.backward(torch.tensor(grad))
    for ours, theirs in ((q, tq), (k, tk), (v, tv)):
        _close(ours.grad, theirs.grad, dtype)


def test_sdpa_broadcasts_batch_dims_and_groups_heads_as_torch():
    (q, tq), (k, tk), (v, tv) = _pair((3, 2, 3, 4)), _pair((2, 5, 4), seed=1), _pair((5, 6), seed=2)
    _close(
        F.scaled_dot_product_attention(q, k, v),
        torch.nn.functional.scaled_dot_product_attention(tq, tk, tv),
    )
    (k, tk), (v, tv) = _pair((3, 1, 5, 4), seed=3), _pair((3, 1, 5, 6), seed=4)
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    expected = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    _close(out, expected)


def test_sdpa_query_with_every_key_masked_gives_zeros_and_finite_gradients_as_torch():
    (q, tq), (k, tk), (v, tv) = _pair((3, 4)), _pair((5, 4), seed=1), _pair((5, 2), seed=2)
    mask = np.ones((3, 5), bool)
    mask[1] = False  # query 1 may attend to nothing
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    expected = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=torch.tensor(mask)
    )
    _close(out, expected)
    assert np.all(out.detach().numpy()[1] == 0)
    out.sum().backward()
    expected.sum().backward()
    for ours, theirs in ((q, tq), (k, tk), (v, tv)):
        assert np.isfinite(ours.grad.numpy()).all()
        _close(ours.grad, theirs.grad)


def test_a_float_mask_that_requires_grad_gets_torchs_gradient():
    (q, tq), (k, tk), (v, tv) = _pair((3, 4)), _pair((5, 4), seed=1), _pair((5, 2), seed=2)
    mask, theirs_mask = _pair((3, 5), seed=5)
    F.scaled_dot_product_attention(q, k, v, attn_mask=mask).sum().backward()
    torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=theirs_mask
    ).sum().backward()
    _close(mask.grad, theirs_mask.grad)


def test_sdpa_gradients_and_second_derivatives_match_finite_differences():
    q, k, v = (_pair(shape, seed=i)[0] for i, shape in enumerate([(2, 3, 2), (2, 4, 2), (2, 4, 3)]))
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0], [1, 1, 1, 1]], bool)
    assert gradcheck(lambda *a: F.scaled_dot_product_attention(*a, attn_mask=mask), q, k, v)
    assert gradgradcheck(lambda *a: F.scaled_dot_product_attention(*a, is_causal=True), q, k, v)


@pytest.mark.parametrize(
    "case",
    ["causal_and_mask", "int_mask", "mask_shape", "key_size", "value_length", "one_dim", "dtypes"],
)
def test_sdpa_bad_input_raises_torchs_error_type(case):
    q, k, v = np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 5, 6))
    kwargs = {}
    if case == "causal_and_mask":
        kwargs = {"attn_mask": np.ones((3, 5), bool), "is_causal": True}
    elif case == "int_mask":
        kwargs = {"attn_mask": np.ones((3, 5), np.int64)}
    elif case == "mask_shape":
        kwargs = {"attn_mask": np.ones((4, 5), bool)}
    elif case == "key_size":
        k = k[..., :3]
    elif case == "value_length":
        v = v[:, :4]
    elif case == "one_dim":
        q = q[0, 0]
    elif case == "dtypes":
        v = v.astype(np.float32)
    with pytest.raises(RuntimeError):  # PyTorch's type
        torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(a) for a in (q, k, v)),
            **{key: torch.tensor(m) if key == "attn_mask" else m for key, m in kwargs.items()},
        )
    with pytest.raises(RuntimeError) as raised:
        F.scaled_dot_product_attention(
            *(cr.tensor(a, dtype=a.dtype.name) for a in (q, k, v)), **kwargs
        )
    assert "scaled_dot_product_attention" in str(raised.value) or "mask" in str(raised.value)


# ---- MultiheadAttention ----------------------------------------------------------------------
def _twins(dtype="float64", **options):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(6, 2, dtype=TORCH_DTYPE[dtype], **options)
    ours = nn.MultiheadAttention(6, 2, dtype=dtype, **options)
    assert [(n, tuple(p.shape)) for n, p in ours.state_dict().items()] == [
        (n, tuple(p.shape)) for n, p in theirs.state_dict().items()
    ]
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _inputs(dtype, batch_first, kdim=6, vdim=6, batched=True, self_attention=False):
    def shape(length, size):
        if not batched:
            return (length, size)
        return (2, length, size) if batch_first else (length, 2, size)

    query = _pair(shape(3, 6), dtype, 0)
    if self_attention:
        return query, query, query
    return query, _pair(shape(5, kdim), dtype, 1), _pair(shape(5, vdim), dtype, 2)


def _run_both(ours, theirs, inputs, dtype, **kwargs):
    theirs_kwargs = {
        key: torch.tensor(value) if isinstance(value, np.ndarray) else value
        for key, value in kwargs.items()
    }
    out, weights = ours(*(pair[0] for pair in inputs), **kwargs)
    expected, expected_weights = theirs(*(pair[1] for pair in inputs), **theirs_kwargs)
    _close(out, expected, dtype)
    assert (weights is None) == (expected_weights is None)
    if weights is not None:
        _close(weights, expected_weights, dtype)
    grad = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(grad, dtype=dtype))
    expected.backward(torch.tensor(grad))
    for mine, their in {id(p[0]): p for p in inputs}.values():
        _close(mine.grad, their.grad, dtype)
    for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, tp.grad, dtype)


CONFIGS = [
    {},
    {"batch_first": True},
    {"kdim": 3, "vdim": 5},
    {"bias": False},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", CONFIGS)
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_matches_torch(dtype, options, need_weights):
    ours, theirs = _twins(dtype, **options)
    inputs = _inputs(
        dtype, options.get("batch_first", False), options.get("kdim", 6), options.get("vdim", 6)
    )
    padding = np.zeros((2, 5), bool)
    padding[1, 3:] = True
    _run_both(ours, theirs, inputs, dtype, key_padding_mask=padding, need_weights=need_weights)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_self_attention_per_head_weights_and_unbatched_input(batch_first, average):
    ours, theirs = _twins(batch_first=batch_first)
    inputs = _inputs("float64", batch_first, self_attention=True)
    _run_both(ours, theirs, inputs, "float64", average_attn_weights=average)
    ours.zero_grad()
    theirs.zero_grad()
    unbatched = _inputs("float64", batch_first, batched=False)
    _run_both(
        ours, theirs, unbatched, "float64", average_attn_weights=average,
        key_padding_mask=np.array([False, False, True, False, False]),
        attn_mask=_mask("float", (2, 3, 5)),
    )  # fmt: skip


@pytest.mark.parametrize(
    "masks",
    [
        {"attn_mask": "bool2"},
        {"attn_mask": "float2"},
        {"attn_mask": "bool3"},
        {"attn_mask": "float3", "key_padding_mask": "float"},
        {"attn_mask": "bool2", "key_padding_mask": "bool"},
        {"attn_mask": "causal", "is_causal": True},
        {"attn_mask": "causal", "is_causal": True, "need_weights": False},
        {"attn_mask": "float2", "is_causal": True, "need_weights": False},  # the hint wins
    ],
)
def test_masks_match_torch(masks):
    ours, theirs = _twins()
    inputs = _inputs("float64", False)
    kwargs = {k: v for k, v in masks.items() if k in ("is_causal", "need_weights")}
    blocked = ~_mask("bool", (4, 3, 5))  # True = blocked, for MultiheadAttention
    kinds = {
        "bool2": blocked[0],
        "float2": _mask("float", (3, 5)),
        "bool3": blocked,
        "float3": _mask("float", (4, 3, 5)),
        "causal": np.triu(np.full((3, 5), -np.inf), 1),
        "bool": np.array([[False] * 5, [False, False, False, True, True]]),
        "float": np.array([[0.0] * 5, [0.5, 0.0, -np.inf, 1.0, 0.0]]),
    }
    for name in ("attn_mask", "key_padding_mask"):
        if name in masks:
            kwargs[name] = kinds[masks[name]]
    _run_both(ours, theirs, inputs, "float64", **kwargs)


def test_a_fully_padded_query_gives_torchs_nan_weights_or_finite_output():
    ours, theirs = _twins()
    inputs = _inputs("float64", False)
    padding = np.zeros((2, 5), bool)
    padding[1] = True
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN as PyTorch's, without NumPy's RuntimeWarning
        for need_weights in (True, False):
            out, _ = ours(
                *(p[0] for p in inputs), key_padding_mask=padding, need_weights=need_weights
            )
            expected, _ = theirs(
                *(p[1] for p in inputs), key_padding_mask=torch.tensor(padding),
                need_weights=need_weights,
            )  # fmt: skip
            np.testing.assert_allclose(out.detach().numpy(), expected.numpy(), rtol=1e-10)
            assert np.isnan(out.detach().numpy()[:, 1]).all() == need_weights


def test_parameters_and_initialisation_follow_torch():
    layer = nn.MultiheadAttention(8, 2)
    names = [name for name, _ in layer.named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert not layer.in_proj_bias.detach().numpy().any()
    assert not layer.out_proj.bias.detach().numpy().any()
    weight = layer.in_proj_weight.detach().numpy()
    bound = np.sqrt(6.0 / (8 + 24))  # Xavier-uniform, fan_in 8, fan_out 24
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    separate = nn.MultiheadAttention(8, 2, kdim=3, vdim=4, add_bias_kv=True)
    shapes = {name: p.shape for name, p in separate.named_parameters()}
    assert shapes == {
        name: tuple(p.shape)
        for name, p in torch.nn.MultiheadAttention(
            8, 2, kdim=3, vdim=4, add_bias_kv=True
        ).named_parameters()
    }
    assert separate.in_proj_weight is None and layer.q_proj_weight is None
    assert repr(layer) == repr(torch.nn.MultiheadAttention(8, 2))


def test_dropout_on_the_weights_only_in_training():
    layer = nn.MultiheadAttention(4, 2, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((3, 2, 4)).astype(np.float32)
    cr.manual_seed(0)
    _, weights = layer(x, x, x, average_attn_weights=False)
    assert (weights.detach().numpy() == 0).any()
    layer.eval()
    _, weights = layer(x, x, x)
    np.testing.assert_allclose(weights.detach().numpy().sum(-1), 1.0, rtol=1e-6)


def test_multihead_attention_matches_finite_differences():
    layer = nn.MultiheadAttention(4, 2, kdim=3, dtype="float64")
    (q, _), (k, _), (v, _) = _pair((2, 1, 4)), _pair((3, 1, 3), seed=1), _pair((3, 1, 4), seed=2)
    padding = np.array([[False, True, False]])
    assert gradcheck(lambda *a: layer(*a, key_padding_mask=padding)[0], q, k, v)
    assert gradcheck(lambda w: layer(q, k, v)[0] * w.sum(), layer.q_proj_weight)


@pytest.mark.parametrize(
    "case, error",
    [
        ("heads", AssertionError),
        ("zero", ValueError),
        ("mask2", RuntimeError),
        ("mask3", RuntimeError),
        ("padding", AssertionError),
        ("query4d", AssertionError),
        ("key2d", AssertionError),
        ("int_mask", AssertionError),
        ("causal_hint_alone", RuntimeError),
    ],
)
def test_bad_input_raises_torchs_error_types(case, error):
    def run(lib):
        if case == "heads":
            return lib.nn.MultiheadAttention(6, 4)
        if case == "zero":
            return lib.nn.MultiheadAttention(0, 2)
        layer = lib.nn.MultiheadAttention(4, 2)
        x = lib.ones(3, 2, 4)
        kwargs = {
            "mask2": {"attn_mask": lib.zeros(3, 4)},
            "mask3": {"attn_mask": lib.zeros(2, 3, 3)},
            "padding": {"key_padding_mask": lib.zeros(2, 4, dtype=lib.bool)},
            "int_mask": {"attn_mask": lib.zeros(3, 3, dtype=lib.long)},
            "causal_hint_alone": {"is_causal": True},
        }.get(case, {})
        if case == "query4d":
            x = lib.ones(1, 3, 2, 4)
        key = x[0] if case == "key2d" else x
        return layer(x, key, key, **kwargs)

    with pytest.raises(error):
        run(torch)
    with pytest.raises(error) as raised:
        run(cr)
    assert len(str(raised.value)) > 20  # a message that says what is wrong


def test_bool_padding_mask_beside_a_float_attn_mask_warns_as_torch():
    layer = nn.MultiheadAttention(4, 2)
    x = np.ones((3, 1, 4), np.float32)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        layer(
            x, x, x, key_padding_mask=np.zeros((1, 3), bool), attn_mask=np.zeros((3, 3), np.float32)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x, x, x, key_padding_mask=np.zeros((1, 3), bool), attn_mask=np.zeros((3, 3), bool))


def test_a_torch_state_dict_with_separate_projections_loads():
    theirs = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True)
    ours = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True)
    ours.load_state_dict(theirs.state_dict())
    (q, tq), (k, tk), (v, tv) = (
        _pair((2, 3, 4), "float32"),
        _pair((2, 6, 3), "float32", 1),
        _pair((2, 6, 5), "float32", 2),
    )
    _close(ours(q, k, v)[0], theirs(tq, tk, tv)[0], "float32")


def test_a_float32_constant_mask_serves_a_float64_query_but_a_trainable_one_must_match():
    (q, _), (k, _), (v, _) = _pair((3, 4)), _pair((5, 4), seed=1), _pair((5, 2), seed=2)
    mask = np.random.default_rng(4).standard_normal((3, 5))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=cr.tensor(mask, dtype="float32"))
    exact = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.astype(np.float32))
    np.testing.assert_array_equal(out.detach().numpy(), exact.detach().numpy())
    trainable = cr.tensor(mask, dtype="float32", requires_grad=True)
    with pytest.raises(cr.DTypeError, match="requires grad must have the query's dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=trainable)


def test_functional_multi_head_attention_forward_matches_torch():
    torch.manual_seed(0)
    layer = torch.nn.MultiheadAttention(4, 2, dtype=torch.float64)
    weights = {name: p.detach().numpy() for name, p in layer.named_parameters()}
    (q, tq), (k, tk) = _pair((3, 2, 4)), _pair((5, 2, 4), seed=1)
    args = (4, 2, weights["in_proj_weight"], weights["in_proj_bias"], None, None, False, 0.0)
    out_proj = (weights["out_proj.weight"], weights["out_proj.bias"])
    ours = F.multi_head_attention_forward(q, k, k, *args, *out_proj, average_attn_weights=False)
    theirs = torch.nn.functional.multi_head_attention_forward(
        tq, tk, tk, *(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args),
        *(torch.tensor(a) for a in out_proj), average_attn_weights=False,
    )  # fmt: skip
    for mine, their in zip(ours, theirs):
        _close(mine, their)


def test_sdpa_dropout_is_applied_whenever_p_is_positive_and_follows_the_seed():
    (q, _), (k, _), (v, _) = _pair((2, 3, 4)), _pair((2, 5, 4), seed=1), _pair((2, 5, 6), seed=2)
    plain = F.scaled_dot_product_attention(q, k, v).detach().numpy()
    runs = []
    for _ in range(2):
        cr.manual_seed(3)
        runs.append(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).detach().numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.abs(runs[0] - plain).max() > 1e-3
