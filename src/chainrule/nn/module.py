"""Module and Parameter: the building blocks every layer and model is made of."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

import numpy as np

from chainrule import _dtype
from chainrule._device import check_device
from chainrule.autograd import grad_face
from chainrule.autograd.grad_face import GRAPH_GRADS, detach_graph_grad
from chainrule.errors import ArgumentTypeError, DTypeError
from chainrule.nn._module_args import parse_to
from chainrule.nn.module_hooks import ModuleHookMethods, unsupported_method
from chainrule.nn.module_state import ModuleStateMethods
from chainrule.tensor import Tensor

_FLOAT_DTYPES = (_dtype.float32, _dtype.float64)


class Parameter(Tensor):
    """A tensor that a Module learns: assigning one to a module attribute registers it.

    A float array or tensor keeps its dtype (float16 too, as PyTorch's; chainrule's layers
    take float32 and float64); lists and numbers become float32. An
    integer or bool array or tensor raises, as PyTorch's does, unless ``requires_grad=False``
    (then it keeps its dtype). A :class:`Tensor` passed in shares its memory, other data is
    copied.

    Args:
        data: the initial values (array, list, number or Tensor).
        requires_grad: whether the optimizer should get a gradient for it.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter([1.0, 2.0])
        >>> w.requires_grad, w.dtype
        (True, dtype('float32'))
    """

    __slots__ = ()
    _is_parameter = True

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=_dtype.float32)
        if isinstance(data, Tensor):
            array = data.array
        elif isinstance(data, (np.ndarray, np.generic)):
            array = np.array(data)
            _dtype.check_kind(array.dtype, "Parameter")
        else:  # lists and numbers: float32, as cr.tensor makes them
            array = _dtype.as_array(data).astype(_dtype.float32)
        if array.dtype.kind != "f" and requires_grad:  # PyTorch refuses; never convert silently
            raise DTypeError(
                f"Parameter: only floating-point tensors can require gradients, got dtype "
                f"{array.dtype} (as in PyTorch); convert first, e.g. x.float(), or pass "
                f"requires_grad=False"
            )
        super().__init__(array, requires_grad=requires_grad, dtype=array.dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_REGISTRIES = ("_parameters", "_buffers", "_modules")


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (for nested reprs)."""
    return text.replace("\n", "\n" + " " * spaces)


class Module(ModuleHookMethods, ModuleStateMethods):
    """Base class of every layer and model.

    Subclasses set parameters, buffers and sub-modules as attributes in ``__init__`` (after
    calling ``super().__init__()``) and compute the output in ``forward``. Calling the module
    runs ``forward``. Names are dotted paths (``layers.0.weight``), the same as PyTorch's, so
    ``state_dict()`` moves between the two libraries unchanged.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nn.Linear(2, 4)
        ...         self.out = nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).tanh())
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if self._module_hooks is None:  # the fast path: this module never had a hook
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(self._module_hooks, args, kwargs)

    # ---- registration ---------------------------------------------------------------------
    # As PyTorch's: a new value under a registered name keeps that name's place in the order,
    # assigning a Parameter or Module to a name of another kind moves it to the new registry,
    # and register_* refuses a name some other attribute already has.
    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self._forget(name, "_parameters", "parameter")
            self.register_parameter(name, value)
        elif name in self.__dict__.get("_parameters", ()):
            self._assign_registered(name, value)
        elif isinstance(value, Module):
            self._forget(name, "_modules", "module")
            self.add_module(name, value)
        elif self._is_registered(name):
            self._assign_registered(name, value)
        else:
            object.__setattr__(self, name, value)

    def _is_registered(self, name: str) -> bool:
        d = self.__dict__
        return any(name in d.get(registry, ()) for registry in _REGISTRIES)

    def _forget(self, name: str, keep: str, kind: str) -> None:
        """Drop ``name`` from the plain attributes and every registry but ``keep``."""
        self._check_init(name, kind)
        self.__dict__.pop(name, None)
        for registry in _REGISTRIES:
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent.discard(name)

    def _assign_registered(self, name: str, value) -> None:
        """Plain assignment to a name already registered as a parameter, buffer or module."""
        if name in self._buffers:
            self._buffers[name] = _as_buffer(value, name)
        elif value is None:
            (self._parameters if name in self._parameters else self._modules)[name] = None
        else:
            kind = "parameter" if name in self._parameters else "module"
            expected = "nn.Parameter" if kind == "parameter" else "nn.Module"
            raise TypeError(
                f"cannot assign {type(value).__name__} as {kind} {name!r} of "
                f"{type(self).__name__} ({expected} or None expected)"
            )

    def _check_init(self, name, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {kind} {name!r} before Module.__init__() ran; call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )

    def _check_name(self, name: str, kind: str, registry: str) -> None:
        """PyTorch's checks, with its error types: a non-empty str without '.', and no other
        attribute (a method, a plain value, an entry of another registry) of that name."""
        self._check_init(name, kind)
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if not name:
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if name not in self.__dict__[registry] and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a placeholder such as a disabled bias).

        A parameter already registered under ``name`` is replaced in its place.

        Raises:
            KeyError: the name is empty, has a '.', or is another attribute's.
        """
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} as parameter {name!r} (nn.Parameter or "
                f"None expected); wrap it: nn.Parameter(value)"
            )
        self._check_name(name, "parameter", "_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add state that is saved with the model but not learned (e.g. BatchNorm's running mean).

        Args:
            name: attribute name.
            tensor: a Tensor or array (or ``None``).
            persistent: include it in ``state_dict()``.

        Raises:
            KeyError: the name is empty, has a '.', or is another attribute's.
        """
        self._check_name(name, "buffer", "_buffers")
        self._buffers[name] = _as_buffer(tensor, name)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a sub-module under ``name`` (what attribute assignment does); a module already
        registered under ``name`` is replaced in its place."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module")
        self._check_name(name, "module", "_modules")
        self._modules[name] = module

    register_module = add_module

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: registered entries live in the three dicts.
        d = self.__dict__
        for registry in _REGISTRIES:
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise unsupported_method(name) or AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):  # as PyTorch's: without names no attribute can have ("0", "1weight")
        keys = {*super().__dir__(), *self._parameters, *self._buffers, *self._modules}
        return sorted(key for key in keys if not key[0].isdigit())

    # ---- walking the tree -----------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator:
        """Every module in the tree (this one first) with its dotted name.

        A module reached twice (the same layer used at two places) is listed once, under its
        first name; ``remove_duplicate=False`` lists it under every name, as state_dict does.
        ``memo`` (PyTorch's argument) holds modules to leave out; it is filled as we go.
        """
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in memo:
                    continue
                memo.add(module)
            yield name, module
            children = [
                (f"{name}.{key}" if name else key, child)
                for key, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator:
        seen = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_name, module in modules:
            for key, value in getattr(module, registry).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (f"{module_name}.{key}" if module_name else key), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator:
        """``(dotted name, Parameter)`` pairs; a parameter shared by two layers appears once
        (under every name with ``remove_duplicate=False``)."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every learnable parameter, for an optimizer: ``SGD(model.parameters(), lr=0.1)``."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many numbers the model learns (shared parameters counted once)."""
        return sum(p.array.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path, e.g. ``model.get_submodule("encoder.0")``.

        Raises:
            AttributeError: a part of the path is missing or not a module (PyTorch's messages).
        """
        if target == "":
            return self
        module = self
        for part in target.split("."):
            if not hasattr(module, part):
                raise AttributeError(f"{module._get_name()} has no attribute `{part}`")
            module = getattr(module, part)
            if not isinstance(module, Module):
                raise AttributeError(f"`{part}` is not an nn.Module")
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at a dotted path, e.g. ``model.set_submodule("encoder.0", layer)``,
        replacing the module there (or adding it; ``strict=True`` requires one there).

        Raises:
            ValueError: an empty path or a ``module`` that is not a Module (PyTorch's).
            AttributeError: the parent path is missing, ``strict`` and nothing is there, or
                the name holds something other than a module.
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def _owner_of(self, target: str) -> tuple:
        """``(module, name)`` for a dotted path ``"encoder.0.weight"``, the name checked."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        return module, name

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path, e.g. ``model.get_parameter("encoder.0.weight")``.

        Raises:
            AttributeError: the path is missing or does not end at a parameter.
        """
        module, name = self._owner_of(target)
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path, e.g. ``model.get_buffer("norm.running_mean")``.

        Raises:
            AttributeError: the path is missing or does not end at a buffer.
        """
        module, name = self._owner_of(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every sub-module, then on this one (e.g. custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and dtypes -----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch training behaviour on (Dropout drops, BatchNorm uses batch statistics)."""
        if not isinstance(mode, bool):
            raise ArgumentTypeError(
                f"training mode is expected to be boolean: train() got {type(mode).__name__}"
            )
        object.__setattr__(self, "training", mode)
        # each child's own train(), as PyTorch calls it: a subclass may override it (say, to
        # keep a BatchNorm in eval mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation behaviour; same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, or zeros with ``set_to_none=False``)."""
        for param in self.parameters():
            if set_to_none:
                param.grad_array = param._grad_face = None  # (a .grad in the graph goes too)
            elif param.grad_array is not None:
                param.grad_array[...] = 0
                if GRAPH_GRADS[0]:
                    detach_graph_grad(param)

    def to(self, *args, **kwargs) -> Module:
        """Convert floating-point parameters and buffers to a dtype, in place; returns self.

        PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``
        (its dtype), and ``device=``, ``dtype=``, ``non_blocking=`` by keyword. The device must
        be the CPU (chainrule computes there); another raises ``NotImplementedError``.

        Raises:
            DTypeError: a dtype other than float32 or float64.
        """
        device, dtype = parse_to(args, kwargs)
        check_device(device)
        if dtype is None:
            return self
        resolved = _dtype.resolve_dtype(dtype)
        if resolved not in _FLOAT_DTYPES:
            raise DTypeError(
                f"Module.to() supports float32 and float64, got {dtype!r}; nn.Module.to only "
                f"converts floating-point parameters and buffers"
            )
        for _, tensor in self._all_tensors():
            if tensor.array.dtype.kind == "f" and tensor.array.dtype != resolved:
                tensor.array = tensor.array.astype(resolved)
                if tensor.grad_array is not None:
                    grad_face.convert(tensor, tensor.grad_array.astype(resolved))
        return self

    def cpu(self) -> Module:
        """Returns self: chainrule's parameters are always on the CPU."""
        return self

    def float(self) -> Module:
        return self.to(_dtype.float32)

    def double(self) -> Module:
        return self.to(_dtype.float64)

    def _all_tensors(self) -> Iterator:
        yield from self._named_members("_parameters", "", True)
        yield from self._named_members("_buffers", "", True)

    # ---- printing -------------------------------------------------------------------------
    def summary(self, input_size=None, *, example_input=None, print_fn=print):
        """Print Keras's table of layers, output shapes and parameter counts.

        ``input_size`` is the shape of one sample (``(4,)``; or ``example_input=`` a batch);
        without either, output shapes show as ``?``. See :func:`chainrule.nn.summary.summary`,
        which returns the numbers instead of printing them.
        """
        from chainrule.nn.summary import summary

        print_fn(str(summary(self, input_size, example_input=example_input)))

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (e.g. layer sizes)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): {_indent(repr(module), 2)}" for key, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        if not lines:
            return f"{self._get_name()}()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


def _as_buffer(value, name: str):
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._make(value, False)
    raise TypeError(
        f"buffer {name!r} must be a Tensor, an array or None, got {type(value).__name__}"
    )
