"""The first derivative of a piecewise-linear op, tied to the op's input for second derivatives.

relu, hardtanh, leaky_relu, the shrinkages, |x|, max pooling and their kin have a local
derivative that is constant wherever it exists (a mask, a sign, a slope): their
``backward_graph`` returns ``grad · mask`` with the mask a constant. Without more, a first
derivative taken with ``create_graph=True`` from a constant seed would not require grad, and a
second derivative would raise. PyTorch's first derivative does require grad (its
``ThresholdBackward`` and kin are nodes whose derivative with respect to the input is zero), and
its second derivative is zeros. :func:`tie` gives chainrule's the same: the value passes
unchanged (so the first derivative keeps its bits) and each anchor gets a gradient of zeros,
made as zeros and never as ``0 · x`` (which would be NaN at an infinite x).

Only the recorded pass (``create_graph=True``) builds these nodes; plain ``backward()`` never
sees them.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.tensor import Tensor


class PiecewiseLink(Function):
    """out = value, tied to anchors x.  Local derivatives: 1 for the value, 0 for each anchor."""

    label = "piecewise"
    definition = "out = value (the local derivative of a piecewise-linear op, constant)"
    formulas = ("1", "0")
    saves_inputs = False  # backward reads only the anchors' shapes and dtypes

    def forward(self, value, *anchors, relink=False, name=None):
        self.anchors = [(x.shape, x.dtype) for x in anchors]
        self.relink, self.torch_name = relink, name  # name: grad_fn.name(), PyTorch's node
        return value.view()  # a new array object on the same memory: the value's own bits

    def backward(self, grad):
        zeros = [
            np.zeros(shape, dtype) if needed else None
            for (shape, dtype), needed in zip(self.anchors, self.needs_grad[1:])
        ]
        return (grad, *zeros)

    def backward_graph(self, grad):
        """The value's gradient passes on; the anchors get zeros, themselves tied to the anchors
        where PyTorch's are (``relink``: relu's, whose zeros come from the same node again, so
        that a third derivative is defined there too)."""
        zeros = []
        wanted = zip(self.parents[1:], self.anchors, self.needs_grad[1:])
        for anchor, (shape, dtype), needed in wanted:
            if not needed:
                zeros.append(None)
                continue
            zero = Tensor._make(np.zeros(shape, dtype), False)
            zeros.append(
                tie(zero, anchor, relink=True, name=self.torch_name) if self.relink else zero
            )
        return (grad, *zeros)


def tie(value: Tensor, *anchors: Tensor, relink: bool = False, name: str | None = None) -> Tensor:
    """``value`` (a piecewise-linear op's first derivative) tied to ``anchors`` (the op's inputs)
    with a zero derivative: it requires grad when an anchor does, as PyTorch's does, and its
    derivative with respect to each anchor is zeros. ``relink`` ties those zeros to the anchors
    again (PyTorch's relu, whose second derivative requires grad too). ``name`` is PyTorch's name
    of the node that gives the first derivative (``grad_fn.name()``, e.g.
    ``"ThresholdBackwardBackward0"`` for relu)."""
    anchors = tuple(a for a in anchors if a is not None and a.requires_grad)
    if not anchors:
        return value
    return PiecewiseLink.apply(value, *anchors, relink=relink, name=name)
