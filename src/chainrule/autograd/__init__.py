"""The autodiff machinery: ops record a graph; backward walks it in reverse."""

from chainrule.autograd.backward_api import backward
from chainrule.autograd.engine import sum_to_shape, topological_order
from chainrule.autograd.grad_api import grad
from chainrule.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled


def __getattr__(name: str):
    # torch.autograd.Function (custom ops on tensors) loads on first use: it imports Tensor
    if name in ("Function", "FunctionCtx", "once_differentiable"):
        from chainrule.autograd import custom

        return getattr(custom, name)
    if name in ("gradcheck", "gradgradcheck"):  # PyTorch's call forms (autograd.check_api)
        from chainrule.autograd import check_api

        return getattr(check_api, name)
    if name == "functional":  # torch.autograd.functional: jacobian, hessian, vjp, ... (lazy)
        import importlib

        return importlib.import_module("chainrule.autograd.functional")
    raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")


__all__ = [
    "Function",
    "backward",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "sum_to_shape",
    "topological_order",
]
