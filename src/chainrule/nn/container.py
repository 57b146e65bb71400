"""Containers: Sequential (a pipeline of layers) and ModuleList (a list of layers)."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from chainrule.nn import sequential_fast as _sequential_fast
from chainrule.nn.module import Module, _indent


def _index(index: int, length: int, owner: str) -> int:
    # operator.index, as PyTorch: s["0"] or s[1.0] raise TypeError (int() would accept them)
    index = operator.index(index)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {owner} of length {length}")
    return index % length


class Sequential(Module):
    """Layers applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named ``0``, ``1``, ... (or by the keys of an ``OrderedDict``), so parameters
    are named ``0.weight``, ``2.bias`` as in PyTorch.

    Args:
        *modules: the layers in order, or one ``OrderedDict`` of name → layer.

    Example:
        >>> from chainrule import nn
        >>> model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
        >>> len(model), type(model[1]).__name__, len(model[:2])
        (3, 'Tanh', 2)
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, input):  # noqa: A002 - PyTorch's name, so Sequential(...)(input=x) works
        if len(self._modules) > 1:  # Linear layers and activations as one node, where it applies
            out = _sequential_fast.run(self._modules.values(), input)
            if out is not None:
                return out
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return type(self)(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index: int, module: Module) -> None:
        key = list(self._modules)[_index(index, len(self._modules), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, index) -> None:
        keys = list(self._modules)
        doomed = (
            keys[index]
            if isinstance(index, slice)
            else [keys[_index(index, len(keys), "Sequential")]]
        )
        for key in doomed:
            del self._modules[key]
        # PyTorch renumbers what is left 0, 1, 2, ..., names given by an OrderedDict too
        modules = list(self._modules.values())
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(modules))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add a layer at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for module in modules:
            self.append(module)
        return self

    def pop(self, key: int | slice) -> Module:
        """Remove and return the layer at ``key`` (a Sequential for a slice); renumbers."""
        popped = self[key]
        del self[key]
        return popped

    def __add__(self, other: Sequential) -> Sequential:
        _check_sequential(other)
        return Sequential(*self, *other)

    def __iadd__(self, other: Sequential) -> Sequential:
        _check_sequential(other)
        offset = len(self)
        for i, module in enumerate(list(other)):
            self.add_module(str(i + offset), module)
        return self

    def __mul__(self, times: int) -> Sequential:
        """The layers repeated ``times`` times: the same layer objects, so shared weights."""
        return Sequential(*(list(self) * _check_factor(self, times)))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> Sequential:
        layers = list(self) * _check_factor(self, times)
        for i, module in enumerate(layers[len(self) :], start=len(self)):
            self.add_module(str(i), module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert a layer before position ``index`` (``-len <= index <= len``, as PyTorch);
        the layers after it move up a number."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module")
        modules = list(self._modules.values())
        index = operator.index(index)
        if not -len(modules) <= index <= len(modules):
            raise IndexError(f"Index out of range: {index} (a Sequential of length {len(modules)})")
        index = index if index >= 0 else len(modules) + index
        if index == len(modules):  # PyTorch's: the next number, the other names kept
            return self.append(module)
        if list(self._modules) != [str(i) for i in range(len(modules))]:
            # PyTorch shifts the entries "i" -> "i+1", which layers named by an OrderedDict
            # do not have (KeyError there); renaming them all would be a different model
            raise KeyError(
                f"Sequential.insert({index}, ...) needs layers named 0, 1, 2, ... (these are "
                f"named {list(self._modules)}); rebuild the Sequential with the new layer"
            )
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)
        return self


def _check_sequential(other) -> None:
    if not isinstance(other, Sequential):
        raise ValueError(
            f"add operator supports only objects of Sequential class, but {type(other)} is given."
        )


def _check_factor(sequential: Sequential, times) -> int:
    if not isinstance(times, int):
        raise TypeError(f"unsupported operand type(s) for *: {type(sequential)} and {type(times)}")
    if times <= 0:
        raise ValueError(f"Non-positive multiplication factor {times} for {type(sequential)}")
    return times


class ModuleList(Module):
    """A list of layers whose parameters the parent module sees (a plain list would hide them).

    Args:
        modules: an iterable of modules.

    Example:
        >>> from chainrule import nn
        >>> blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))
        >>> [name for name, _ in blocks.named_parameters()][:2]
        ['0.weight', '0.bias']
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleList has no forward(); loop over it in your module's forward, or use "
            "nn.Sequential for a pipeline"
        )

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)(modules[index])
        return modules[_index(index, len(modules), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_index(index, len(self), "ModuleList")), module)

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), "ModuleList")]
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def pop(self, key: int | slice) -> Module:
        """Remove and return the module at ``key`` (a ModuleList for a slice); renumbers."""
        popped = self[key]
        del self[key]
        return popped

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def insert(self, index: int, module: Module) -> None:
        """Insert before position ``0 <= index <= len``. PyTorch fails on a negative index
        (KeyError) and files a larger one under its own number, so both raise IndexError."""
        modules = list(self._modules.values())
        index = operator.index(index)
        if not 0 <= index <= len(modules):
            raise IndexError(
                f"ModuleList.insert: index {index} is out of range 0..{len(modules)} (PyTorch "
                f"takes neither a negative index nor one past the end)"
            )
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def __repr__(self) -> str:
        # PyTorch folds runs of identical layers: "(0-2): 3 x Linear(...)".
        reprs = [repr(module) for module in self]
        if not reprs:
            return f"{self._get_name()}()"
        runs = []  # [first index, last index, text]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = []
        for first, last, text in runs:
            if first == last:
                line = f"({first}): {text}"
            else:
                line = f"({first}-{last}): {last - first + 1} x {text}"
            lines.append(_indent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
