"""chainrule: a backpropagation engine and neural-network library on NumPy.

``import chainrule`` loads only NumPy and the engine; the parts that need more (training loop,
plots, files, explanations) load on first use, so every name below is available at once.
"""

from __future__ import annotations

import importlib

from chainrule import out_argument as _out_argument
from chainrule._allocator import keep_freed_memory as _keep_freed_memory
from chainrule._device import DtypeName as _DtypeName
from chainrule._dtype import get_default_dtype, set_default_dtype
from chainrule.autograd import inplace_graph_ops as _inplace_graph  # noqa: F401 - registers its writes
from chainrule.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.creation import (
    arange,
    as_tensor,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    normal,
    numel,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.errors import (
    ChainruleError,
    DataError,
    DTypeError,
    GraphError,
    ModelFormatError,
    NonFiniteError,
    ShapeError,
)
from chainrule.inference_tensor import InferenceTensor  # noqa: F401 - registers the class
from chainrule.memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from chainrule.ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    concatenate,
    exp,
    flatten,
    log,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    pad,
    permute,
    relu,
    reshape,
    sigmoid,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
)
from chainrule.random import (
    Generator,
    default_generator,
    initial_seed,
    manual_seed,
    seed,
)
from chainrule.rng_state import get_rng_state, set_rng_state
from chainrule.tensor import Tensor
from chainrule.tensor_methods import _bind

_bind()  # PyTorch's Tensor methods (tensor_methods.py) reach the ops from here on
_keep_freed_memory()  # freed arrays stay reusable: no page faults every step (_allocator.py)

__version__ = "0.1.0"
_out_argument.install(globals())  # torch.matmul(a, b, out=y) and the like (out_argument.py)

float32 = _DtypeName("float32")  # a str: told apart from a device string by Tensor.to
float64 = _DtypeName("float64")
# Shapes are plain tuples, so torch.Size is tuple: x.shape == torch.Size([2, 3]) and
# isinstance(x.shape, torch.Size) answer as in PyTorch (a shape prints as (2, 3), though)
Size = tuple

_TORCH_DTYPES = ("float", "double", "half", "float16", "long", "int", "int64", "int32", "short")
_TORCH_DTYPES += ("int16", "int8", "uint8", "bool")
_MATH = ("sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "floor", "ceil")
_MATH += ("round", "trunc", "sign", "rsqrt", "reciprocal", "erf", "log1p", "expm1", "nan_to_num")
_PREDICATES = ("isnan", "isinf", "isfinite", "isclose", "allclose", "equal", "count_nonzero")
_PREDICATES += ("logical_and", "logical_or", "logical_xor", "logical_not")
_PREDICATES += ("eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal")
_PREDICATES += ("greater", "greater_equal")
_SELECTION = ("median", "unique", "nonzero", "argwhere", "bincount", "masked_select")
_SELECTION += ("unique_consecutive", "nanmedian", "histc")
_INDEXING = ("where", "gather", "scatter", "index_select", "masked_fill", "one_hot", "cumsum")
_INDEXING += ("prod",)
_LINALG_EXTRA = ("addmm", "baddbmm", "addcmul", "addcdiv", "cdist", "kron", "cross")
_LINALG = ("det", "logdet", "slogdet", "matrix_power", "pinverse", "matrix_exp")
_EXTRA_TORCH_OPS = ("rot90", "take", "logcumsumexp")
_GRIDS = ("meshgrid", "cartesian_prod", "tril_indices", "triu_indices")
_CUMULATIVE = ("cumprod", "repeat_interleave", "searchsorted", "mode", "bucketize")
_TRAPEZOID = ("trapezoid", "trapz", "cumulative_trapezoid")
_SHAPE_EXTRA = ("unbind", "narrow", "movedim", "moveaxis", "swapdims", "unflatten", "hstack")
_SHAPE_EXTRA += ("select",)
_SHAPE_EXTRA += ("tensor_split", "vstack", "row_stack", "fliplr", "flipud", "take_along_dim")
_SHAPE_EXTRA += ("atleast_1d", "atleast_2d", "atleast_3d")
_EXTREMES = ("kthvalue", "cummax", "cummin", "msort", "fmax", "fmin", "aminmax")
_SIGN_MAGNITUDE = ("sgn", "signbit", "frac", "copysign", "hypot")
_INDEX_WRITE = ("index_add", "index_copy", "index_fill", "scatter_add")
# PyTorch's top-level spellings of nn.functional ops, with ATen's signatures
_NN_TOPLEVEL = ("celu", "celu_", "selu", "selu_", "rrelu", "rrelu_", "hardshrink", "prelu")
_NN_TOPLEVEL += ("threshold", "threshold_", "pdist", "cosine_similarity", "pairwise_distance")
_NN_TOPLEVEL += ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle")
_NN_TOPLEVEL += ("embedding", "bilinear", "layer_norm", "rms_norm", "group_norm", "batch_norm")
_NN_TOPLEVEL += ("instance_norm", "dropout", "dropout_", "feature_dropout", "feature_dropout_")
_NN_TOPLEVEL += ("alpha_dropout", "alpha_dropout_", "feature_alpha_dropout")
_NN_TOPLEVEL += ("feature_alpha_dropout_", "adaptive_avg_pool1d", "adaptive_max_pool1d")
_NN_TOPLEVEL += ("avg_pool1d", "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices")
_NN_TOPLEVEL += ("grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "affine_grid_generator")
_NN_TOPLEVEL += ("margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss")
_NN_TOPLEVEL += ("triplet_margin_loss", "poisson_nll_loss", "ctc_loss", "kl_div")
_NN_TOPLEVEL += ("binary_cross_entropy_with_logits",)
_NN_TOPLEVEL += ("relu_",)  # in-place relu (nn/activation_inplace.py)
_CONVS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")

# Public names that live in modules loaded on first use: name -> (module, attribute).
_LAZY = {
    "nn": ("chainrule.nn", None),
    "onnx": ("chainrule.onnx", None),
    "optim": ("chainrule.optim", None),
    "data": ("chainrule.data", None),
    "distributed": ("chainrule.distributed", None),
    "io": ("chainrule.io", None),
    "models": ("chainrule.models", None),
    "datasets": ("chainrule.data.datasets", None),
    "functional": ("chainrule.functional", None),
    "func": ("chainrule.func", None),
    "testing": ("chainrule.testing", None),
    **{
        name: ("chainrule.runtime", name)
        for name in (
            "finfo",
            "iinfo",
            "get_num_threads",
            "set_num_threads",
            "use_deterministic_algorithms",
            "are_deterministic_algorithms_enabled",
            "is_deterministic_algorithms_warn_only_enabled",
        )
    },
    "distributions": ("chainrule.distributions", None),
    "erfinv": ("chainrule.ops.erfinv", "erfinv"),
    "plot": ("chainrule.train.plot", None),
    "metrics": ("chainrule.train.metrics", None),
    "callbacks": ("chainrule.train.callbacks", None),
    "diagnose": ("chainrule.diagnose", None),
    "fit": ("chainrule.train.fit", "fit"),
    "evaluate": ("chainrule.train.fit", "evaluate"),
    "predict": ("chainrule.train.fit", "predict"),
    "History": ("chainrule.train.history", "History"),
    "save": ("chainrule.io.torch_save", "save"),  # a Module whole, or torch.save's dicts
    "load": ("chainrule.io.torch_save", "load"),
    "explain": ("chainrule.explain", "explain"),
    "trace": ("chainrule._trace", "trace"),  # torch.trace on a matrix, else explain
    "gradcheck": ("chainrule.testing.gradcheck", "gradcheck"),
    "gradgradcheck": ("chainrule.testing.gradcheck", "gradgradcheck"),
    "GradcheckError": ("chainrule.testing.gradcheck", "GradcheckError"),
    "detect_anomaly": ("chainrule.autograd.anomaly", "detect_anomaly"),
    **{
        name: ("chainrule.autograd.anomaly_torch", name)
        for name in ("is_anomaly_enabled", "is_anomaly_check_nan_enabled")
    },
    "compile": ("chainrule.autograd.compile", "compile"),
    "compile_step": ("chainrule.autograd.compile", "compile_step"),
    "linear": ("chainrule.ops", "linear"),
    "leaky_relu": ("chainrule.ops", "leaky_relu"),
    "elu": ("chainrule.ops", "elu"),
    "gelu": ("chainrule.ops", "gelu"),
    "softplus": ("chainrule.ops", "softplus"),
    "silu": ("chainrule.ops", "silu"),
    "log_sigmoid": ("chainrule.ops", "log_sigmoid"),
    "softmax": ("chainrule.ops", "softmax"),
    "log_softmax": ("chainrule.ops", "log_softmax"),
    # PyTorch's spelling (docs/pytorch.md); dtype aliases are dtype names ("int64", ...)
    "utils": ("chainrule.utils", None),
    "install_as_torch": ("chainrule.torch_compat", "install_as_torch"),
    "uninstall_torch": ("chainrule.torch_compat", "uninstall_torch"),
    "device": ("chainrule.torch_compat", "device"),
    "cuda": ("chainrule.torch_compat", "cuda"),
    "accelerator": ("chainrule.torch_compat", "accelerator"),
    "backends": ("chainrule.torch_compat", "backends"),
    "inference_mode": ("chainrule.autograd.grad_mode", "inference_mode"),
    "is_inference_mode_enabled": ("chainrule.autograd.grad_mode", "is_inference_mode_enabled"),
    "is_inference": ("chainrule.autograd.grad_mode", "is_inference"),
    "is_tensor": ("chainrule.torch_compat", "is_tensor"),
    "NotSupportedError": ("chainrule.torch_compat", "NotSupportedError"),
    "mm": ("chainrule.ops.matmul", "mm"),
    **{name: ("chainrule.ops", name) for name in ("mul", "neg", "clone")},
    **{name: ("chainrule.ops.rounded_division", "divide") for name in ("div", "divide")},
    "true_divide": ("chainrule.ops", "div"),
    **{name: ("chainrule.torch_compat", name) for name in ("add", "sub")},  # with alpha=
    "pow": ("chainrule.ops", "pow"),
    **{name: ("chainrule.torch_compat", name) for name in _TORCH_DTYPES},
    **{name: ("chainrule.ops.math", name) for name in _MATH},
    **{name: ("chainrule.ops.indexing", name) for name in _INDEXING},
    "chunk": ("chainrule.ops.shape_extra", "chunk"),
    "flip": ("chainrule.ops.shape", "flip"),
    **{name: ("chainrule.ops.norm", name) for name in ("norm", "dist")},
    **{name: ("chainrule.ops.log_bases", name) for name in ("log2", "log10", "logit")},
    **{name: ("chainrule.ops.trapezoid", name) for name in _TRAPEZOID},
    "masked_scatter": ("chainrule.ops.masked_scatter", "masked_scatter"),
    **{name: ("chainrule.ops.reduce", name) for name in ("var_mean", "std_mean")},
    **{name: ("chainrule.ops.reduce", name) for name in ("nansum", "nanmean")},
    **{name: ("chainrule.ops.sorting", name) for name in ("sort", "argsort", "topk")},
    **{name: ("chainrule.ops", name) for name in ("floor_divide", "remainder", "fmod")},
    **{name: ("chainrule.ops.shape", name) for name in ("roll", "tile")},
    **{name: ("chainrule.ops.triangle", name) for name in ("tril", "triu")},
    **{name: ("chainrule.ops.matmul", name) for name in ("dot", "outer")},
    "einsum": ("chainrule.ops.einsum", "einsum"),
    **{name: ("chainrule.ops.predicates", name) for name in _PREDICATES},
    **{name: ("chainrule.ops.selection", name) for name in _SELECTION},
    **{name: ("chainrule.ops.diagonal", name) for name in ("diag", "diagonal")},
    "lerp": ("chainrule.ops.lerp", "lerp"),
    **{name: ("chainrule.ops.shape", name) for name in ("diff",)},
    **{name: ("chainrule.ops.matmul", name) for name in ("bmm",)},
    **{name: ("chainrule.ops.linalg_extra", name) for name in _LINALG_EXTRA},
    **{name: ("chainrule.ops.cumulative", name) for name in _CUMULATIVE},
    **{name: ("chainrule.ops.shape_extra", name) for name in _SHAPE_EXTRA},
    **{name: ("chainrule.ops.extremes", name) for name in _EXTREMES},
    **{name: ("chainrule.ops.sign_magnitude", name) for name in _SIGN_MAGNITUDE},
    **{name: ("chainrule.ops.index_write", name) for name in _INDEX_WRITE},
    **{name: ("chainrule.ops.index_put", name) for name in ("index_put", "index_put_")},
    **{name: ("chainrule.ops.contractions", name) for name in ("inner", "mv", "tensordot")},
    **{
        name: ("chainrule.ops.bitshift", name)
        for name in (
            "bitwise_left_shift",
            "bitwise_right_shift",
            "bitwise_and",
            "bitwise_or",
            "bitwise_xor",
            "bitwise_not",
        )
    },
    **{name: ("chainrule.ops.predicates", name) for name in ("any", "all")},
    **{
        name: ("chainrule.ops.method_functions", name)
        for name in ("detach", "is_floating_point", "multiply", "subtract", "ravel", "t")
        + ("absolute", "negative", "fix", "arccos", "arcsin", "arctan", "arctan2")
    },
    **{name: ("chainrule.creation", name) for name in ("empty", "empty_like")},
    "broadcast_to": ("chainrule.ops.shape", "broadcast_to"),
    **{name: ("chainrule.ops.extra_torch_ops", name) for name in _EXTRA_TORCH_OPS},
    **{name: ("chainrule.ops.grids", name) for name in _GRIDS},
    **{name: ("chainrule.ops.quantile", name) for name in ("quantile", "nanquantile")},
    "concat": ("chainrule.ops.shape", "cat"),
    **{name: ("chainrule.ops.clamp_side", name) for name in ("clamp_min", "clamp_max")},
    **{name: ("chainrule.ops.arith_forms", name) for name in ("rsub", "square")},
    "scatter_reduce": ("chainrule.ops.scatter_reduce", "scatter_reduce"),
    "linalg": ("chainrule.linalg", None),
    "LinAlgError": ("chainrule.errors", "LinAlgError"),
    **{name: ("chainrule.ops.linalg", name) for name in _LINALG},
    "inverse": ("chainrule.ops.linalg", "inv"),
    **{name: ("chainrule.ops.linalg.legacy", name) for name in ("svd", "qr", "cholesky")},
    **{name: ("chainrule.torch_nn_functions", name) for name in _NN_TOPLEVEL},
    **{name: ("chainrule.nn.functional", name) for name in _CONVS},  # the same signatures
}


def __getattr__(name: str):
    if name not in _LAZY:
        error = AttributeError(f"module 'chainrule' has no attribute {name!r}")
        if name.startswith("_"):  # copy, pickle and `from chainrule import _x` probe these
            raise error
        from chainrule.torch_compat import unsupported

        raise unsupported("torch", name) or error
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    if name in _out_argument.NAMES:
        value = _out_argument.with_out(value)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
