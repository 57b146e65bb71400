"""``chainrule.nn.functional``: the same functions as :mod:`chainrule.functional`."""

from chainrule.functional import *  # noqa: F403
from chainrule.functional import __all__  # noqa: F401

# PyTorch's F.pad (pairs from the last dimension back) and F.one_hot; see ops/indexing.py
from chainrule.ops.indexing import one_hot, pad  # noqa: E402, F401

logsigmoid = log_sigmoid  # noqa: F405 - PyTorch's spelling of F.log_sigmoid
from chainrule.ops.norm import cosine_similarity, normalize  # noqa: E402, F401


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p), when
    ``training`` (PyTorch's default is True even in eval mode: pass ``self.training``)."""
    from chainrule.nn.dropout import Dropout

    layer = Dropout(p)
    layer.train(bool(training))
    return layer(input)


def __getattr__(name: str):
    from chainrule.torch_compat import unsupported

    raise unsupported("torch.nn.functional", name) or AttributeError(
        f"module 'chainrule.nn.functional' has no attribute {name!r}"
    )
