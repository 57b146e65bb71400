"""The data model of an explanation: plain dataclasses of numbers (and the names of what they
belong to), computed by :mod:`chainrule.explain.numbers` and written out by
:mod:`chainrule.explain.sections`. ``Explanation.to_dict()`` is ``report.data`` (and so
``report.json()``); ``Explanation.from_dict()`` reads it back.

Arrays are nested lists of Python floats, as ``np.ndarray.tolist()`` gives them.
"""

from chainrule.explain.datamodel.chains import Chain, Factor, Path, PerSample, Use
from chainrule.explain.datamodel.explanation import Explanation
from chainrule.explain.datamodel.graph import GraphNode, Trace
from chainrule.explain.datamodel.passes import (
    Backward,
    BackwardLayer,
    BackwardNode,
    Check,
    Forward,
    ForwardLayer,
    ForwardNode,
    Loss,
    Parameter,
    Term,
)
from chainrule.explain.datamodel.update import ParameterUpdate, Update

__all__ = [
    "Backward",
    "BackwardLayer",
    "BackwardNode",
    "Chain",
    "Check",
    "Explanation",
    "Factor",
    "Forward",
    "ForwardLayer",
    "ForwardNode",
    "GraphNode",
    "Loss",
    "Parameter",
    "ParameterUpdate",
    "Path",
    "PerSample",
    "Term",
    "Trace",
    "Update",
    "Use",
]
