"""PyTorch's other containers and small layers: ModuleDict, ParameterList, ParameterDict
and LazyLinear (``in_features`` found from the first input)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from chainrule.errors import ShapeError
from chainrule.nn._util import check_size, float_dtype
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


class ModuleDict(Module):
    """Named sub-modules in a dict whose parameters the parent sees (``blocks["enc"]``).

    Example:
        >>> from chainrule import nn
        >>> heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
        >>> list(heads), [n for n, _ in heads.named_parameters()][:2]
        (['a', 'b'], ['a.weight', 'a.bias'])
    """

    def __init__(self, modules: Mapping | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); call its modules by key")

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self._modules[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        self._modules.clear()


def _entry_repr(key, value, dtype_name) -> str:
    """One line of PyTorch's ParameterList/ParameterDict repr."""
    if not isinstance(value, Tensor):
        return f"  ({key}): Object of type: {type(value).__name__}"
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    size = "x".join(str(n) for n in value.shape)
    return f"  ({key}): {kind} containing: [{dtype_name(value.array.dtype)} of size {size}]"


# PyTorch's ParameterDict names the legacy tensor type, its ParameterList the dtype
_TYPE_NAMES = {
    np.dtype(np.float32): "torch.FloatTensor",
    np.dtype(np.float64): "torch.DoubleTensor",
}


def _as_parameter(value, owner: str) -> Parameter | None:
    """A ParameterList/ParameterDict entry: None stays None (PyTorch's placeholder), a tensor
    or array is wrapped in a Parameter."""
    if value is None or isinstance(value, Parameter):
        return value
    if isinstance(value, (Tensor, np.ndarray)):
        return Parameter(value)
    # PyTorch keeps other objects as plain attributes; wrapping 3 in a Parameter would differ
    raise TypeError(
        f"{owner} holds tensors (wrapped in nn.Parameter) or None, got "
        f"{type(value).__name__}; keep other values as attributes of the parent module"
    )


def _check_iterable(values, owner: str) -> None:
    if isinstance(values, (Tensor, np.ndarray)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{owner}.extend should be called with an iterable, but got "
            f"{type(values).__name__} (as in PyTorch; wrap one tensor in a list)"
        )


class ParameterList(Module):
    """A list of parameters the parent module sees, named ``0``, ``1``, ...

    Tensors and arrays put in are wrapped in :class:`Parameter`, as PyTorch does.

    Example:
        >>> import chainrule as cr
        >>> ps = cr.nn.ParameterList([cr.zeros(2), cr.ones(3)])
        >>> [n for n, _ in ps.named_parameters()], ps[1].requires_grad
        (['0', '1'], True)
    """

    def __init__(self, values: Iterable | None = None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward(); use its parameters")

    def __getitem__(self, index):
        params = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(params[index])
        if not -len(params) <= index < len(params):
            raise IndexError(f"index {index} is out of range for a ParameterList of {len(params)}")
        return params[index]

    def __setitem__(self, index: int, value) -> None:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a ParameterList of {n}")
        self.register_parameter(str(index % n), _as_parameter(value, "ParameterList"))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def append(self, value) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList"))
        return self

    def extend(self, values: Iterable) -> ParameterList:
        _check_iterable(values, "ParameterList")
        for value in values:
            self.append(value)
        return self

    __iadd__ = extend

    def extra_repr(self) -> str:
        return "\n".join(
            _entry_repr(i, p, lambda dtype: f"torch.{dtype}") for i, p in enumerate(self)
        )


class ParameterDict(Module):
    """Named parameters in a dict the parent module sees.

    Example:
        >>> import chainrule as cr
        >>> ps = cr.nn.ParameterDict({"scale": cr.ones(1)})
        >>> "scale" in ps, [n for n, _ in ps.named_parameters()]
        (True, ['scale'])
    """

    def __init__(self, parameters: Mapping | Iterable | None = None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward(); use its parameters")

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value, "ParameterDict"))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def update(self, parameters) -> None:
        """Add or replace entries; a plain ``dict`` goes in sorted by key, as in PyTorch (an
        ``OrderedDict``, a ParameterDict or pairs keep their order)."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for key, value in pairs:
            self[key] = value

    def pop(self, key: str) -> Parameter:
        value = self._parameters[key]
        del self._parameters[key]
        return value

    # PyTorch's dict methods
    def get(self, key: str, default=None):
        return self[key] if key in self else default

    def setdefault(self, key: str, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple:
        key = next(reversed(self._parameters))
        return key, self.pop(key)

    def clear(self) -> None:
        self._parameters.clear()

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same Parameter objects, in the same order."""
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys: Iterable[str], default=None) -> ParameterDict:
        return ParameterDict((key, default) for key in keys)

    def __or__(self, other) -> ParameterDict:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other) -> ParameterDict:
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other) -> ParameterDict:
        self.update(other)
        return self

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._parameters))

    def extra_repr(self) -> str:
        return "\n".join(
            _entry_repr(k, p, lambda dtype: _TYPE_NAMES.get(dtype, str(dtype)))
            for k, p in self.items()
        )


class LazyLinear(Linear):
    """A :class:`Linear` layer whose ``in_features`` is read from its first input.

    Until the first call its weight and bias are empty parameters; the first call gives them
    their shape and PyTorch's initial values, in place, so an optimizer made before that call
    updates them. Run one batch through the model before ``state_dict()`` or counting
    parameters. After that call the layer is a plain :class:`Linear`, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.LazyLinear(4)
        >>> layer(cr.ones(2, 7)).shape, layer.in_features, layer.weight.shape
        ((2, 4), 7, (4, 7))
    """

    def __init__(self, out_features: int, bias: bool = True, dtype=None, generator=None):
        Module.__init__(self)
        self.in_features = 0
        self.out_features = check_size(out_features, "out_features", "LazyLinear")
        self._dtype = float_dtype(dtype)
        self._generator = generator
        self.weight = Parameter(np.empty((0,), self._dtype))
        if bias:
            self.bias = Parameter(np.empty((0,), self._dtype))
        else:
            self.register_parameter("bias", None)

    def has_uninitialized_params(self) -> bool:
        return self.in_features == 0

    def forward(self, x):
        if self.in_features == 0:
            shape = x.shape if isinstance(x, Tensor) else np.shape(x)
            if not shape:
                raise ShapeError("LazyLinear got a 0-d input; expected (..., in_features)")
            self.in_features = int(shape[-1])
            self.weight.array = np.empty((self.out_features, self.in_features), self._dtype)
            if self.bias is not None:
                self.bias.array = np.empty((self.out_features,), self._dtype)
            self.reset_parameters(self._generator)
            # shaped now: a plain Linear from here on, as PyTorch's cls_to_become makes it, so
            # cr.save, the ONNX exporter and isinstance checks see the layer it has become
            del self._dtype, self._generator
            self.__class__ = Linear
        return Linear.forward(self, x)

    def reset_parameters(self, generator=None) -> None:
        if self.in_features:  # nothing to draw before the shape is known
            super().reset_parameters(generator)
