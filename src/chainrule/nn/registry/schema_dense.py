"""The schemas of the dense layers a saved architecture may name: linear, activations, dropout,
flatten, BatchNorm1d, LayerNorm, Embedding, EmbeddingBag. Each entry: type name -> (class,
{argument: check})."""

from __future__ import annotations

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
from chainrule.nn.dropout import Dropout
from chainrule.nn.embedding import Embedding
from chainrule.nn.embedding_bag import EmbeddingBag
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Identity, Linear
from chainrule.nn.normalization import BatchNorm1d, LayerNorm
from chainrule.nn.registry.checks import (
    _bool,
    _choice,
    _dim,
    _dim_or_none,
    _dtype,
    _finite,
    _index,
    _norm_order,
    _optional,
    _positive,
    _positive_size,
    _probability,
    _real,
    _shape,
    _size,
)

# The only classes a config can build, with the arguments each takes
LAYERS: dict[str, tuple[type, dict]] = {
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
    "EmbeddingBag": (  # sampling and bags
        EmbeddingBag,
        {
            "num_embeddings": _size,
            "embedding_dim": _size,
            "max_norm": _optional(_real),
            "norm_type": _norm_order,
            "scale_grad_by_freq": _bool,
            "mode": _choice("sum", "mean", "max"),
            "include_last_offset": _bool,
            "padding_idx": _optional(_index),
            "dtype": _dtype,
        },
    ),
}

# The arguments a config must give (the rest have defaults)
REQUIRED = {
    "Linear": ("in_features", "out_features"),
    "BatchNorm1d": ("num_features",),
    "LayerNorm": ("normalized_shape",),
    "Embedding": ("num_embeddings", "embedding_dim"),
    "EmbeddingBag": ("num_embeddings", "embedding_dim"),
}
