"""Architectures as plain JSON-able dicts, and back, for saving models without pickle.

``module_to_config`` describes a model built from chainrule's own layers::

    {"type": "Sequential", "children": [
        {"type": "Linear", "args": {"in_features": 2, "out_features": 1, "bias": true,
                                    "dtype": "float32"}},
        {"type": "Sigmoid", "args": {}}]}

``module_from_config`` rebuilds it. A config read from a file is untrusted: only the layer types
in an allow-list are built, every argument is checked for type and range against that layer's
schema, unknown keys are refused, nesting and total size are bounded, and every problem raises
:class:`~chainrule.errors.ModelFormatError` before any layer is made. Nothing is imported or
called by name.
"""

from __future__ import annotations

import math
import re

from chainrule.errors import ModelFormatError
from chainrule.nn import normalization_instance as group_norms
from chainrule.nn.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.container import ModuleList, Sequential
from chainrule.nn.dropout import Dropout
from chainrule.nn.embedding import Embedding
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Identity, Linear
from chainrule.nn.local_response_norm import LocalResponseNorm
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d, LayerNorm

# isort: split
from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from chainrule.nn.spatial import BatchNorm2d, Dropout2d, Unflatten
from chainrule.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

# isort: split
from chainrule.nn import padding as padding_layers

__all__ = ["MAX_DEPTH", "MAX_PARAMETERS", "module_from_config", "module_to_config"]

MAX_DEPTH = 64  # containers inside containers
MAX_MODULES = 100_000
MAX_SIZE = 10**8  # any one layer dimension
MAX_PARAMETERS = 10**9  # the whole model (4 GB of float32)
MAX_NDIM = 8  # LayerNorm's normalized_shape
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
SHARED = "Shared"  # a reference to a layer written earlier in the file (weights shared)


# ---- argument validators: each returns the clean value or raises ModelFormatError ----------
def _fail(where: str, problem: str) -> ModelFormatError:
    return ModelFormatError(f"model config: {where}: {problem}")


def _show(value) -> str:
    """A short repr for messages (a hostile number may have too many digits to print)."""
    try:
        text = repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to print>"
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(value, where):
    if not _is_int(value) or not 0 <= value <= MAX_SIZE:
        raise _fail(where, f"expected an integer in [0, {MAX_SIZE}], got {_show(value)}")
    return value


def _positive_size(value, where):
    if _size(value, where) < 1:
        raise _fail(where, f"expected an integer >= 1, got {value!r}")
    return value


def _dim(value, where):
    if not _is_int(value) or not -MAX_NDIM * 8 <= value < MAX_NDIM * 8:
        raise _fail(where, f"expected a small integer dimension, got {_show(value)}")
    return value


def _dim_or_none(value, where):
    return None if value is None else _dim(value, where)


def _bool(value, where):
    if not isinstance(value, bool):
        raise _fail(where, f"expected true or false, got {_show(value)}")
    return value


def _finite(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"expected a finite number, got {_show(value)}")
    return float(value)


def _positive(value, where):
    if _finite(value, where) <= 0:
        raise _fail(where, f"expected a positive number, got {value!r}")
    return float(value)


def _probability(value, where):
    if not 0.0 <= _finite(value, where) <= 1.0:
        raise _fail(where, f"expected a number in [0, 1], got {value!r}")
    return float(value)


def _real(value, where):
    """A finite number kept as written (Embedding's max_norm, which PyTorch takes as is)."""
    _finite(value, where)
    return value


def _norm_order(value, where):
    """A p-norm's p: a finite number, or "inf" / "-inf" (JSON has no infinities)."""
    if value in ("inf", "-inf"):
        return float(value)
    return _real(value, where)


def _optional(check):
    def optional(value, where):
        return None if value is None else check(value, where)

    return optional


def _choice(*options):
    def choice(value, where):
        if not isinstance(value, str) or value not in options:
            raise _fail(where, f"expected one of {list(options)}, got {_show(value)}")
        return value

    return choice


def _shape(value, where):
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_NDIM:
        raise _fail(where, f"expected a list of 1 to {MAX_NDIM} sizes, got {_show(value)}")
    return [_positive_size(n, where) for n in value]


def _index(value, where):
    if not _is_int(value) or not -MAX_SIZE <= value < MAX_SIZE:
        raise _fail(where, f"expected an integer index, got {_show(value)}")
    return value


_dtype = _choice("float32", "float64")

# type name -> (class, {argument: validator}). The only classes a config can build.
_LAYERS: dict[str, tuple[type, dict]] = {
    "Linear": (
        Linear,
        {"in_features": _size, "out_features": _size, "bias": _bool, "dtype": _dtype},
    ),
    "Identity": (Identity, {}),
    "Sigmoid": (Sigmoid, {}),
    "Tanh": (Tanh, {}),
    "LogSigmoid": (LogSigmoid, {}),
    "ReLU": (ReLU, {"inplace": _bool}),
    "SiLU": (SiLU, {"inplace": _bool}),
    "LeakyReLU": (LeakyReLU, {"negative_slope": _finite, "inplace": _bool}),
    "Hardtanh": (Hardtanh, {"min_val": _finite, "max_val": _finite, "inplace": _bool}),
    "ReLU6": (ReLU6, {"inplace": _bool}),
    "ELU": (ELU, {"alpha": _finite, "inplace": _bool}),
    "GELU": (GELU, {"approximate": _choice("none", "tanh")}),
    "Softplus": (Softplus, {"beta": _finite, "threshold": _finite}),
    "Softmax": (Softmax, {"dim": _dim_or_none}),
    "LogSoftmax": (LogSoftmax, {"dim": _dim_or_none}),
    "Dropout": (Dropout, {"p": _probability, "inplace": _bool}),
    "Flatten": (Flatten, {"start_dim": _dim, "end_dim": _dim}),
    "BatchNorm1d": (
        BatchNorm1d,
        {
            "num_features": _positive_size,
            "eps": _positive,
            "momentum": _optional(_probability),
            "affine": _bool,
            "track_running_stats": _bool,
            "bias": _bool,
            "dtype": _dtype,
        },
    ),
    "LayerNorm": (
        LayerNorm,
        {
            "normalized_shape": _shape,
            "eps": _positive,
            "elementwise_affine": _bool,
            "bias": _bool,
            "dtype": _dtype,
        },
    ),
    "Embedding": (
        Embedding,
        {
            "num_embeddings": _size,
            "embedding_dim": _size,
            "padding_idx": _optional(_index),
            "max_norm": _optional(_real),
            "norm_type": _norm_order,
            "scale_grad_by_freq": _bool,
            "dtype": _dtype,
        },
    ),
}


# ---- convolutional layers: sizes are an int or a short list of ints ----
def _sizes(minimum: int, allow_none: bool = False):
    def sizes(value, where):
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= 2:
            raise _fail(where, f"expected an int or a list of 1 or 2 ints, got {_show(value)}")
        for item in items:
            if item is None and allow_none:
                continue
            if not _is_int(item) or not minimum <= item <= MAX_SIZE:
                raise _fail(
                    where, f"expected integers in [{minimum}, {MAX_SIZE}], got {_show(value)}"
                )
        return value

    return sizes


def _conv_padding(value, where):
    if isinstance(value, str):
        return _choice("same", "valid")(value, where)
    return _sizes(0)(value, where)


def _unflattened(value, where):
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_NDIM:
        raise _fail(where, f"expected a list of 1 to {MAX_NDIM} sizes, got {_show(value)}")
    for n in value:
        if not _is_int(n) or not (n == -1 or 1 <= n <= MAX_SIZE):
            raise _fail(where, f"expected sizes >= 1 (or one -1), got {_show(value)}")
    return tuple(value)  # JSON has no tuples; a tuple is the usual spelling (and the repr's)


_CONV_ARGS = {
    "in_channels": _positive_size,
    "out_channels": _positive_size,
    "kernel_size": _sizes(1),
    "stride": _sizes(1),
    "padding": _conv_padding,
    "dilation": _sizes(1),
    "groups": _positive_size,
    "bias": _bool,
    "padding_mode": _choice("zeros", "reflect", "replicate", "circular"),
    "dtype": _dtype,
}
_TRANSPOSED_ARGS = {**_CONV_ARGS, "padding": _sizes(0), "output_padding": _sizes(0)}
_POOL_ARGS = {
    "kernel_size": _sizes(1),
    "stride": _sizes(1),
    "padding": _sizes(0),
    "ceil_mode": _bool,
}
_LAYERS.update(
    {
        "Conv1d": (Conv1d, _CONV_ARGS),
        "Conv2d": (Conv2d, _CONV_ARGS),
        "ConvTranspose1d": (ConvTranspose1d, _TRANSPOSED_ARGS),
        "ConvTranspose2d": (ConvTranspose2d, _TRANSPOSED_ARGS),
        "MaxPool1d": (
            MaxPool1d,
            {**_POOL_ARGS, "dilation": _sizes(1), "return_indices": _bool},
        ),
        "MaxPool2d": (
            MaxPool2d,
            {**_POOL_ARGS, "dilation": _sizes(1), "return_indices": _bool},
        ),
        "AvgPool1d": (AvgPool1d, {**_POOL_ARGS, "count_include_pad": _bool}),
        "AvgPool2d": (
            AvgPool2d,
            {
                **_POOL_ARGS,
                "count_include_pad": _bool,
                "divisor_override": _optional(_positive_size),
            },
        ),
        "AdaptiveAvgPool1d": (AdaptiveAvgPool1d, {"output_size": _sizes(1)}),
        "AdaptiveAvgPool2d": (AdaptiveAvgPool2d, {"output_size": _sizes(1, allow_none=True)}),
        "BatchNorm2d": (BatchNorm2d, _LAYERS["BatchNorm1d"][1]),
        "Dropout2d": (Dropout2d, {"p": _probability, "inplace": _bool}),
        "Unflatten": (Unflatten, {"dim": _dim, "unflattened_size": _unflattened}),
        "GroupNorm": (
            group_norms.GroupNorm,
            {"num_groups": _positive_size, "num_channels": _positive_size}
            | {"eps": _positive, "affine": _bool, "bias": _bool, "dtype": _dtype},
        ),
        "LocalResponseNorm": (
            LocalResponseNorm,
            {"size": _positive_size} | dict.fromkeys(("alpha", "beta", "k"), _finite),
        ),
    }
    # InstanceNorm takes BatchNorm's arguments, with other defaults
    | {n.__name__: (n, _LAYERS["BatchNorm1d"][1]) for n in group_norms.INSTANCE_NORMS}
)


def _upsample_size(value, where):
    items = value if isinstance(value, list) else [value]
    if value is not None and not (
        1 <= len(items) <= 3 and all(_is_int(n) and 1 <= n <= MAX_SIZE for n in items)
    ):
        raise _fail(where, f"expected None, an int or a list of up to 3 ints, got {_show(value)}")
    return value


def _upsample_scale(value, where):
    items = value if isinstance(value, list) else [value]
    if value is not None and not (1 <= len(items) <= 3 and all(_positive(n, where) for n in items)):
        raise _fail(where, f"expected None, a number or a list of up to 3, got {_show(value)}")
    return value


_UPSAMPLE_ARGS = {"size": _upsample_size, "scale_factor": _upsample_scale}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_LAYERS.update(
    {
        "Upsample": (
            Upsample,
            {
                **_UPSAMPLE_ARGS,
                "mode": _choice(*_MODES),
                "align_corners": _optional(_bool),
                "recompute_scale_factor": _optional(_bool),
            },
        ),
        "UpsamplingNearest2d": (UpsamplingNearest2d, _UPSAMPLE_ARGS),
        "UpsamplingBilinear2d": (UpsamplingBilinear2d, _UPSAMPLE_ARGS),
    }
)


def _pad_sizes(value, where):
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= 6 or not all(_is_int(n) and abs(n) <= MAX_SIZE for n in items):
        raise _fail(where, f"expected an int or a list of up to 6 ints, got {_show(value)}")
    return value


for _layer in padding_layers.LAYERS:  # ZeroPad2d, ConstantPad1d, ReflectionPad2d, ...
    _args = {"padding": _pad_sizes}
    if "value" in _layer._config_args:
        _args["value"] = _finite
    _LAYERS[_layer.__name__] = (_layer, _args)
_CONV_REQUIRED = ("in_channels", "out_channels", "kernel_size")

_REQUIRED = {
    "Conv1d": _CONV_REQUIRED,
    "Conv2d": _CONV_REQUIRED,
    "ConvTranspose1d": _CONV_REQUIRED,
    "ConvTranspose2d": _CONV_REQUIRED,
    "MaxPool1d": ("kernel_size",),
    "MaxPool2d": ("kernel_size",),
    "AvgPool1d": ("kernel_size",),
    "AvgPool2d": ("kernel_size",),
    "AdaptiveAvgPool1d": ("output_size",),
    "AdaptiveAvgPool2d": ("output_size",),
    "BatchNorm2d": ("num_features",),
    "GroupNorm": ("num_groups", "num_channels"),
    "LocalResponseNorm": ("size",),
    **{n.__name__: ("num_features",) for n in group_norms.INSTANCE_NORMS},
    "Unflatten": ("dim", "unflattened_size"),
    "Linear": ("in_features", "out_features"),
    "BatchNorm1d": ("num_features",),
    "LayerNorm": ("normalized_shape",),
    "Embedding": ("num_embeddings", "embedding_dim"),
}
_REQUIRED.update({layer.__name__: layer._config_args for layer in padding_layers.LAYERS})
_CONTAINERS: dict[str, type] = {"Sequential": Sequential, "ModuleList": ModuleList}


def _parameter_count(kind: str, args: dict) -> int:
    """How many numbers the layer will allocate, computed before it is built."""
    if kind == "Linear":
        n_in, n_out = args.get("in_features", 0), args.get("out_features", 0)
        return n_in * n_out + n_out
    if kind.startswith("Conv"):
        kernel = args.get("kernel_size", 1)
        area = (
            math.prod(kernel)
            if isinstance(kernel, list)
            else kernel ** (2 if kind[-2] == "2" else 1)
        )
        n_in, n_out = args.get("in_channels", 0), args.get("out_channels", 0)
        bias = n_out if args.get("bias", True) else 0
        return n_in * n_out * area // max(args.get("groups", 1), 1) + bias
    if kind.startswith("BatchNorm"):
        return 4 * args.get("num_features", 0)
    if kind.startswith("InstanceNorm") or kind == "GroupNorm":  # affine off by default, or on
        affine = args.get("affine", kind == "GroupNorm") * (1 + args.get("bias", True))
        stats = 2 * args.get("track_running_stats", False)
        return (affine + stats) * args.get("num_features", args.get("num_channels", 0))
    if kind == "Embedding":
        return args.get("num_embeddings", 0) * args.get("embedding_dim", 0)
    if kind == "LayerNorm":
        return 2 * math.prod(args.get("normalized_shape", [1]))
    return 0


# ---- module -> config ------------------------------------------------------------------------
def module_to_config(module: Module) -> dict:
    """A JSON-able description of ``module``'s architecture (not its weights).

    Raises:
        ModelFormatError: the model contains a layer that is not built into chainrule (e.g. your
            own ``Module`` subclass); save its ``state_dict()`` instead and rebuild the class in
            code before ``load_state_dict``.
    """
    return _to_config(module, "", {})


def _to_config(module: Module, path: str, seen: dict) -> dict:
    # A layer used at two places (its weights shared) is written in full at the first and as
    # {"type": "Shared", "path": <first dotted path>} at the others, so it loads shared again
    if id(module) in seen:
        return {"type": SHARED, "path": seen[id(module)]}
    kind = type(module).__name__
    if _CONTAINERS.get(kind) is type(module):
        children = list(module._modules.items())
        config = {
            "type": kind,
            "children": [
                _to_config(m, f"{path}.{name}" if path else name, seen) for name, m in children
            ],
        }
        seen[id(module)] = path
        names = [name for name, _ in children]
        if names != [str(i) for i in range(len(names))]:
            bad = [n for n in names if not _NAME.fullmatch(n)]
            if bad:
                raise ModelFormatError(
                    f"cannot save child names {bad}: use letters, digits and _ (up to 64 "
                    f"characters) so the file can be read back"
                )
            config["names"] = names
        return config
    entry = _LAYERS.get(kind)
    if entry is None or entry[0] is not type(module):
        raise ModelFormatError(
            f"cannot describe {kind} as an architecture: only chainrule's built-in layers "
            f"({', '.join(sorted({*_LAYERS, *_CONTAINERS}))}) can be rebuilt from a file. For a "
            f"custom Module, save model.state_dict() instead and rebuild the class in code "
            f"before calling load_state_dict"
        )
    seen[id(module)] = path
    schema = entry[1]
    if hasattr(module, "_config"):
        args = module._config()
    else:
        args = {name: getattr(module, name) for name in schema}
    return {"type": kind, "args": args}


# ---- config -> module ------------------------------------------------------------------------
def module_from_config(config: dict, *, max_parameters: int = MAX_PARAMETERS) -> Module:
    """Rebuild a module from :func:`module_to_config`'s dict, checking everything first.

    Args:
        config: the architecture dict (untrusted: e.g. from a file's metadata).
        max_parameters: refuse configs whose layers would hold more numbers than this (a loader
            passes the number of values stored in the file, which a real model never exceeds).

    Raises:
        ModelFormatError: unknown layer type, unknown or invalid argument, bad nesting, or a
            model larger than the limits; nothing is built.
    """
    counts = {"modules": 0, "parameters": 0, "paths": set()}
    plan = _check(config, "root", 0, counts, "")
    if counts["parameters"] > max_parameters:
        raise _fail(
            "root",
            f"the layers would hold {counts['parameters']:,} parameters, more than the limit "
            f"of {max_parameters:,}",
        )
    return _build(plan, {}, "")


def _check(config, where: str, depth: int, counts: dict, path: str):
    plan = _check_one(config, where, depth, counts, path)
    counts["paths"].add(path)  # complete now: later layers may share it, its children not
    return plan


def _check_one(config, where: str, depth: int, counts: dict, path: str):
    if depth > MAX_DEPTH:
        raise _fail(where, f"containers are nested more than {MAX_DEPTH} deep")
    counts["modules"] += 1
    if counts["modules"] > MAX_MODULES:
        raise _fail(where, f"more than {MAX_MODULES:,} modules")
    if not isinstance(config, dict):
        raise _fail(where, f"expected an object with a 'type', got {type(config).__name__}")
    kind = config.get("type")
    if not isinstance(kind, str):
        raise _fail(where, f"'type' must be a layer name, got {_show(kind)}")
    where = f"{where} ({kind:.40})"
    if kind == SHARED:
        target = config.get("path")
        if set(config) != {"type", "path"} or not isinstance(target, str):
            raise _fail(where, "a shared layer is {'type': 'Shared', 'path': '<dotted path>'}")
        if target not in counts["paths"]:
            raise _fail(
                where,
                f"path {_show(target)} names no layer written before this one (a shared layer "
                f"refers back to an earlier, complete one)",
            )
        return SHARED, target, None
    if kind in _CONTAINERS:
        return _check_container(config, kind, where, depth, counts, path)
    if kind not in _LAYERS:
        allowed = ", ".join(sorted({*_LAYERS, *_CONTAINERS}))
        raise _fail(where, f"unknown layer type {_show(kind)}; allowed: {allowed}")
    extra = set(config) - {"type", "args"}
    if extra:
        raise _fail(where, f"unknown keys {sorted(map(str, extra))!r:.200}")
    args = config.get("args", {})
    if not isinstance(args, dict):
        raise _fail(where, f"'args' must be an object, got {type(args).__name__}")
    schema = _LAYERS[kind][1]
    unknown = set(args) - set(schema)
    if unknown:
        raise _fail(
            where,
            f"unknown arguments {sorted(map(str, unknown))!r:.200}; {kind} takes {sorted(schema)}",
        )
    missing = [name for name in _REQUIRED.get(kind, ()) if name not in args]
    if missing:
        raise _fail(where, f"missing required arguments {missing}")
    clean = {name: schema[name](value, f"{where}.{name}") for name, value in args.items()}
    counts["parameters"] += _parameter_count(kind, clean)
    return kind, clean, None


def _check_container(config: dict, kind: str, where: str, depth: int, counts: dict, path: str):
    extra = set(config) - {"type", "children", "names"}
    if extra:
        raise _fail(where, f"unknown keys {sorted(map(str, extra))!r:.200}")
    children = config.get("children", [])
    if not isinstance(children, list):
        raise _fail(where, f"'children' must be a list, got {type(children).__name__}")
    names = config.get("names")
    if names is None:
        names = [str(i) for i in range(len(children))]
    elif kind != "Sequential":
        raise _fail(where, "only Sequential children may have custom names")
    elif (
        not isinstance(names, list)
        or len(names) != len(children)
        or not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names)
        or len(set(names)) != len(names)
    ):
        raise _fail(
            where,
            "'names' must list one unique name (letters, digits, _; up to 64) per child",
        )
    plans = [
        _check(child, f"{where}.{name}", depth + 1, counts, f"{path}.{name}" if path else name)
        for name, child in zip(names, children)
    ]
    return kind, names, plans


def _build(plan, built: dict, path: str) -> Module:
    kind, args_or_names, children = plan
    if kind == SHARED:
        return built[args_or_names]
    if children is not None:
        container = _CONTAINERS[kind]()
        for name, child in zip(args_or_names, children):
            container.add_module(name, _build(child, built, f"{path}.{name}" if path else name))
        module = container
    else:
        try:
            module = _LAYERS[kind][0](**args_or_names)
        except (TypeError, ValueError) as err:  # a missing required argument, a bad combination
            raise _fail(kind, str(err)) from None
    built[path] = module
    return module
