"""Explain backpropagation: the chain rule written out, with the engine's own numbers.

``explain(model, x, y, loss_fn)`` writes the forward pass neuron by neuron, the backward pass in
delta form, the chain rule for chosen parameters factor by factor, and the update;
``trace(loss)`` lists every node of a recorded graph. Both return a :class:`Report`.
"""

import sys
import types

from chainrule.explain.api import explain, explain_graph, trace
from chainrule.explain.prediction import PredictedScore
from chainrule.explain.report import Report

__all__ = ["PredictedScore", "Report", "explain", "explain_graph", "trace"]


class _CallableModule(types.ModuleType):
    """Importing ``chainrule.explain`` binds the name ``explain`` in ``chainrule`` to this module,
    which would hide the function ``cr.explain``; calling the module calls the function."""

    def __call__(self, *args, **kwargs) -> Report:
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
