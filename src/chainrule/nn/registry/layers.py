"""Every layer and container a saved architecture may name, and the parameters each would hold
(counted before anything is built, so a hostile file cannot ask for terabytes)."""

from __future__ import annotations

import math

from chainrule.nn.container import ModuleList, Sequential
from chainrule.nn.registry import (
    schema_activation_dropout,
    schema_attention,
    schema_dense,
    schema_extra,
    schema_pooling_extra,
    schema_rearrange,
    schema_recurrent,
    schema_spatial,
)

# type name -> (class, {argument: check}). The only classes a config can build.
LAYERS: dict[str, tuple[type, dict]] = (
    schema_dense.LAYERS
    | schema_spatial.LAYERS
    | schema_recurrent.LAYERS
    | schema_attention.LAYERS
    | schema_extra.LAYERS
    | schema_pooling_extra.LAYERS
    | schema_rearrange.LAYERS
    | schema_activation_dropout.LAYERS  # activations and dropout variants
)
REQUIRED: dict[str, tuple] = (
    schema_dense.REQUIRED
    | schema_spatial.REQUIRED
    | schema_recurrent.REQUIRED
    | schema_attention.REQUIRED
    | schema_extra.REQUIRED
    | schema_pooling_extra.REQUIRED
    | schema_rearrange.REQUIRED
)
CONTAINERS: dict[str, type] = {"Sequential": Sequential, "ModuleList": ModuleList}


def parameter_count(kind: str, args: dict) -> int:
    """How many numbers the layer will allocate, computed before it is built."""
    if kind == "Linear":
        n_in, n_out = args.get("in_features", 0), args.get("out_features", 0)
        return n_in * n_out + n_out * args.get("bias", True)
    if kind.startswith("Conv"):
        kernel = args.get("kernel_size", 1)
        area = (
            math.prod(kernel)
            if isinstance(kernel, list)
            else kernel ** int(kind[-2])  # Conv1d, Conv2d, Conv3d, ConvTranspose2d, ...
        )
        n_in, n_out = args.get("in_channels", 0), args.get("out_channels", 0)
        bias = n_out if args.get("bias", True) else 0
        return n_in * n_out * area // max(args.get("groups", 1), 1) + bias
    if kind.startswith("BatchNorm"):  # only what the settings allocate: a smaller file is valid
        affine = args.get("affine", True) * (1 + args.get("bias", True))
        stats = 2 * args.get("track_running_stats", True)
        return (affine + stats) * args.get("num_features", 0)
    if kind.startswith("InstanceNorm") or kind == "GroupNorm":  # affine off by default, or on
        affine = args.get("affine", kind == "GroupNorm") * (1 + args.get("bias", True))
        stats = 2 * args.get("track_running_stats", False)
        return (affine + stats) * args.get("num_features", args.get("num_channels", 0))
    if kind in ("Embedding", "EmbeddingBag"):
        return args.get("num_embeddings", 0) * args.get("embedding_dim", 0)
    if kind == "LayerNorm":  # weight and bias only when affine (and with bias)
        affine = args.get("elementwise_affine", True) * (1 + args.get("bias", True))
        return affine * math.prod(args.get("normalized_shape", [1]))
    if kind in schema_recurrent.LAYERS:
        return schema_recurrent.recurrent_parameter_count(kind, args)
    if kind in schema_attention.LAYERS:
        return schema_attention.attention_parameter_count(kind, args)
    if kind in schema_rearrange.LAYERS:
        return schema_rearrange.parameter_count(kind, args)
    return schema_extra.parameter_count(kind, args)
