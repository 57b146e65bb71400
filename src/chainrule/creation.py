"""Ways to make tensors: from data, filled with a constant, or drawn from a seeded generator."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule._device import check_device
from chainrule._ranges import float_arange, integer_arange, torch_linspace, torch_logspace
from chainrule.errors import ArgumentError, ShapeError
from chainrule.random import Generator, get_generator
from chainrule.tensor import Tensor


def _wrap(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A tensor around an array already in its final dtype (no second conversion)."""
    t = Tensor._make(array, False)
    # requires_grad_ refuses a non-bool (PyTorch's TypeError): "False" is truthy; None is
    # PyTorch's factories' default
    return t if requires_grad is False or requires_grad is None else t.requires_grad_(requires_grad)


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """Make a tensor from a number, a (nested) list, an array or another tensor (copied).

    Floating-point data becomes float32 unless ``dtype`` says otherwise (``"float64"`` for
    gradient checks); integer and bool data keep their kind (class labels stay integers).

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 2], [3, 4]], dtype="float64").dtype
        dtype('float64')
    """
    check_device(device)
    if dtype is None and type(data) is np.ndarray:
        kind = data.dtype.kind
        if (kind == "f" and data.dtype == _dtype.float32) or kind in "iub":
            # A batch that needs no conversion (the common call in a training loop): copied
            # and wrapped here, in half the time of the general path below.
            return _wrap(data.copy(), requires_grad)
    if isinstance(data, Tensor):
        data = data.array
    elif isinstance(data, (list, tuple)) and _holds_tensor(data):
        return _wrap(_from_scalar_tensors(data, dtype), requires_grad)
    array = _dtype.as_array(data, dtype)
    if isinstance(data, np.ndarray) and array is data:
        array = array.copy()  # a tensor owns its data, as torch.tensor() copies
    return _wrap(array, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with ``data`` when no conversion is needed."""
    if dtype is None and device is None and type(data) is np.ndarray:
        # a training loop's batch (float32, or integer labels): nothing to convert or check,
        # so wrapped here, without the two calls of the general path (0.26 against 0.55 µs)
        kind = data.dtype.kind
        if (kind == "f" and data.dtype == _dtype.float32) or kind in "iub":
            return Tensor._make(data, False)
    check_device(device)
    if dtype is None and type(data) is np.ndarray:
        kind = data.dtype.kind
        if (kind == "f" and data.dtype == _dtype.float32) or kind in "iub":
            return _wrap(data)  # nothing to convert (tensor()'s fast path, without the copy)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, (list, tuple)) and _holds_tensor(data):
        return _wrap(_from_scalar_tensors(data, dtype))
    array = _dtype.as_array(data.array if isinstance(data, Tensor) else data, dtype)
    return _wrap(array)


def _holds_tensor(data: list | tuple) -> bool:
    return any(
        isinstance(x, Tensor) or (isinstance(x, (list, tuple)) and _holds_tensor(x)) for x in data
    )


def _from_scalar_tensors(data: list | tuple, dtype) -> np.ndarray:
    """A nested list that holds tensors, read as PyTorch reads it: each tensor is one number
    (it must have one element, whatever its shape), and without ``dtype`` the tensors' dtypes
    promote with the numbers' (int64 for an int, the default float for a float)."""
    dtypes = []

    def numbers(item):
        if isinstance(item, (list, tuple)):
            return [numbers(x) for x in item]
        if isinstance(item, Tensor):
            if item.array.size != 1:
                raise ShapeError(
                    f"only one element tensors can be converted to Python scalars, got a tensor "
                    f"of shape {item.array.shape} in the list (as PyTorch); use cr.stack(...)"
                )
            dtypes.append(item.array.dtype)
            return item.array.reshape(()).item()
        dtypes.append(_number_dtype(item))
        return item

    values = numbers(data)
    if dtype is None:
        dtype = _dtype.result_type_of(*(np.empty(0, d) for d in dtypes))
    return _dtype.as_array(values, dtype)


def _number_dtype(value) -> np.dtype:
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, int):
        return _dtype.int64
    if isinstance(value, float):
        return _dtype.get_default_dtype()
    return np.asarray(value).dtype


def _shape(shape, size=None, name: str = "zeros") -> tuple:
    """The shape given as ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``, as PyTorch takes it."""
    if size is not None:
        if shape:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        shape = (size,)
    elif not shape:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float_dtype(dtype) -> np.dtype:
    return _dtype.resolve_dtype(dtype) or _dtype.get_default_dtype()


def zeros(*shape, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return _wrap(np.zeros(_shape(shape, size, "zeros"), _float_dtype(dtype)), requires_grad)


def ones(*shape, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return _wrap(np.ones(_shape(shape, size, "ones"), _float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (PyTorch's argument names, so
    ``full(size=(3,), fill_value=7)`` works).

    As in PyTorch, the dtype follows the value when ``dtype`` is not given: a float gives
    float32, an int int64, a bool bool.
    """
    check_device(device)
    shape = (size,) if isinstance(size, int) else tuple(size)
    dtype = _fill_dtype(fill_value, dtype)
    fill_value = _dtype.checked_scalar(fill_value, np.dtype(dtype))  # 300.0 in uint8 raises
    return _wrap(np.full(shape, fill_value, dtype), requires_grad)


def zeros_like(  # noqa: A002 - PyTorch's name
    input, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    check_device(device)
    array = np.asarray(input)
    return _wrap(np.zeros(array.shape, _dtype.resolve_dtype(dtype) or array.dtype), requires_grad)


def ones_like(  # noqa: A002 - PyTorch's name
    input, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    check_device(device)
    array = np.asarray(input)
    return _wrap(np.ones(array.shape, _dtype.resolve_dtype(dtype) or array.dtype), requires_grad)


def empty(
    *shape,
    size=None,
    dtype=None,
    requires_grad=False,
    device=None,
    layout=None,
    pin_memory=False,
    memory_format=None,
) -> Tensor:
    """``torch.empty``: a tensor of ``shape``; here its values are zeros (PyTorch leaves them
    unset, so code must not read them before writing)."""
    shape = _shape(shape, size, "empty")
    return zeros(shape, dtype=dtype, requires_grad=requires_grad, device=device)


def empty_like(  # noqa: A002 - PyTorch's name
    input, dtype=None, requires_grad=False, device=None, layout=None, memory_format=None
) -> Tensor:
    """``torch.empty_like``: ``input``'s shape and dtype, zero-filled here."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad, device=device)


def eye(
    n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    check_device(device)
    return _wrap(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start=None, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Evenly spaced values; integer arguments give an integer tensor, as in NumPy.

    With an integer ``dtype``, PyTorch's CPU kernel: the bounds and the step are truncated to
    integers first (``arange(2.5, dtype=int64)`` is ``[0, 1]``), and for the other integer
    dtypes the count is still ``⌈(end − start) / step⌉`` of the values as given.
    """
    check_device(device)
    if end is None:
        if start is None:
            raise TypeError("arange() missing 1 required positional argument: 'end'")
        start, end = 0, start  # arange(end) starts at 0
    elif start is None:
        start = 0  # arange(end=5), as PyTorch
    stop = end
    if not step:
        raise ArgumentError("arange: step must be nonzero")
    _check_step_sign(start, stop, step)
    resolved = _dtype.resolve_dtype(dtype)
    if resolved is not None and resolved.kind in "iu":
        return _wrap(integer_arange(start, stop, step, resolved), requires_grad)
    if resolved is None and not all(_is_integer(v) for v in (start, stop, step)):
        resolved = _dtype.get_default_dtype()
    if resolved is not None and resolved.kind == "f":
        return _wrap(float_arange(start, stop, step, resolved), requires_grad)
    return _wrap(_dtype.as_array(np.arange(start, stop, step), dtype), requires_grad)


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer))


def _check_step_sign(start, end, step) -> None:
    if (end - start) * step < 0:  # NumPy: empty; PyTorch: raise
        raise ShapeError(
            f"arange: upper bound and lower bound inconsistent with step sign (start "
            f"{start}, end {end}, step {step}), as PyTorch says"
        )


def randn(
    *shape,
    size=None,
    dtype=None,
    requires_grad: bool = False,
    generator: Generator | None = None,
    device=None,
):
    """Standard normal samples from the seeded generator (see :func:`chainrule.manual_seed`)."""
    check_device(device)
    dt = _float_dtype(dtype)
    _dtype.refuse_non_float(dt, "randn")
    values = get_generator(generator).standard_normal(_shape(shape, size, "randn")).astype(dt)
    return _wrap(values, requires_grad)


def rand(
    *shape,
    size=None,
    dtype=None,
    requires_grad: bool = False,
    generator: Generator | None = None,
    device=None,
):
    """Uniform samples in [0, 1) from the seeded generator."""
    check_device(device)
    dt = _float_dtype(dtype)
    _dtype.refuse_non_float(dt, "rand")
    values = get_generator(generator).random(_shape(shape, size, "rand")).astype(dt)
    return _wrap(values, requires_grad)


# ---- PyTorch's other creation functions -------------------------------------------------------
def _fill_dtype(value, dtype) -> np.dtype:
    if dtype is not None:
        return _dtype.resolve_dtype(dtype)
    if isinstance(value, (bool, np.bool_)):
        return _dtype.bool_
    if isinstance(value, (int, np.integer)):
        return _dtype.int64
    return _dtype.get_default_dtype()


def _like(other) -> np.ndarray:
    return other.array if isinstance(other, Tensor) else np.asarray(other)


def full_like(  # noqa: A002 - PyTorch's name
    input, fill_value, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """A tensor shaped like ``input`` filled with ``fill_value`` (``input``'s dtype by default).

    Example:
        >>> import chainrule as cr
        >>> cr.full_like(cr.zeros(2), 7.0).tolist()
        [7.0, 7.0]
    """
    check_device(device)
    array = _like(input)
    dt = _dtype.resolve_dtype(dtype) or array.dtype
    fill_value = _dtype.checked_scalar(fill_value, dt)  # uint8: -1 is 255; 300 raises
    return _wrap(np.full(array.shape, fill_value, dt), requires_grad)


def rand_like(  # noqa: A002 - PyTorch's name
    input, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """Uniform samples in [0, 1) shaped like ``input`` (a float dtype)."""
    array = _like(input)
    return rand(
        *array.shape, dtype=dtype or array.dtype, requires_grad=requires_grad, device=device
    )


def randn_like(  # noqa: A002 - PyTorch's name
    input, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """Standard normal samples shaped like ``input`` (a float dtype)."""
    array = _like(input)
    dt = dtype or array.dtype
    return randn(*array.shape, dtype=dt, requires_grad=requires_grad, device=device)


def linspace(
    start, end, steps: int, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included, with PyTorch's
    bits: the first half counted up from ``start``, the rest down from ``end``.

    Example:
        >>> import chainrule as cr
        >>> cr.linspace(0, 1, 5).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    check_device(device)
    dtype = _float_dtype(dtype)
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    return _wrap(torch_linspace(start, end, steps, dtype), requires_grad)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    dtype=None,
    requires_grad: bool = False,
    device=None,
) -> Tensor:
    """``steps`` values from ``base**start`` to ``base**end``, evenly spaced in the exponent,
    with PyTorch's bits (an integer dtype truncates the bounds first, as PyTorch's)."""
    check_device(device)
    steps = int(steps)
    if steps < 0:
        raise ArgumentError(f"logspace: number of steps must be non-negative, got {steps}")
    values = torch_logspace(start, end, steps, float(base), _float_dtype(dtype))
    return _wrap(values, requires_grad)


def randint(low, high=None, size=None, *, dtype=None, generator=None, device=None, **_):
    """Random integers in ``[low, high)`` (``randint(high, size)`` starts at 0), int64.

    Example:
        >>> import chainrule as cr
        >>> cr.randint(0, 10, (3,)).shape
        (3,)
    """
    check_device(device)
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() needs a size, e.g. randint(0, 10, (3,))")
    size = (size,) if isinstance(size, int) else tuple(size)
    values = get_generator(generator).integers(int(low), int(high), size)
    return _wrap(values.astype(_dtype.resolve_dtype(dtype) or _dtype.int64))


def randperm(n: int, *, dtype=None, generator=None, device=None, **_) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    check_device(device)
    if int(n) < 0:  # NumPy permutes nothing
        raise ShapeError(f"randperm: trying to create tensor with negative dimension {n}")
    values = get_generator(generator).permutation(int(n))
    return _wrap(values.astype(_dtype.resolve_dtype(dtype) or _dtype.int64))


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator=None,
    dtype=None,
    requires_grad=False,
    device=None,
    **_,
) -> Tensor:
    """Normal samples: ``normal(mean, std, size)`` with numbers, or elementwise with tensors.

    With tensor ``mean`` and/or ``std`` the output has their broadcast shape, one sample per
    element, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.normal(0, 0.01, size=(2, 3)).shape
        (2, 3)
    """
    check_device(device)
    m, s = _like(mean), _like(std)
    if size is not None:
        size = (size,) if isinstance(size, int) else tuple(size)
    else:
        size = np.broadcast_shapes(m.shape, s.shape)
    if np.any(s < 0):
        raise ValueError(f"normal() needs std >= 0, got {std}")
    kinds = [a.dtype for a in (m, s) if a.dtype.kind == "f" and a.ndim > 0]
    dt = _dtype.resolve_dtype(dtype) or (kinds[0] if kinds else _dtype.get_default_dtype())
    values = get_generator(generator).standard_normal(size) * s + m
    return _wrap(values.astype(dt), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array, keeping its dtype (as ``torch.from_numpy``).

    Example:
        >>> import numpy as np, chainrule as cr
        >>> a = np.zeros(2); t = cr.from_numpy(a); a[0] = 5; t.tolist(), t.dtype
        ([5.0, 0.0], dtype('float64'))
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy() expects a NumPy array, got {type(array).__name__}")
    _dtype.check_kind(array.dtype, "from_numpy()")
    return _wrap(array)


def numel(t) -> int:
    """The number of elements of a tensor (or array)."""
    return int(_like(t).size)
