"""Weight normalization (Salimans & Kingma, 2016), PyTorch's hook-based form.

``weight_norm(module)`` replaces the parameter ``weight`` by a magnitude ``weight_g`` and a
direction ``weight_v`` with ``weight = weight_g · weight_v / ‖weight_v‖``, the norm taken over
every dimension but ``dim``; a forward pre-hook recomputes ``weight`` before each call, so the
gradient reaches ``weight_g`` and ``weight_v`` through it. The state_dict keys are PyTorch's
(``weight_g``, ``weight_v``), so audio models (WaveNet, HiFi-GAN, ...) load either way.
"""

from __future__ import annotations

import warnings

from chainrule.nn.module import Parameter
from chainrule.nn.utils._reparam_hooks import find_hook, pre_hooks, taken_parameter
from chainrule.tensor import Tensor

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """‖v‖₂ over every dimension but ``dim`` (kept, size 1), or over all of it if dim is -1."""
    if dim == -1:
        return (v * v).sum().sqrt()
    dim %= v.ndim  # other negative values count from the end
    axes = tuple(axis for axis in range(v.ndim) if axis != dim)
    squares = v * v
    return squares.sum(axis=axes, keepdims=True).sqrt() if axes else squares.sqrt()


class WeightNorm:
    """The forward pre-hook: ``weight = g · v / ‖v‖`` from ``weight_g`` and ``weight_v``.

    ``dim`` -1 (what ``dim=None`` becomes, as in PyTorch) takes the norm of the whole tensor.
    """

    reparametrization = "weight_norm"  # what cr.save names when it refuses the layer

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn(
            "`torch.nn.utils.weight_norm` is deprecated in favor of "
            "`torch.nn.utils.parametrizations.weight_norm`.",
            FutureWarning,
            stacklevel=3,
        )
        if find_hook(module, WeightNorm, name) is not None:
            raise RuntimeError(
                f"Cannot register two weight_norm hooks on the same parameter {name}"
            )
        weight = taken_parameter(module, name, "WeightNorm")
        fn = WeightNorm(name, _checked_dim(dim, weight.ndim))
        # checked before the module changes: a bad dim leaves it as it was
        g = _norm_except_dim(weight.detach(), fn.dim).array.copy()
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(g))
        module.register_parameter(name + "_v", Parameter(weight))  # shares its memory
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def _checked_dim(dim, ndim: int) -> int:
    """PyTorch's reading of ``dim``: None and -1 mean the whole tensor, other negative values
    count from the end."""
    if dim is None or dim == -1:
        return -1
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"weight_norm: dim must be an int or None, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but "
            f"got {dim})"
        )
    return dim % ndim


def weight_norm(module, name: str = "weight", dim: int | None = 0):
    """Split parameter ``name`` into a magnitude ``name_g`` and a direction ``name_v``.

    ``weight = weight_g · weight_v / ‖weight_v‖``, recomputed by a forward pre-hook before
    every call. The norm is taken per slice along ``dim`` (``0``: per output channel), or
    over the whole tensor with ``dim=None`` (``-1`` means the same, as in PyTorch). Deprecated
    in PyTorch, as here (a FutureWarning), but in much audio code.

    Args:
        module: the module that holds the parameter.
        name: the parameter's name.
        dim: the dimension kept apart in the norm, or None.

    Returns:
        The module, changed in place.

    Example:
        >>> import warnings
        >>> from chainrule import nn
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     m = nn.utils.weight_norm(nn.Linear(20, 40))
        >>> m.weight_g.shape, m.weight_v.shape
        ((40, 1), (40, 20))
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name: str = "weight"):
    """Undo :func:`weight_norm`: ``name`` is one parameter again, holding the current weight.

    Raises:
        ValueError: the module has no weight norm on ``name``.
    """
    key = find_hook(module, WeightNorm, name)
    if key is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    pre_hooks(module)[key][0].remove(module)
    del pre_hooks(module)[key]
    return module
