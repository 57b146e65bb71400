"""``chainrule.nn.functional``: the same functions as :mod:`chainrule.functional`."""

from chainrule.functional import *  # noqa: F403
from chainrule.functional import __all__  # noqa: F401
