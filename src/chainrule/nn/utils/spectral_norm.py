"""Spectral normalization (Miyato et al., 2018), PyTorch's hook-based form.

``spectral_norm(module)`` keeps the learned weight as ``weight_orig`` and divides it by its
largest singular value σ before each call: ``weight = weight_orig / σ`` with
``σ = uᵀ W v``, ``W`` the weight as a matrix (``dim`` first). ``u`` and ``v`` (buffers
``weight_u``, ``weight_v``) are estimates of the first singular vectors, refined in place by
``n_power_iterations`` steps of power iteration on every call in training mode; eval mode uses
them as they are. The gradient reaches ``weight_orig`` through σ too (u and v are constants).
The state_dict keys are PyTorch's, so a discriminator's buffers move either way and the
numbers then agree.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.module import Parameter
from chainrule.nn.utils._reparam_hooks import find_hook, pre_hooks, taken_parameter
from chainrule.random import get_generator
from chainrule.tensor import Tensor

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


def _normalize(x: np.ndarray, eps: float) -> np.ndarray:
    """``x / max(‖x‖, eps)``, as ``F.normalize(x, dim=0, eps=eps)``."""
    return x / max(float(np.linalg.norm(x)), eps)


class SpectralNorm:
    """The forward pre-hook: ``weight = weight_orig / σ``, power iteration in training mode."""

    reparametrization = "spectral_norm"  # what cr.save names when it refuses the layer

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int):
            raise TypeError(
                f"n_power_iterations must be an int, got {type(n_power_iterations).__name__}"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix: ``dim`` first, the other dimensions flattened."""
        if self.dim != 0:
            order = (self.dim, *(d for d in range(weight.ndim) if d != self.dim))
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            mat = weight_mat.array
            # in place: the buffers keep their identity (an optimizer or a copy may hold them)
            for _ in range(self.n_power_iterations):
                v.array[...] = _normalize(mat.T @ u.array, self.eps)
                u.array[...] = _normalize(mat @ v.array, self.eps)
        # copies: a later call's power iteration must not change what this graph saved
        u_now = Tensor._make(u.array.copy(), False)
        v_now = Tensor._make(v.array.copy(), False)
        sigma = u_now.dot(weight_mat.mv(v_now))
        return weight / sigma

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    @staticmethod
    def apply(module, name: str, n_power_iterations: int, dim: int, eps: float) -> SpectralNorm:
        if find_hook(module, SpectralNorm, name) is not None:
            raise RuntimeError(
                f"Cannot register two spectral_norm hooks on the same parameter {name}"
            )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = taken_parameter(module, name, "SpectralNorm", missing=KeyError)
        if not -weight.ndim <= dim < weight.ndim:
            raise IndexError(
                f"spectral_norm: dim {dim} is out of range for the {weight.ndim}-D parameter "
                f"{name!r} (expected in [{-weight.ndim}, {weight.ndim - 1}])"
            )
        fn.dim = dim % weight.ndim
        height, width = fn.reshape_weight_to_matrix(weight.detach()).shape
        rng, dtype = get_generator(None), weight.array.dtype
        # drawn in PyTorch's order, u then v (its numbers come with the state_dict)
        u = _normalize(rng.normal(0.0, 1.0, height).astype(dtype), fn.eps)
        v = _normalize(rng.normal(0.0, 1.0, width).astype(dtype), fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # a plain attribute (not a parameter), so code that reads module.weight still runs
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", Tensor._make(u.astype(dtype), False))
        module.register_buffer(fn.name + "_v", Tensor._make(v.astype(dtype), False))
        module.register_forward_pre_hook(fn)
        module._register_load_state_dict_pre_hook(_OldStateDict(fn))
        return fn


class _OldStateDict:
    """PyTorch's load pre-hook: a state_dict from before spectral_norm's version 1 (PyTorch
    1.0: ``weight`` saved, no ``weight_v``) gets the ``weight_v`` for which
    ``u = normalize(W v)`` and ``uᵀ W v = σ``, σ read off ``weight_orig / weight``."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict, prefix, *_) -> None:
        key = prefix + self.fn.name
        if key not in state_dict:
            return  # today's format (or keys missing: load_state_dict names them)
        if any(key + suffix not in state_dict for suffix in ("_orig", "_u")):
            return
        weight_orig = np.asarray(state_dict[key + "_orig"])
        sigma = (weight_orig / np.asarray(state_dict.pop(key))).mean()
        mat = self.fn.reshape_weight_to_matrix(Tensor._make(weight_orig, False)).array
        u = np.asarray(state_dict[key + "_u"])
        v = np.linalg.pinv(mat.T @ mat) @ mat.T @ u
        state_dict[key + "_v"] = v * (sigma / (u @ mat @ v))


def spectral_norm(
    module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
):
    """Divide parameter ``name`` by its spectral norm σ, estimated by power iteration.

    The parameter becomes ``name_orig``; buffers ``name_u`` and ``name_v`` hold the singular
    vector estimates, updated in place by ``n_power_iterations`` steps on every call in training
    mode (eval mode uses them as stored). ``weight = weight_orig / (uᵀ W v)`` is recomputed by a
    forward pre-hook before every call.

    Args:
        module: the module that holds the parameter.
        name: the parameter's name.
        n_power_iterations: power iteration steps per training call (positive).
        eps: the floor of the norms in the normalization of u and v.
        dim: the dimension of the outputs: 0, or 1 for ``ConvTranspose*d`` (None picks).

    Returns:
        The module, changed in place.

    Example:
        >>> from chainrule import nn
        >>> m = nn.utils.spectral_norm(nn.Linear(20, 40))
        >>> m.weight_u.shape, m.weight_v.shape
        ((40,), (20,))
    """
    if dim is None:
        from chainrule.nn import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``name`` is one parameter again, ``weight_orig / σ`` with
    the stored u and v; the buffers go.

    Raises:
        ValueError: the module has no spectral norm on ``name``.
    """
    key = find_hook(module, SpectralNorm, name)
    if key is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    pre_hooks(module)[key][0].remove(module)
    del pre_hooks(module)[key]
    load_hooks = module.__dict__.get("_load_state_dict_pre_hooks", {})
    for load_key, (hook, _) in list(load_hooks.items()):
        if isinstance(hook, _OldStateDict) and hook.fn.name == name:
            del load_hooks[load_key]
    return module
