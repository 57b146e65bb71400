"""``chainrule.nn.functional``: the same functions as :mod:`chainrule.functional`."""

from chainrule.functional import *  # noqa: F403
from chainrule.functional import __all__  # noqa: F401

# PyTorch's F.pad (pairs from the last dimension back) and F.one_hot; see ops/indexing.py
from chainrule.ops.indexing import one_hot, pad  # noqa: E402, F401
