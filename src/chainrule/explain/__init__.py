"""Explain backpropagation: the chain rule written out, with the engine's own numbers.

``explain(model, x, y, loss_fn)`` writes the forward pass neuron by neuron, the backward pass in
delta form, the chain rule for chosen parameters factor by factor, and the update;
``trace(loss)`` lists every node of a recorded graph. Both return a :class:`Report`.
"""

from chainrule.explain.builder import explain, explain_graph, trace
from chainrule.explain.report import Report

__all__ = ["Report", "explain", "explain_graph", "trace"]
