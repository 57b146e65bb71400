"""Weight initialisers: fill a parameter in place with values from the seeded generator.

Each function takes a Parameter (or any Tensor), overwrites its data without recording a graph,
and returns it. Random ones draw from ``generator`` or chainrule's default generator, so
``cr.manual_seed(0)`` makes every model start from the same weights.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import _dtype
from chainrule.errors import ArgumentError, ShapeError
from chainrule.random import Generator, get_generator
from chainrule.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_LIKE = {
    "linear",
    "sigmoid",
    *(f"conv{d}d" for d in (1, 2, 3)),
    *(f"conv_transpose{d}d" for d in (1, 2, 3)),
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``.

    linear/sigmoid and conv1d..3d, conv_transpose1d..3d: 1 (an int, as PyTorch's);
    tanh: 5/3; relu: √2; leaky_relu: √(2 / (1 + slope²)) (slope ``param``, default 0.01);
    selu: 3/4.

    Example:
        >>> round(calculate_gain("relu"), 4)
        1.4142
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1  # an int, as PyTorch's
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"leaky_relu's negative slope must be a number, got {slope!r}")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"unknown nonlinearity {nonlinearity!r}; use one of linear, sigmoid, tanh, relu, "
        f"leaky_relu, selu"
    )


def _fans(tensor: Tensor, fn: str) -> tuple[int, int]:
    shape = tensor.array.shape
    if len(shape) < 2:
        raise ShapeError(
            f"{fn} needs a tensor with at least 2 dimensions (fan in and fan out), got shape "
            f"{shape}; use uniform_ or normal_ for biases"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)``: PyTorch's private helper, which ``reset_parameters`` methods copied
    from ``nn.Linear`` call (``fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)``)."""
    return _fans(tensor, "_calculate_fan_in_and_fan_out")


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    """``fan_in`` or ``fan_out`` by ``mode``, as PyTorch's private helper."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    return _fans(tensor, "_calculate_correct_fan")[mode == "fan_out"]


def _fill(tensor: Tensor, values) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"initialisers fill a Tensor or Parameter, got {type(tensor).__name__}")
    tensor.array[...] = values  # in place: optimizers holding the parameter see the new values
    return tensor


def _check_floating(tensor: Tensor, fn: str) -> None:
    """Random draws go only into floating-point tensors, as in PyTorch (written into an integer
    or bool tensor they would be truncated: U(0, 1) gives all zeros)."""
    if isinstance(tensor, Tensor):
        _dtype.refuse_non_float(tensor.array.dtype, fn)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None):
    """Fill with samples from U(a, b)."""
    _check_floating(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, get_generator(generator).uniform(a, b, tensor.array.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
):
    """Fill with samples from N(mean, std²)."""
    _check_floating(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got {std}")
    return _fill(tensor, get_generator(generator).normal(mean, std, tensor.array.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val`` (PyTorch's name for it, so ``constant_(w, val=0.1)`` runs)."""
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None):
    """Glorot uniform: U(−a, a) with a = gain · √(6 / (fan_in + fan_out))."""
    _check_floating(tensor, "xavier_uniform_")
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None):
    """Glorot normal: N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    _check_floating(tensor, "xavier_normal_")
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / max(fan_in + fan_out, 1)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity, fn) -> float:
    _check_floating(tensor, fn)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn} mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor, fn)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
):
    """He uniform: U(−b, b) with b = gain · √(3 / fan); ``a`` is leaky_relu's slope."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
):
    """He normal: N(0, std²) with std = gain / √fan."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(tensor, 0.0, std, generator)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the main diagonal), as PyTorch's."""
    if tensor.array.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.array.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight so the convolution passes its input through
    (a 1 at each kernel's centre, channel d to channel d within each group)."""
    shape = tensor.array.shape
    if len(shape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = shape[0] // groups
    values = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            values[(g * per_group + d, d, *centre)] = 1
    return _fill(tensor, values)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None):
    """Fill with a (semi-)orthogonal matrix times ``gain``: the Q of a Gaussian matrix's QR,
    signs fixed by R's diagonal; dimensions after the first are flattened, as PyTorch's."""
    _check_floating(tensor, "orthogonal_")
    shape = tensor.array.shape
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    rows = shape[0]
    cols = tensor.array.size // rows if rows else 0
    flat = get_generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(shape))


def sparse_(
    tensor: Tensor, sparsity: float, std: float = 0.01, generator: Generator | None = None
) -> Tensor:
    """Fill a 2-D tensor from N(0, std²), then zero ⌈sparsity · rows⌉ entries of each column,
    at rows drawn at random per column (PyTorch's sparse initialisation of Martens 2010)."""
    _check_floating(tensor, "sparse_")
    if tensor.array.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.array.shape
    zeros_per_column = int(math.ceil(sparsity * rows))
    rng = get_generator(generator)
    values = rng.normal(0.0, std, (rows, cols))
    for col in range(cols):
        values[rng.permutation(rows)[:zeros_per_column], col] = 0
    return _fill(tensor, values)


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(mean, std²) samples restricted to [a, b] (absolute bounds, as PyTorch's):
    samples outside are drawn again."""
    _check_floating(tensor, "trunc_normal_")
    if not a <= b:
        raise ArgumentError(f"trunc_normal_ needs a <= b, got a={a}, b={b}")
    rng = get_generator(generator)
    values = rng.normal(mean, std, tensor.array.shape)
    for _ in range(100):  # each round redraws only the rejected samples
        outside = (values < a) | (values > b)
        if not outside.any():
            break
        values[outside] = rng.normal(mean, std, int(outside.sum()))
    return _fill(tensor, np.clip(values, a, b))  # a range far in the tail: its edge
