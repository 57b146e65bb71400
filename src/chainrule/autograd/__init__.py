"""The autodiff machinery: ops record a graph; backward walks it in reverse."""

from chainrule.autograd.engine import backward, sum_to_shape, topological_order
from chainrule.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "backward",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "sum_to_shape",
    "topological_order",
]
