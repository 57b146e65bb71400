"""A user's sweep of chainrule.nn.functional against torch.nn.functional: the options people
pass (reductions, weights, ignore_index, label smoothing, K-dim inputs, padding modes and
negative pads, pooling's ceil_mode / count_include_pad / divisor_override, activations'
parameters, norms' affine forms, attention masks), batch-of-one and unbatched shapes.
Values and every input's gradient in float64 must match PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(0)


def normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def labels(high, *shape):
    return RNG.integers(0, high, shape).astype(np.int64)


def probs(*shape, axis=1):
    p = np.abs(normal(*shape)) + 0.1
    return p / p.sum(axis=axis, keepdims=True)


def lift(value, lib, grad):
    if not isinstance(value, np.ndarray):
        return value
    if lib is torch:
        tensor = torch.tensor(value)
        return tensor.requires_grad_() if grad else tensor
    return cr.tensor(value, dtype=value.dtype, requires_grad=grad)


def compare(name, args, kwargs, grads=(0,)):
    """F.<name>(*args, **kwargs) in both libraries: outputs, then the gradients of the
    arguments at ``grads`` for one random weighting of the outputs."""
    ours = [lift(a, cr, i in grads) for i, a in enumerate(args)]
    theirs = [lift(a, torch, i in grads) for i, a in enumerate(args)]
    out_c = getattr(F, name)(*ours, **{k: lift(v, cr, False) for k, v in kwargs.items()})
    out_t = getattr(TF, name)(*theirs, **{k: lift(v, torch, False) for k, v in kwargs.items()})
    out_c = out_c if isinstance(out_c, tuple) else (out_c,)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    loss_c, loss_t = 0, 0
    for c, t in zip(out_c, out_t, strict=True):
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12)
        if t.requires_grad:
            w = normal(*t.shape)
            loss_c = loss_c + (c * cr.tensor(w, dtype="float64")).sum()
            loss_t = loss_t + (t * torch.from_numpy(w)).sum()
    if isinstance(loss_t, int):
        return
    loss_c.backward()
    loss_t.backward()
    for i in grads:
        np.testing.assert_allclose(
            ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=1e-8, atol=1e-11
        )


def case(name, args, grads=(0,), **kwargs):
    label = f"{name}-" + ",".join(f"{k}={v!r}"[:24] for k, v in kwargs.items())
    return pytest.param(name, args, kwargs, grads, id=label)


def loss_cases():
    w5 = np.abs(normal(5)) + 0.1
    for reduction in ("none", "sum", "mean"):
        r = {"reduction": reduction}
        for x, t in [
            (normal(4, 5), labels(5, 4)),
            (normal(1, 5), labels(5, 1)),
            (normal(5), labels(5)),
            (normal(2, 5, 3, 4), labels(5, 2, 3, 4)),
        ]:
            ignored = t.copy()
            ignored.reshape(-1)[0] = 2
            yield case("cross_entropy", [x, t], **r)
            yield case("cross_entropy", [x, ignored], weight=w5, ignore_index=2, **r)
            yield case("cross_entropy", [x, ignored], weight=w5, label_smoothing=0.2, **r)
            yield case("cross_entropy", [x, probs(*x.shape, axis=0 if x.ndim == 1 else 1)], **r)
            yield case("nll_loss", [x, ignored], weight=w5, ignore_index=2, **r)
        x, y = normal(3, 4), RNG.uniform(0, 1, (3, 4))
        pw = RNG.uniform(0.5, 2, 4)
        yield case("binary_cross_entropy", [1 / (1 + np.exp(-x)), y], weight=pw, **r)
        yield case("binary_cross_entropy_with_logits", [x, y], weight=pw, pos_weight=pw, **r)
        yield case("binary_cross_entropy_with_logits", [x, y], pos_weight=pw[:1], **r)
        yield case("mse_loss", [x, normal(3, 4)], (0, 1), **r)
        yield case("l1_loss", [x, normal(3, 4)], (0, 1), **r)
        yield case("smooth_l1_loss", [x, normal(3, 4)], beta=0.5, **r)
        yield case("smooth_l1_loss", [x, normal(3, 4)], beta=0.0, **r)
        yield case("huber_loss", [x, normal(3, 4)], delta=0.7, **r)
        yield case("kl_div", [x, y], **r)
        yield case("kl_div", [x, normal(3, 4)], (0, 1), log_target=True, **r)
        yield case("poisson_nll_loss", [x, 3 * y], **r)
        yield case("poisson_nll_loss", [np.abs(x) + 0.1, 3 * y], log_input=False, full=True, **r)
        var = np.abs(normal(3, 4)) + 0.1
        yield case("gaussian_nll_loss", [x, normal(3, 4), var], (0, 1, 2), full=True, **r)
        yield case("gaussian_nll_loss", [x, normal(3, 4), var[:, :1]], (0, 2), **r)
        sign = np.sign(normal(3, 4))
        yield case("soft_margin_loss", [x, sign], **r)
        yield case("hinge_embedding_loss", [x, sign], margin=0.5, **r)
        yield case("multilabel_soft_margin_loss", [x, (y > 0.5) * 1.0], weight=pw, **r)
        a, b, c, s = normal(4, 5), normal(4, 5), normal(4, 5), np.sign(normal(4))
        yield case("margin_ranking_loss", [a[:, 0], b[:, 0], s], (0, 1), margin=0.3, **r)
        yield case("cosine_embedding_loss", [a, b, s], (0, 1), margin=0.2, **r)
        yield case("triplet_margin_loss", [a, b, c], (0, 1, 2), p=1, swap=True, **r)
        yield case("triplet_margin_loss", [a[0], b[0], c[0]], (0, 1, 2), margin=0.7, **r)
        yield case("multi_margin_loss", [a, labels(5, 4)], p=2, margin=0.8, weight=w5, **r)
        targets = np.array([[1, 3, -1, 0, 0], [2, -1, 0, 0, 0], [0, 1, 2, 3, 4], [4, -1, 1, 1, 1]])
        yield case("multilabel_margin_loss", [a, targets], **r)
        log_probs = TF.log_softmax(torch.tensor(normal(12, 3, 5)), -1).numpy()
        ctc = [log_probs, labels(4, 3, 4) + 1, np.array([12, 10, 11]), np.array([4, 3, 2])]
        yield case("ctc_loss", ctc, **r)


def shape_cases():
    for shape in [(4, 5), (5,), (2, 3, 4)]:
        x = normal(*shape)
        for p in (1, 2, 3.5, float("inf")):
            yield case("normalize", [x], p=p, dim=-1)
        yield case("cosine_similarity", [x, normal(*shape)], (0, 1), dim=0)
    for p in (1, 2, 0.5, float("inf")):
        yield case("pairwise_distance", [normal(4, 5), normal(4, 5)], (0, 1), p=p, keepdim=True)
        yield case("pdist", [normal(4, 3)], p=p)
    weight = normal(7, 4)
    for ids in [np.array([0, 3, 6]), np.array([[1, 2], [3, 3]]), np.array(4)]:
        yield case("embedding", [ids, weight], (1,), padding_idx=3)
        yield case("embedding", [ids, weight], (1,), scale_grad_by_freq=True)
    ids, offsets = np.array([1, 2, 4, 5, 4, 3, 2, 6]), np.array([0, 3, 3, 6])
    for mode in ("sum", "mean", "max"):
        yield case("embedding_bag", [ids, weight], (1,), offsets=offsets, mode=mode, padding_idx=4)
    supported = {2: (2, 3), 4: (3, 4), 6: (4, 5)}  # PyTorch's non-constant modes: input ranks
    for shape, pads in [
        ((3,), (1, 2)),
        ((2, 3, 4), (-1, 2, 1, 0)),
        ((1, 2, 3, 4, 5), (1, 0, 0, 1, 2, 1)),
    ]:
        for mode in ("constant", "reflect", "replicate", "circular"):
            if mode != "constant" and len(shape) not in supported[len(pads)]:
                continue
            kwargs = {"mode": mode, "value": 1.5} if mode == "constant" else {"mode": mode}
            yield case("pad", [normal(*shape), pads], **kwargs)
    x = normal(2, 3, 6, 5)
    for kwargs in [
        {"kernel_size": 2},
        {"kernel_size": (2, 3), "stride": (2, 1), "padding": 1, "dilation": (1, 2)},
    ]:
        yield case("unfold", [x], **kwargs)
    yield case("pixel_shuffle", [normal(1, 8, 3, 4), 2])
    yield case("pixel_unshuffle", [normal(2, 6, 4), 2])
    theta = normal(2, 2, 3) * 0.5 + np.array([[1.0, 0, 0], [0, 1, 0]])
    yield case("affine_grid", [theta, (2, 3, 5, 4)], align_corners=False)
    grid = RNG.uniform(-1.2, 1.2, (2, 6, 7, 2))
    for mode in ("bilinear", "bicubic"):
        for padding_mode in ("zeros", "border", "reflection"):
            kwargs = {"mode": mode, "padding_mode": padding_mode, "align_corners": True}
            yield case("grid_sample", [normal(2, 3, 5, 4), grid], (0, 1), **kwargs)
    yield case("one_hot", [np.array([[1, 0], [3, 2]])], (), num_classes=5)


def conv_pool_cases():
    for batch in [(2,), (1,), ()]:
        x = normal(*batch, 4, 7, 6)
        w, wt, b = normal(6, 2, 3, 2), normal(4, 3, 3, 2), normal(6)
        for kwargs in [{"padding": "same", "dilation": 2}, {"stride": 2, "padding": (1, 0)}]:
            yield case("conv2d", [x, w, b], (0, 1, 2), groups=2, **kwargs)
        kwargs = {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 1}
        yield case("conv_transpose2d", [x, wt, b], (0, 1, 2), groups=2, **kwargs)
        for kwargs in [
            {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            {"kernel_size": 3, "stride": 1, "dilation": 2},
        ]:
            yield case("max_pool2d", [x], return_indices=True, **kwargs)
        for include in (True, False):
            kwargs = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
            yield case("avg_pool2d", [x], count_include_pad=include, divisor_override=4, **kwargs)
        yield case("lp_pool2d", [np.abs(x) + 0.1, 3.0, 2], ceil_mode=True)
        yield case("adaptive_max_pool2d", [x, (None, 4)], return_indices=True)
        yield case("adaptive_avg_pool2d", [x, (9, 4)])
    yield case("conv1d", [normal(2, 3, 9), normal(4, 3, 4), normal(4)], (0, 1, 2), padding="same")
    yield case("conv3d", [normal(1, 2, 4, 5, 3), normal(2, 2, 2, 3, 2)], (0, 1), padding="same")


def activation_cases():
    x = np.linspace(-6, 6, 25).reshape(5, 5)  # steps of ½: through every kink
    for name, kwargs in [
        ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
        ("rrelu", {"training": False, "lower": 0.1, "upper": 0.5}),
        ("celu", {"alpha": 2.0}),
        ("selu", {}),
        ("elu", {"alpha": 0.3}),
        ("softplus", {"beta": 2.0, "threshold": 1.0}),
        ("threshold", {"threshold": 0.5, "value": -2.0}),
        ("hardshrink", {"lambd": 1.0}),
        ("softshrink", {"lambd": 1.0}),
        ("tanhshrink", {}),
        ("mish", {}),
        ("hardswish", {}),
        ("hardsigmoid", {}),
        ("logsigmoid", {}),
        ("gelu", {"approximate": "tanh"}),
        ("leaky_relu", {"negative_slope": 0.2}),
    ]:
        yield case(name, [x], **kwargs)
    yield case("glu", [normal(6, 5)], dim=0)
    for name in ("softmax", "log_softmax", "softmin"):
        yield case(name, [normal(2, 3, 4)], dim=1)
    for shape, weight in [((2, 3, 4), (3,)), ((2, 3), (1,)), ((3,), (1,))]:
        yield case("prelu", [normal(*shape), np.abs(normal(*weight))], (0, 1))
    for name, shape in [
        ("dropout", (2, 3)),
        ("dropout1d", (2, 3, 4)),
        ("dropout2d", (2, 3, 4, 5)),
        ("dropout3d", (1, 2, 3, 4, 5)),
        ("alpha_dropout", (3,)),
        ("feature_alpha_dropout", (2, 3, 4)),
    ]:
        yield case(name, [normal(*shape)], p=0.3, training=False)


def norm_attention_cases():
    x = normal(2, 6, 4)
    yield case("layer_norm", [x, (6, 4), normal(6, 4), normal(6, 4)], (0, 2, 3), eps=1e-3)
    yield case("group_norm", [x, 3, normal(6), normal(6)], (0, 2, 3))
    yield case("instance_norm", [x], weight=normal(6), bias=normal(6))
    mean, var = normal(6), np.abs(normal(6)) + 0.1
    yield case("batch_norm", [x, mean, var, normal(6), normal(6)], (0, 3, 4), training=False)
    yield case("batch_norm", [x, None, None, normal(6), normal(6)], (0, 3, 4), training=True)
    yield case("local_response_norm", [x, 3], alpha=1e-2, beta=0.6, k=1.5)
    for lead in [(2, 3), (1,), ()]:
        q, k, v = normal(*lead, 4, 3), normal(*lead, 5, 3), normal(*lead, 5, 2)
        mask = RNG.uniform(size=(4, 5)) > 0.3
        mask[:, 0] = True
        yield case("scaled_dot_product_attention", [q, k, v], (0, 1, 2), attn_mask=mask)
        yield case("scaled_dot_product_attention", [q, k, v, normal(*lead, 4, 5)], (0, 1, 2, 3))
        yield case("scaled_dot_product_attention", [q, k, v], (0, 1, 2), is_causal=True, scale=0.3)


@pytest.mark.parametrize(
    "name, args, kwargs, grads",
    [
        *loss_cases(),
        *shape_cases(),
        *conv_pool_cases(),
        *activation_cases(),
        *norm_attention_cases(),
    ],
)
def test_matches_torch(name, args, kwargs, grads):
    compare(name, args, kwargs, grads)
