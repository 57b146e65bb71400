"""The autodiff machinery: ops record a graph; backward walks it in reverse."""

from chainrule.autograd.backward_api import backward
from chainrule.autograd.engine import sum_to_shape, topological_order
from chainrule.autograd.grad_api import grad
from chainrule.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

# torch.autograd names chainrule does not have: NotSupportedError with the nearest spelling
_NOT_SUPPORTED = {
    "graph": "tensor hooks: t.register_hook(fn), leaf.register_post_accumulate_grad_hook(fn)",
    "forward_ad": "cr.autograd.functional.jvp (the double-backward trick)",
    "Variable": "a tensor: cr.tensor(data, requires_grad=True)",
    "profiler": "Python's cProfile (python -m cProfile script.py)",
}


_ANOMALY = (
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
)


def __getattr__(name: str):
    # torch.autograd.Function (custom ops on tensors) loads on first use: it imports Tensor
    if name in ("Function", "FunctionCtx", "once_differentiable"):
        from chainrule.autograd import custom

        return getattr(custom, name)
    if name in ("gradcheck", "gradgradcheck"):  # PyTorch's call forms (autograd.check_api)
        from chainrule.autograd import check_api

        return getattr(check_api, name)
    if name in _ANOMALY:  # PyTorch's anomaly mode (backward NaN only; autograd/anomaly_torch.py)
        from chainrule.autograd import anomaly_torch

        return getattr(anomaly_torch, name)
    if name == "functional":  # torch.autograd.functional: jacobian, hessian, vjp, ... (lazy)
        import importlib

        return importlib.import_module("chainrule.autograd.functional")
    if name in _NOT_SUPPORTED:
        from chainrule.errors import NotSupportedError

        raise NotSupportedError(
            f"torch.autograd.{name} is not supported by chainrule; use {_NOT_SUPPORTED[name]}"
        )
    raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")


__all__ = [
    "Function",
    "backward",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "sum_to_shape",
    "topological_order",
]
