"""PyTorch's in-place activation functions ``F.relu_``, ``F.elu_``, ``F.hardtanh_``,
``F.leaky_relu_`` and ``F.threshold_`` (``torch.relu_`` and ``torch.threshold_`` at the top
level too): the out-of-place function's result written into ``input``, which is returned.

As ``F.celu_`` and the other in-place functions of chainrule (``nn/activation_more.py``): a
leaf that requires grad (in grad mode) is refused with a ``GraphError`` naming the fix, as
PyTorch's; on a tensor in the middle of the graph the write is recorded, as PyTorch's
(``autograd/inplace_graph.py``). Signatures are PyTorch's documented ones.
"""

from __future__ import annotations

from chainrule.nn.activation_more import _write
from chainrule.ops import activation as _activation
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops.activation_extra import threshold as _threshold
from chainrule.ops.activation_smooth import Hardtanh, elu


def relu_(input):  # noqa: A002 - PyTorch's name
    """max(x, 0) written into ``input``, as ``torch.nn.functional.relu_`` (``torch.relu_``).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([-1.0, 2.0])
        >>> cr.nn.functional.relu_(x) is x, x.tolist()
        (True, [0.0, 2.0])
    """
    return _write("relu_", _activation.relu, input)


def elu_(input, alpha: float = 1.0):  # noqa: A002 - PyTorch's name
    """:func:`elu` written into ``input``, as ``torch.nn.functional.elu_``."""
    return _write("elu_", elu, input, alpha)


def _hardtanh_unchecked(x, min_val, max_val):
    # PyTorch's in-place hardtanh_ takes min_val > max_val without the check of F.hardtanh
    # (the result is then max_val everywhere, as clamp's)
    return Hardtanh.apply(_float_operand(x, "hardtanh_"), low=float(min_val), high=float(max_val))


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0):  # noqa: A002
    """x clamped to [min_val, max_val] written into ``input``, as
    ``torch.nn.functional.hardtanh_``."""
    return _write("hardtanh_", _hardtanh_unchecked, input, min_val, max_val)


def leaky_relu_(input, negative_slope: float = 0.01):  # noqa: A002 - PyTorch's name
    """:func:`leaky_relu` written into ``input``, as ``torch.nn.functional.leaky_relu_``."""
    return _write("leaky_relu_", _activation.leaky_relu, input, negative_slope)


def threshold_(input, threshold: float, value: float):  # noqa: A002 - PyTorch's name
    """x where x > ``threshold``, else ``value``, written into ``input``, as
    ``torch.nn.functional.threshold_`` (``torch.threshold_``); both numbers required."""
    return _write("threshold_", _threshold, input, threshold, value)
