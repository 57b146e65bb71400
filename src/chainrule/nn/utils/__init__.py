"""``nn.utils``, as PyTorch's ``torch.nn.utils``: gradient clipping, parameters as one vector,
``nn.utils.rnn`` (padding batches of sequences), and the hook-based weight and spectral
normalization (``weight_norm``, ``spectral_norm`` and their ``remove_*``)."""

from chainrule.nn.utils import parametrizations, parametrize, rnn
from chainrule.nn.utils.clip_grad import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from chainrule.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from chainrule.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm
from chainrule.nn.utils.weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "remove_spectral_norm",
    "remove_weight_norm",
    "rnn",
    "spectral_norm",
    "vector_to_parameters",
    "weight_norm",
]


def __getattr__(name: str):
    if name == "stateless":  # on first use: it imports chainrule.func, which imports nn
        import importlib

        return importlib.import_module("chainrule.nn.utils.stateless")
    raise AttributeError(f"module 'chainrule.nn.utils' has no attribute {name!r}")
