"""Activation modules: thin wrappers around the activation ops (``chainrule.functional``).

``inplace=True`` writes the result into the input and returns the input, as PyTorch, where
nothing is recorded for backward (``no_grad``, evaluation, an input that needs no gradient)
and on a tensor in the middle of the graph, where the write is recorded as PyTorch's
(``ReluBackward0`` as the input's grad_fn: autograd/inplace_graph.py). A leaf that requires
grad, or an input whose memory something else still holds, gives a new tensor and the input
keeps its values (the values are the same).
"""

from __future__ import annotations

import math
import warnings

from chainrule import ops
from chainrule.autograd.grad_mode import _GradMode
from chainrule.nn.module import Module
from chainrule.ops.softmax import _softmax_dim  # noqa: F401 - used here and imported from here
from chainrule.tensor import Tensor


def in_place(result, input, inplace: bool):
    """PyTorch's ``inplace=True``: ``result`` written into ``input``, which is returned, where
    autograd records nothing; else ``result`` (see the module docstring). Callers test
    ``inplace`` first: the default path costs a module nothing."""
    if not inplace or not isinstance(input, Tensor) or input is result:
        return result
    if input.requires_grad and _GradMode.enabled and input._ctx is not None:
        from chainrule.autograd.inplace_graph import adopt

        return adopt(input, result)  # recorded as PyTorch's in-place op, where it can be
    if (input.requires_grad and _GradMode.enabled) or input.dtype != result.dtype:
        return result
    return input.copy_(result)


def _check_finite(value, name: str, layer: str) -> int | float:
    """A finite number, kept as given: PyTorch's reprs show ``beta=2`` for an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{layer}: {name} must be a finite number, got {value!r}")
    return value


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^(−x)), elementwise. Shape: any → same."""

    _config_args = ()
    #: What a model ending here outputs (read by ``fit`` and the report instead of the name).
    produces = "probability"

    def forward(self, x):
        return ops.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise. Shape: any → same."""

    def forward(self, x):
        return ops.tanh(x)


class ReLU(Module):
    """max(x, 0), elementwise. Shape: any → same."""

    _config_args = ("inplace",)

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        out = ops.relu(x)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardtanh(Module):
    """x clamped to [min_val, max_val]; gradient 1 strictly inside. Shape: any → same."""

    _config_args = ("min_val", "max_val", "inplace")

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ):
        super().__init__()
        # PyTorch's old spellings, still accepted there with a FutureWarning
        for old, new in (("min_value", "min_val"), ("max_value", "max_val")):
            if (min_value if old == "min_value" else max_value) is not None:
                warnings.warn(
                    f"keyword argument `{old}` is deprecated and renamed to `{new}`",
                    FutureWarning,
                    stacklevel=2,
                )
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        self.min_val = _check_finite(min_val, "min_val", type(self).__name__)
        self.max_val = _check_finite(max_val, "max_val", type(self).__name__)
        if self.min_val >= self.max_val:  # PyTorch's layer refuses equal bounds too
            raise ValueError(
                f"{type(self).__name__}: max_val ({max_val}) must be greater than min_val "
                f"({min_val})"
            )
        self.inplace = bool(inplace)

    def forward(self, x):
        out = ops.hardtanh(x, self.min_val, self.max_val)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6). Shape: any → same."""

    _config_args = ("inplace",)

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def forward(self, x):
        out = ops.relu6(x)  # its own op, so an explanation says ReLU6
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope · x, elementwise. Shape: any → same."""

    _config_args = ("negative_slope", "inplace")

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = _check_finite(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = bool(inplace)

    def forward(self, x):
        out = ops.leaky_relu(x, self.negative_slope)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha · (eˣ − 1), elementwise. Shape: any → same."""

    _config_args = ("alpha", "inplace")

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = _check_finite(alpha, "alpha", "ELU")
        self.inplace = bool(inplace)

    def forward(self, x):
        out = ops.elu(x, self.alpha)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x · Φ(x) (``approximate="tanh"``: the tanh approximation). Shape: any → same."""

    _config_args = ("approximate",)

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return ops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """(1/beta) · ln(1 + e^(beta·x)); linear where beta·x > threshold. Shape: any → same."""

    _config_args = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = _check_finite(beta, "beta", "Softplus")
        self.threshold = _check_finite(threshold, "threshold", "Softplus")
        if self.beta == 0:
            raise ValueError("Softplus: beta must not be 0")

    def forward(self, x):
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """x · σ(x) (also called swish), elementwise. Shape: any → same."""

    _config_args = ("inplace",)

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        out = ops.silu(x)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LogSigmoid(Module):
    """ln σ(x), computed without overflow. Shape: any → same."""

    def forward(self, x):
        return ops.log_sigmoid(x)


class Softmax(Module):
    """exp(x) / Σ exp(x) along ``dim``. Shape: any → same.

    With no ``dim``, PyTorch's old implicit choice (with its deprecation warning): dim 0 for
    0-, 1- and 3-dimensional inputs, else dim 1. Name the dim.
    """

    _config_args = ("dim",)
    produces = "distribution"

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _check_dim(dim, "Softmax")

    def forward(self, x):
        return ops.softmax(x, dim=_softmax_dim(self.dim, x, "softmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """ln softmax(x) along ``dim``, stable for any input. Shape: any → same.

    With no ``dim``, PyTorch's implicit choice (see :class:`Softmax`).
    """

    _config_args = ("dim",)

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _check_dim(dim, "LogSoftmax")

    def forward(self, x):
        return ops.log_softmax(x, dim=_softmax_dim(self.dim, x, "log_softmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _check_dim(dim, layer: str) -> int | None:
    if dim is None:
        return None
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"{layer}: dim must be an integer, got {dim!r}")
    return dim
