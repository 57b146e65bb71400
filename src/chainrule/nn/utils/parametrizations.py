"""``nn.utils.parametrizations``, as PyTorch's: weight and spectral normalization written as
parametrizations (``nn.utils.parametrize``), PyTorch's current forms of both.

State_dict keys are PyTorch's: ``parametrizations.weight.original0`` (the magnitude g) and
``original1`` (the direction v) for weight_norm; ``parametrizations.weight.original`` and the
buffers ``parametrizations.weight.0._u`` / ``._v`` for spectral_norm. A state_dict of the old
hook-based weight_norm (``weight_g``, ``weight_v``) loads into the new form, as in PyTorch.
"""

from __future__ import annotations

from chainrule.autograd.grad_mode import no_grad
from chainrule.errors import NotSupportedError
from chainrule.nn.module import Module
from chainrule.nn.utils import parametrize
from chainrule.nn.utils.spectral_norm import _normalize
from chainrule.nn.utils.weight_norm import _norm_except_dim
from chainrule.random import get_generator
from chainrule.tensor import Tensor

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


class _WeightNorm(Module):
    """``weight = g · v / ‖v‖``, the norm over every dimension but ``dim`` (all if None)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor):
        return _norm_except_dim(weight.detach(), self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization as a parametrization: ``module.<name>`` is ``g · v / ‖v‖``
    computed on each access from ``parametrizations.<name>.original0`` (g) and ``original1``
    (v). A state_dict of :func:`chainrule.nn.utils.weight_norm` (``weight_g``, ``weight_v``)
    loads into it.

    Example:
        >>> from chainrule import nn
        >>> m = nn.utils.parametrizations.weight_norm(nn.Linear(20, 40))
        >>> m.parametrizations.weight.original0.shape, m.parametrizations.weight.original1.shape
        ((40, 1), (40, 20))
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def old_keys_to_new(state_dict, prefix, *_):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(old_keys_to_new)
    return module


class _SpectralNorm(Module):
    """``weight / σ``, σ by power iteration on buffers ``_u`` and ``_v`` (in training mode on
    every access); a 1-D weight is normalized to unit length."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but "
                f"got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.detach())
            height, width = weight_mat.shape
            rng, dtype = get_generator(None), weight.array.dtype
            u = rng.normal(0.0, 1.0, height).astype(dtype)  # PyTorch's order: u, then v
            v = rng.normal(0.0, 1.0, width).astype(dtype)
            self.register_buffer("_u", Tensor._make(_normalize(u, eps).astype(dtype), False))
            self.register_buffer("_v", Tensor._make(_normalize(v, eps).astype(dtype), False))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        mat, u, v = weight_mat.array, self._u.array, self._v.array
        for _ in range(n_power_iterations):  # in place: the buffers keep their identity
            u[...] = _normalize(mat @ v, self.eps)
            v[...] = _normalize(mat.T @ u, self.eps)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return weight / (weight * weight).sum().sqrt().clamp(min=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(weight_mat, self.n_power_iterations)
        u = Tensor._make(self._u.array.copy(), False)  # a later access must not change them
        v = Tensor._make(self._v.array.copy(), False)
        return weight / u.dot(weight_mat.mv(v))

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Spectral normalization as a parametrization: ``module.<name>`` is ``original / σ``,
    with ``n_power_iterations`` steps of power iteration on each access in training mode
    (15 at registration, as PyTorch's). ``dim`` is 1 for ``ConvTranspose*d``, else 0.

    Example:
        >>> from chainrule import nn
        >>> m = nn.utils.parametrizations.spectral_norm(nn.Linear(20, 40))
        >>> m.parametrizations.weight[0]._u.shape
        (40,)
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from chainrule.nn import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module


def orthogonal(
    module: Module, name: str = "weight", orthogonal_map=None, *, use_trivialization=True
):
    """Not implemented: raises :class:`~chainrule.errors.NotSupportedError` naming the way
    around (a parametrization of your own), so code written for PyTorch fails where it calls."""
    raise NotSupportedError(
        "nn.utils.parametrizations.orthogonal is not implemented in chainrule; register your "
        "own parametrization instead, e.g. parametrize.register_parametrization(module, name, "
        "P) with P.forward(X) returning cr.linalg.matrix_exp(X.tril(-1) - X.tril(-1).T) for a "
        "square weight (docs/nn.md)"
    )
