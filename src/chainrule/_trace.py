"""``cr.trace``: one name, two meanings (PyTorch's matrix trace and chainrule's explainer).

Its own module: the explainer imports ``nn``, whose functional module imports
``torch_compat``, so the dispatch cannot live there without an import circle.
"""

from __future__ import annotations


def trace(input, names: dict | None = None):
    """``cr.trace``: PyTorch's ``torch.trace`` (the sum of the main diagonal) for a 2-D tensor,
    and chainrule's explainer trace (a table of every node below a loss) for any other tensor.

    Both share the name, so a PyTorch script's ``torch.trace(m)`` gets PyTorch's number; to
    tabulate the graph of a 2-D output, call ``chainrule.explain.trace`` (or pass ``names``).

    Example:
        >>> import chainrule as cr
        >>> cr.trace(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
        5.0
    """
    from chainrule.tensor import Tensor

    if names is None and (not isinstance(input, Tensor) or input.ndim == 2):
        from chainrule.ops.diagonal import trace as matrix_trace

        return matrix_trace(input)
    from chainrule.explain import trace as explain_trace

    return explain_trace(input, names)
