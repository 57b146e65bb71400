"""Neural-network building blocks: Module, Parameter, layers, activations, losses, init.

Names, weight layouts and behaviour follow ``torch.nn``, so models and ``state_dict``s move
between the two libraries unchanged.
"""

from __future__ import annotations

import importlib

from chainrule.nn import functional, init
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
from chainrule.nn.activation_extra import (
    GLU,
    Hardsigmoid,
    Hardswish,
    Mish,
    PReLU,
    Softmax2d,
    Softmin,
    Softsign,
    Tanhshrink,
    Threshold,
)
from chainrule.nn.adaptive_softmax import AdaptiveLogSoftmaxWithLoss
from chainrule.nn.bilinear import Bilinear
from chainrule.nn.container import ModuleList, Sequential
from chainrule.nn.containers_torch import (
    LazyLinear,
    ModuleDict,
    ParameterDict,
    ParameterList,
)
from chainrule.nn.distance import CosineSimilarity, PairwiseDistance
from chainrule.nn.dropout import Dropout
from chainrule.nn.embedding import Embedding
from chainrule.nn.embedding_bag import EmbeddingBag  # sampling and bags
from chainrule.nn.flatten import Flatten
from chainrule.nn.lazy_conv import (
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
)
from chainrule.nn.lazy_norm import (
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
)
from chainrule.nn.linear import Identity, Linear
from chainrule.nn.local_response_norm import LocalResponseNorm
from chainrule.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from chainrule.nn.module import Module, Parameter
from chainrule.nn.multihead_attention import MultiheadAttention
from chainrule.nn.normalization import BatchNorm1d, LayerNorm
from chainrule.nn.normalization_instance import (
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)
from chainrule.nn.recurrent import GRU, LSTM, RNN, RNNBase
from chainrule.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from chainrule.nn.registry.custom import register
from chainrule.nn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

# ---- convolutional networks (nn/conv.py, nn/pooling.py, nn/spatial.py) ----
# isort: split
from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.conv3d import Conv3d, ConvTranspose3d
from chainrule.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from chainrule.nn.pooling3d import AvgPool3d, MaxPool3d
from chainrule.nn.spatial import BatchNorm2d, BatchNorm3d, Dropout2d, Unflatten
from chainrule.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

# ---- margin and likelihood losses (nn/loss_margin.py, nn/loss_likelihood.py) ----
# isort: split
from chainrule.nn.loss_likelihood import CTCLoss, GaussianNLLLoss, PoissonNLLLoss
from chainrule.nn.loss_margin import (
    CosineEmbeddingLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)

# functional normalisation and rearrangement (nn/rms_norm.py, nn/rearrange.py)
# isort: split
from chainrule.nn.rearrange import ChannelShuffle, Fold, PixelShuffle, PixelUnshuffle, Unfold
from chainrule.nn.rms_norm import RMSNorm

# ---- activations and dropout variants (nn/activation_more.py, nn/dropout_variants.py) ----
# isort: split
from chainrule.nn.activation_more import CELU, SELU, Hardshrink, RReLU, Softshrink
from chainrule.nn.dropout_variants import AlphaDropout, Dropout1d, Dropout3d, FeatureAlphaDropout

# isort: split
from chainrule.nn.padding import (  # noqa: F401 - PyTorch's padding layers, listed in __all__
    LAYERS as _PADDING_LAYERS,
)

globals().update({layer.__name__: layer for layer in _PADDING_LAYERS})

# pooling extras (nn/pooling_extra.py): AdaptiveMaxPool*, LPPool*, MaxUnpool*
# isort: split
from chainrule.nn.pooling_extra import LAYERS as _POOLING_EXTRA  # noqa: E402 - in __all__

globals().update({layer.__name__: layer for layer in _POOLING_EXTRA})

# AdaptiveAvgPool3d, FractionalMaxPool2d (nn/pooling_adaptive_avg3d.py, nn/fractional_max_pool.py)
# isort: split
from chainrule.nn.fractional_max_pool import FractionalMaxPool2d  # noqa: E402
from chainrule.nn.pooling_adaptive_avg3d import AdaptiveAvgPool3d  # noqa: E402

# FractionalMaxPool3d (nn/fractional_max_pool3d.py)
# isort: split
from chainrule.nn.fractional_max_pool3d import FractionalMaxPool3d  # noqa: E402

__all__ = [
    "BCELoss",
    "BatchNorm1d",
    "Dropout",
    "Embedding",
    "CosineSimilarity",
    "PairwiseDistance",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
    "Flatten",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LocalResponseNorm",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "ELU",
    "GELU",
    "HuberLoss",
    "KLDivLoss",
    "SmoothL1Loss",
    "Identity",
    "L1Loss",
    "LazyLinear",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "ModuleDict",
    "ParameterDict",
    "ParameterList",
    "Hardtanh",
    "LeakyReLU",
    "ReLU6",
    "Linear",
    "LogSigmoid",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    # more activations (nn/activation_extra.py) and the bilinear layer (nn/bilinear.py)
    "Bilinear",
    "GLU",
    "Hardsigmoid",
    "Hardswish",
    "Mish",
    "PReLU",
    "Softmax2d",
    "Softmin",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "functional",
    "init",
    "register",
    # convolutional networks
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BatchNorm2d",
    "BatchNorm3d",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "Dropout2d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "Unflatten",
    # recurrent networks (nn/recurrent.py, nn/recurrent_cells.py)
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    # attention and Transformer layers (nn/attention.py, nn/multihead_attention.py, ...)
    "MultiheadAttention",
    "AdaptiveLogSoftmaxWithLoss",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    # margin and likelihood losses (nn/loss_margin.py, nn/loss_likelihood.py)
    "CosineEmbeddingLoss",
    "CTCLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "PoissonNLLLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    # functional normalisation and rearrangement (nn/rms_norm.py, nn/rearrange.py)
    "ChannelShuffle",
    "Fold",
    "PixelShuffle",
    "PixelUnshuffle",
    "RMSNorm",
    "Unfold",
    # sampling and bags (nn/embedding_bag.py)
    "EmbeddingBag",
    # activations and dropout variants (nn/activation_more.py, nn/dropout_variants.py)
    "AlphaDropout",
    "CELU",
    "Dropout1d",
    "Dropout3d",
    "FeatureAlphaDropout",
    "Hardshrink",
    "RReLU",
    "SELU",
    "Softshrink",
    # padding layers (nn/padding.py)
    *(layer.__name__ for layer in _PADDING_LAYERS),
    # pooling extras (nn/pooling_extra.py)
    *(layer.__name__ for layer in _POOLING_EXTRA),
    "AdaptiveAvgPool3d",  # nn/pooling_adaptive_avg3d.py
    "FractionalMaxPool2d",  # nn/fractional_max_pool.py
    "FractionalMaxPool3d",  # nn/fractional_max_pool3d.py
]

# loaded on first use; PyTorch's torch.nn has the last three as attributes too
_LAZY_SUBMODULES = ("registry", "utils", "modules", "parameter", "common_types")


def __getattr__(name: str):
    # the registry is only needed to save and load models: load it on first use
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"chainrule.nn.{name}")
        globals()[name] = module
        return module
    from chainrule.torch_compat import unsupported

    raise unsupported("torch.nn", name) or AttributeError(
        f"module 'chainrule.nn' has no attribute {name!r}"
    )
