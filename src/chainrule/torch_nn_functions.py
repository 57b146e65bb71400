"""PyTorch's top-level spellings of ``nn.functional`` ops (``torch.layer_norm``,
``torch.ctc_loss``, ``torch.grid_sampler``, ...), with the signatures of ``torch.<name>``
itself, which are ATen's and not always ``F``'s: every argument positional, the batch-norm
family's arguments in ATen's order and all required, a loss's ``reduction`` an int (0 none,
1 mean, 2 sum), grid sampling's modes ints. Each one calls the ``chainrule.nn.functional``
function, so values, gradients and errors are that function's.

Left out, ``reduction`` is 0 (none), which is what PyTorch's Python binding does, although
ATen's schema names 1 (mean). Where PyTorch reads an out-of-range enum as something arbitrary
(``reduction=3`` as none, ``interpolation_mode=5`` as uninitialised memory), these raise
``ValueError`` naming it.
"""

from __future__ import annotations

from chainrule.nn import functional as F

__all__ = [
    "celu",
    "celu_",
    "selu",
    "selu_",
    "rrelu",
    "rrelu_",
    "hardshrink",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
    "native_channel_shuffle",
    "layer_norm",
    "batch_norm",
    "rms_norm",
    "group_norm",
    "instance_norm",
    "dropout",
    "dropout_",
    "feature_dropout",
    "feature_dropout_",
    "alpha_dropout",
    "alpha_dropout_",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "avg_pool1d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool1d_with_indices",
    "grid_sampler",
    "grid_sampler_2d",
    "grid_sampler_3d",
    "affine_grid_generator",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "poisson_nll_loss",
    "ctc_loss",
    "kl_div",
    "binary_cross_entropy_with_logits",
    "cosine_similarity",
    "pairwise_distance",
    "embedding",
    "bilinear",
    "prelu",
    "threshold",
    "threshold_",
    "relu_",
]

_REDUCTIONS = ("none", "mean", "sum")  # ATen's Reduction enum, in its order
# ATen's schemas (and PyTorch's stubs) say reduction=1 (mean), but PyTorch's Python binding
# reads that default as 0: torch.kl_div(a, b) without a reduction is unreduced (2.13). What a
# call returns is what we owe, so the default here is 0 (tests/torchcompat pins both facts)
_NONE = 0
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic")  # GridSamplerInterpolation
_PADDINGS = ("zeros", "border", "reflection")  # GridSamplerPadding


def _enum(value, names: tuple, what: str, op: str) -> str:
    if value.__class__ is bool or not isinstance(value, int):
        raise TypeError(f"{op}(): argument '{what}' must be int, not {type(value).__name__}")
    if not 0 <= value < len(names):
        choices = ", ".join(f"{i} ({n})" for i, n in enumerate(names))
        raise ValueError(f"{op}(): {what} must be one of {choices}; got {value}")
    return names[value]


def _reduction(value, op: str) -> str:
    return _enum(value, _REDUCTIONS, "reduction", op)


def _stride(stride):
    """ATen's empty stride means the kernel size, F's ``None``."""
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


# ---- activations ---------------------------------------------------------------------------
def celu(input, alpha: float = 1.0):  # noqa: A002 - PyTorch's name
    """``torch.celu(input, alpha=1.0)``: :func:`chainrule.nn.functional.celu`."""
    return F.celu(input, alpha)


def celu_(input, alpha: float = 1.0):  # noqa: A002
    """``torch.celu_(input, alpha=1.0)``: CELU written into ``input``."""
    return F.celu_(input, alpha)


def selu(input):  # noqa: A002
    """``torch.selu(input)``: :func:`chainrule.nn.functional.selu`."""
    return F.selu(input)


def selu_(input):  # noqa: A002
    """``torch.selu_(input)``: SELU written into ``input``."""
    return F.selu_(input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):  # noqa: A002
    """``torch.rrelu``: :func:`chainrule.nn.functional.rrelu` (``generator`` by position too)."""
    return F.rrelu(input, lower, upper, training, generator=generator)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):  # noqa: A002
    """``torch.rrelu_``: RReLU written into ``input``."""
    from chainrule.nn.activation_more import _write
    from chainrule.ops import activation_more

    def op(x, *args):
        return activation_more.rrelu(x, *args, generator=generator)

    return _write("rrelu_", op, input, lower, upper, training)


def hardshrink(input, lambd: float = 0.5):  # noqa: A002
    """``torch.hardshrink(input, lambd=0.5)``."""
    return F.hardshrink(input, lambd)


def prelu(input, weight):  # noqa: A002
    """``torch.prelu(input, weight)``."""
    return F.prelu(input, weight)


def threshold(input, threshold, value):  # noqa: A002
    """``torch.threshold(input, threshold, value)``: both required, as in ATen."""
    return F.threshold(input, threshold, value)


def threshold_(input, threshold, value):  # noqa: A002
    """``torch.threshold_``: :func:`threshold` written into ``input`` (``F.threshold_``)."""
    return F.threshold_(input, threshold, value)


def relu_(input):  # noqa: A002
    """``torch.relu_(input)``: max(x, 0) written into ``input`` (``F.relu_``)."""
    return F.relu_(input)


# ---- distances, shuffles, embeddings -------------------------------------------------------
def pdist(input, p: float = 2.0):  # noqa: A002
    """``torch.pdist(input, p=2.0)``."""
    return F.pdist(input, p)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """``torch.cosine_similarity(x1, x2, dim=1, eps=1e-8)``."""
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``torch.pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False)``."""
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def pixel_shuffle(input, upscale_factor: int):  # noqa: A002
    """``torch.pixel_shuffle(input, upscale_factor)``."""
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor: int):  # noqa: A002
    """``torch.pixel_unshuffle(input, downscale_factor)``."""
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups: int):  # noqa: A002
    """``torch.channel_shuffle(input, groups)``."""
    return F.channel_shuffle(input, groups)


def native_channel_shuffle(input, groups: int):  # noqa: A002
    """``torch.native_channel_shuffle(input, groups)``: :func:`channel_shuffle`."""
    return F.channel_shuffle(input, groups)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq=False, sparse=False):
    """``torch.embedding(weight, indices, padding_idx=-1, ...)``: ATen's order (the table
    first), and a negative ``padding_idx`` means none (``F.embedding`` counts it from the end)."""
    padding = None if padding_idx is None or padding_idx < 0 else padding_idx
    return F.embedding(
        indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse
    )


def bilinear(input1, input2, weight, bias=None):
    """``torch.bilinear(input1, input2, weight, bias=None)``."""
    return F.bilinear(input1, input2, weight, bias)


# ---- normalisation ---------------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):  # noqa: A002
    """``torch.layer_norm``; ``cudnn_enable`` is accepted and has no effect (CPU only)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """``torch.rms_norm(input, normalized_shape, weight=None, eps=None)``."""
    return F.rms_norm(input, normalized_shape, weight, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):  # noqa: A002
    """``torch.group_norm``; ``cudnn_enabled`` has no effect."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(
    input,  # noqa: A002
    weight,
    bias,
    running_mean,
    running_var,
    training,
    momentum,
    eps,
    cudnn_enabled,
):
    """``torch.batch_norm``: ATen's order (weight and bias before the running statistics),
    every argument required; ``cudnn_enabled`` has no effect."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input,  # noqa: A002
    weight,
    bias,
    running_mean,
    running_var,
    use_input_stats,
    momentum,
    eps,
    cudnn_enabled,
):
    """``torch.instance_norm``: ATen's order, every argument required."""
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


# ---- dropout: (input, p, train), all required ------------------------------------------------
def dropout(input, p, train):  # noqa: A002
    """``torch.dropout(input, p, train)``."""
    return F.dropout(input, p, train)


def dropout_(input, p, train):  # noqa: A002
    """``torch.dropout_``: dropout written into ``input``."""
    return F.dropout(input, p, train, True)


def _feature_dropout(input, p, train, inplace, op):  # noqa: A002
    from chainrule.nn.dropout_variants import _channels, _check_p, _drop
    from chainrule.ops._util import operand

    _check_p(p)
    x = operand(input)
    return _drop(x, p, train, inplace, _channels(x, True), False, None, op)


def feature_dropout(input, p, train):  # noqa: A002
    """``torch.feature_dropout``: whole channels (dimension 1) dropped together."""
    return _feature_dropout(input, p, train, False, "feature_dropout")


def feature_dropout_(input, p, train):  # noqa: A002
    """``torch.feature_dropout_``: :func:`feature_dropout` written into ``input``."""
    return _feature_dropout(input, p, train, True, "feature_dropout_")


def alpha_dropout(input, p, train):  # noqa: A002
    """``torch.alpha_dropout(input, p, train)``."""
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train):  # noqa: A002
    """``torch.alpha_dropout_``: alpha dropout written into ``input``."""
    return F.alpha_dropout(input, p, train, True)


def feature_alpha_dropout(input, p, train):  # noqa: A002
    """``torch.feature_alpha_dropout(input, p, train)``."""
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train):  # noqa: A002
    """``torch.feature_alpha_dropout_``: written into ``input``."""
    return F.feature_alpha_dropout(input, p, train, True)


# ---- pooling: ATen's empty stride is the kernel size ------------------------------------------
def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """``torch.adaptive_avg_pool1d(input, output_size)``."""
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    """``torch.adaptive_max_pool1d``: always the pair (values, indices), as ATen's."""
    return F.adaptive_max_pool1d(input, output_size, True)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002, E501
    """``torch.avg_pool1d``."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """``torch.max_pool1d`` (no ``return_indices``: :func:`max_pool1d_with_indices`)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """``torch.max_pool2d``."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """``torch.max_pool3d``."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(
    input,  # noqa: A002
    kernel_size,
    stride=(),
    padding=0,
    dilation=1,
    ceil_mode=False,
):
    """``torch.max_pool1d_with_indices``: the pair (values, indices)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, True)


# ---- grid sampling: modes as ATen's ints ---------------------------------------------------
def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):  # noqa: A002
    """``torch.grid_sampler``: interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0
    zeros, 1 border, 2 reflection; ``align_corners`` required."""
    return _grid_sample(input, grid, interpolation_mode, padding_mode, align_corners, None)


def grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners):  # noqa: A002
    """``torch.grid_sampler_2d``: :func:`grid_sampler` of a 4-D input."""
    return _grid_sample(input, grid, interpolation_mode, padding_mode, align_corners, 4)


def grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners):  # noqa: A002
    """``torch.grid_sampler_3d``: :func:`grid_sampler` of a 5-D input."""
    return _grid_sample(input, grid, interpolation_mode, padding_mode, align_corners, 5)


def _grid_sample(input, grid, interpolation_mode, padding_mode, align_corners, ndim):  # noqa: A002
    op = "grid_sampler" if ndim is None else f"grid_sampler_{ndim - 2}d"
    mode = _enum(interpolation_mode, _INTERPOLATIONS, "interpolation_mode", op)
    padding = _enum(padding_mode, _PADDINGS, "padding_mode", op)
    if ndim is not None and getattr(input, "ndim", None) != ndim:
        from chainrule.errors import ShapeError

        raise ShapeError(
            f"{op}(): expected a {ndim}-D input, got shape {tuple(getattr(input, 'shape', ()))}"
        )
    return F.grid_sample(input, grid, mode, padding, bool(align_corners))


def affine_grid_generator(theta, size, align_corners):
    """``torch.affine_grid_generator(theta, size, align_corners)``."""
    return F.affine_grid(theta, size, bool(align_corners))


# ---- losses: reduction as ATen's int (0 none, 1 mean, 2 sum) ---------------------------------
def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=_NONE):
    """``torch.margin_ranking_loss``."""
    r = _reduction(reduction, "margin_ranking_loss")
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=r)


def hinge_embedding_loss(input, target, margin=1.0, reduction=_NONE):  # noqa: A002
    """``torch.hinge_embedding_loss``."""
    r = _reduction(reduction, "hinge_embedding_loss")
    return F.hinge_embedding_loss(input, target, margin, reduction=r)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=_NONE):
    """``torch.cosine_embedding_loss``."""
    r = _reduction(reduction, "cosine_embedding_loss")
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=r)


def triplet_margin_loss(
    anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=_NONE
):
    """``torch.triplet_margin_loss``."""
    r = _reduction(reduction, "triplet_margin_loss")
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=r)


def poisson_nll_loss(input, target, log_input, full, eps, reduction):  # noqa: A002
    """``torch.poisson_nll_loss``: every argument required, as in ATen."""
    r = _reduction(reduction, "poisson_nll_loss")
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=r)


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank=0,
    reduction=_NONE,
    zero_infinity=False,
):
    """``torch.ctc_loss``: reduction 1 divides each loss by its target length, then means;
    without a reduction, one loss per batch element (as PyTorch's binding does)."""
    r = _reduction(reduction, "ctc_loss")
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, r, zero_infinity)


def kl_div(input, target, reduction=_NONE, *, log_target=False):  # noqa: A002
    """``torch.kl_div``: reduction 1 is the mean over every element (F's ``"mean"``, without
    its warning; ``"batchmean"`` has no number here, as in ATen)."""
    r = _reduction(reduction, "kl_div")
    out = F.kl_div(input, target, reduction="none", log_target=log_target)
    return out if r == "none" else (out.mean() if r == "mean" else out.sum())


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=_NONE):  # noqa: A002, E501
    """``torch.binary_cross_entropy_with_logits``: ``pos_weight`` fourth, ``reduction`` an
    int."""
    r = _reduction(reduction, "binary_cross_entropy_with_logits")
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=r, pos_weight=pos_weight
    )
