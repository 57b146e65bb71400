"""The schemas of the activations of ``nn/activation_more.py`` (CELU, SELU, RReLU, Hardshrink,
Softshrink) and the dropouts of ``nn/dropout_variants.py``, for saved architectures."""

from __future__ import annotations

from chainrule.nn.activation_more import CELU, SELU, Hardshrink, RReLU, Softshrink
from chainrule.nn.dropout_variants import AlphaDropout, Dropout1d, Dropout3d, FeatureAlphaDropout
from chainrule.nn.registry.checks import _bool, _probability, _real

_DROPOUT = {"p": _probability, "inplace": _bool}

LAYERS: dict[str, tuple[type, dict]] = {
    "CELU": (CELU, {"alpha": _real, "inplace": _bool}),
    "SELU": (SELU, {"inplace": _bool}),
    "RReLU": (RReLU, {"lower": _real, "upper": _real, "inplace": _bool}),
    "Hardshrink": (Hardshrink, {"lambd": _real}),
    "Softshrink": (Softshrink, {"lambd": _real}),
    "Dropout1d": (Dropout1d, _DROPOUT),
    "Dropout3d": (Dropout3d, _DROPOUT),
    "AlphaDropout": (AlphaDropout, _DROPOUT),
    "FeatureAlphaDropout": (FeatureAlphaDropout, _DROPOUT),
}
