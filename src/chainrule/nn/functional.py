"""``chainrule.nn.functional``: the same functions as :mod:`chainrule.functional`."""

from chainrule.functional import *  # noqa: F403
from chainrule.functional import __all__  # noqa: F401

# PyTorch's F.pad (pairs from the last dimension back) and F.one_hot; see ops/indexing.py
from chainrule.ops.indexing import one_hot, pad  # noqa: E402, F401

logsigmoid = log_sigmoid  # noqa: F405 - PyTorch's spelling of F.log_sigmoid
from chainrule.nn.attention import (  # noqa: E402, F401
    multi_head_attention_forward,
    scaled_dot_product_attention,
)
from chainrule.nn.bilinear import bilinear  # noqa: E402, F401
from chainrule.nn.embedding import embedding  # noqa: E402, F401
from chainrule.nn.local_response_norm import local_response_norm  # noqa: E402, F401
from chainrule.nn.normalization_instance import group_norm, instance_norm  # noqa: E402, F401
from chainrule.ops.activation_extra import (  # noqa: E402, F401
    glu,
    hardsigmoid,
    hardswish,
    mish,
    prelu,
    softmin,
    softsign,
    tanhshrink,
    threshold,
)
from chainrule.ops.conv3d import conv3d  # noqa: E402, F401
from chainrule.ops.conv_transpose3d import conv_transpose3d  # noqa: E402, F401
from chainrule.ops.interpolate import interpolate  # noqa: E402, F401
from chainrule.ops.norm import cosine_similarity, pairwise_distance  # noqa: E402, F401
from chainrule.ops.pooling3d import avg_pool3d, max_pool3d  # noqa: E402, F401

# pooling extras: adaptive max, power-average and unpooling, pdist (ops/lp_pool.py, ...)
# isort: split
from chainrule.ops.lp_pool import lp_pool1d, lp_pool2d, lp_pool3d  # noqa: E402, F401
from chainrule.ops.pdist import pdist  # noqa: E402, F401
from chainrule.ops.pooling_adaptive_max import (  # noqa: E402, F401
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
)
from chainrule.ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d  # noqa: E402, F401

# adaptive_avg_pool3d, the max pools' _with_indices spellings, fractional max pooling
# (ops/pooling_adaptive_avg3d.py, ops/fractional_max_pool.py); PyTorch's native_channel_shuffle
# isort: split
from chainrule.ops.fractional_max_pool import (  # noqa: E402, F401
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
)
from chainrule.ops.pixel_shuffle import channel_shuffle as native_channel_shuffle  # noqa: E402, F401
from chainrule.ops.pooling_adaptive_avg3d import (  # noqa: E402, F401
    adaptive_avg_pool3d,
    max_pool1d_with_indices,
    max_pool2d_with_indices,
    max_pool3d_with_indices,
)

# ---- margin and likelihood losses (ops/loss_margin.py, ops/loss_multiclass_margin.py, ...) ----
# isort: split
from chainrule.ops.loss_ctc import ctc_loss  # noqa: E402, F401
from chainrule.ops.loss_likelihood import gaussian_nll_loss, poisson_nll_loss  # noqa: E402, F401
from chainrule.ops.loss_margin import (  # noqa: E402, F401
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from chainrule.ops.loss_multiclass_margin import (  # noqa: E402, F401
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
)

# functional normalisation and rearrangement (nn/norm_functional.py, ops/fold.py, ...)
# isort: split
from chainrule.nn.norm_functional import batch_norm, layer_norm, normalize, rms_norm  # noqa: E402, F401
from chainrule.ops.fold import fold, unfold  # noqa: E402, F401
from chainrule.ops.pixel_shuffle import (  # noqa: E402, F401
    channel_shuffle,
    pixel_shuffle,
    pixel_unshuffle,
)

# ---- sampling and bags: grid_sample, affine_grid, embedding_bag ----
# isort: split
from chainrule.nn.embedding_bag import embedding_bag  # noqa: E402, F401
from chainrule.ops.affine_grid import affine_grid  # noqa: E402, F401
from chainrule.ops.grid_sample import grid_sample  # noqa: E402, F401


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """PyTorch's deprecated ``F.upsample``: :func:`interpolate`, with PyTorch's warning."""
    import warnings

    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """PyTorch's deprecated ``F.upsample_nearest``: ``interpolate(mode='nearest')``."""
    import warnings

    warnings.warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """PyTorch's deprecated ``F.upsample_bilinear``: ``interpolate(mode='bilinear',
    align_corners=True)``."""
    import warnings

    warnings.warn(
        "`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def softmax(input, dim: int | None = None, _stacklevel=3, dtype=None, *, axis=None):  # noqa: A002
    """PyTorch's ``F.softmax``: along ``dim`` (or NumPy's ``axis``); with neither, PyTorch's
    implicit choice and its deprecation warning (dim 0 for 0-, 1- and 3-D inputs, else 1).
    ``dtype`` converts the input first, as PyTorch's."""
    from chainrule.nn.activation import _softmax_dim
    from chainrule.ops.softmax import softmax as _softmax

    if dim is None and axis is not None:
        dim = axis
    return _softmax(input, dtype=dtype, dim=_softmax_dim(dim, input, "softmax"))


def log_softmax(input, dim: int | None = None, _stacklevel=3, dtype=None, *, axis=None):  # noqa: A002
    """PyTorch's ``F.log_softmax`` (the dim rule of :func:`softmax`)."""
    from chainrule.nn.activation import _softmax_dim
    from chainrule.ops.softmax import log_softmax as _log_softmax

    if dim is None and axis is not None:
        dim = axis
    return _log_softmax(input, dtype=dtype, dim=_softmax_dim(dim, input, "log_softmax"))


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p), when
    ``training`` (PyTorch's default is True even in eval mode: pass ``self.training``)."""
    from chainrule.nn.dropout import Dropout

    layer = Dropout(p, inplace=inplace)
    layer.train(bool(training))
    return layer(input)


def _with_inplace(name: str, op, before: int = 0):
    """``op`` with PyTorch's ``inplace``, by name or in its place after ``before`` positional
    arguments (``F.relu(x, True)``, ``F.elu(x, 1.0, True)``)."""

    def fn(input, *args, inplace: bool = False, **kwargs):  # noqa: A002 - PyTorch's name
        if len(args) > before:  # inplace given by position, as PyTorch's signature allows
            if len(args) > before + 1:
                raise TypeError(f"{name}() takes at most {before + 2} positional arguments")
            args, inplace = args[:before], args[before]
        if not inplace:  # the common call: no import, no check
            return op(input, *args, **kwargs)
        from chainrule.nn.activation import in_place

        return in_place(op(input, *args, **kwargs), input, True)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"PyTorch's ``F.{name}`` with ``inplace`` (see ``nn/activation.py``)."
    return fn


relu = _with_inplace("relu", relu)  # noqa: F405
leaky_relu = _with_inplace("leaky_relu", leaky_relu, 1)  # noqa: F405 - negative_slope
relu6 = _with_inplace("relu6", relu6)  # noqa: F405
hardtanh = _with_inplace("hardtanh", hardtanh, 2)  # noqa: F405 - min_val, max_val
elu = _with_inplace("elu", elu, 1)  # noqa: F405 - alpha
silu = _with_inplace("silu", silu)  # noqa: F405
mish = _with_inplace("mish", mish)
hardswish = _with_inplace("hardswish", hardswish)
hardsigmoid = _with_inplace("hardsigmoid", hardsigmoid)
threshold = _with_inplace("threshold", threshold, 2)  # threshold, value


# activations and dropout variants (ops/activation_more.py, nn/activation_more.py,
# nn/dropout_variants.py, ops/gumbel_softmax.py)
from chainrule.nn.activation_more import celu_, rrelu_, selu_  # noqa: E402, F401
from chainrule.nn.dropout_variants import (  # noqa: E402, F401
    alpha_dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from chainrule.ops.activation_more import (  # noqa: E402, F401
    celu,
    hardshrink,
    rrelu,
    selu,
    softshrink,
)
from chainrule.ops.gumbel_softmax import gumbel_softmax  # noqa: E402, F401

celu = _with_inplace("celu", celu, 1)  # alpha
selu = _with_inplace("selu", selu)
rrelu = _with_inplace("rrelu", rrelu, 3)  # lower, upper, training

# in-place activations: relu_, elu_, hardtanh_, leaky_relu_, threshold_ (nn/activation_inplace.py)
from chainrule.nn.activation_inplace import (  # noqa: E402, F401
    elu_,
    hardtanh_,
    leaky_relu_,
    relu_,
    threshold_,
)

# 3-D fractional max pooling (ops/fractional_max_pool3d.py)
from chainrule.ops.fractional_max_pool3d import (  # noqa: E402, F401
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)


def __getattr__(name: str):
    from chainrule.torch_compat import unsupported

    raise unsupported("torch.nn.functional", name) or AttributeError(
        f"module 'chainrule.nn.functional' has no attribute {name!r}"
    )
