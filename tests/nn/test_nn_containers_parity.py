"""Containers against PyTorch: index types, insert bounds, pop, ParameterList and
ParameterDict entries. Each test runs the same program in both libraries."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _kinds(container) -> list:
    return [(key, type(m).__name__) for key, m in container._modules.items()]


def _raises_like_torch(program, error):
    """``program(lib)`` raises ``error`` in torch and in chainrule."""
    with pytest.raises(error):
        program(torch)
    with pytest.raises(error):
        program(cr)


@pytest.mark.parametrize("container", ["Sequential", "ModuleList"])
@pytest.mark.parametrize("index", ["0", 1.0])
def test_index_must_be_an_integer_as_torch(container, index):
    def build(lib):
        layers = [lib.nn.Identity(), lib.nn.ReLU()]
        if container == "Sequential":
            return lib.nn.Sequential(*layers)
        return lib.nn.ModuleList(layers)

    _raises_like_torch(lambda lib: build(lib)[index], TypeError)
    _raises_like_torch(lambda lib: build(lib).__delitem__(index), TypeError)


@pytest.mark.parametrize("index", [0, 2, 3, -1, -3])
def test_sequential_insert_in_range_as_torch(index):
    def program(lib):
        s = lib.nn.Sequential(lib.nn.Identity(), lib.nn.ReLU(), lib.nn.Tanh())
        s.insert(index, lib.nn.Sigmoid())
        return _kinds(s)

    assert program(cr) == program(torch)


@pytest.mark.parametrize("index", [4, 10, -4])
def test_sequential_insert_out_of_range_raises_as_torch(index):
    def program(lib):
        s = lib.nn.Sequential(lib.nn.Identity(), lib.nn.ReLU(), lib.nn.Tanh())
        s.insert(index, lib.nn.Sigmoid())

    _raises_like_torch(program, IndexError)


@pytest.mark.parametrize("index", [0, 1, 3])
def test_module_list_insert_as_torch(index):
    def program(lib):
        ml = lib.nn.ModuleList([lib.nn.Identity(), lib.nn.ReLU(), lib.nn.Tanh()])
        ml.insert(index, lib.nn.Sigmoid())
        return _kinds(ml)

    assert program(cr) == program(torch)


@pytest.mark.parametrize("index", [-1, 10])
def test_module_list_insert_outside_torch_range_raises(index):
    # PyTorch raises KeyError for a negative index and stores index 10 under the key "10"
    # (state_dict names "10.weight"); chainrule refuses both clearly.
    with pytest.raises(KeyError):
        torch.nn.ModuleList([torch.nn.ReLU()]).insert(-1, torch.nn.Tanh())
    ml = cr.nn.ModuleList([cr.nn.Identity(), cr.nn.ReLU(), cr.nn.Tanh()])
    with pytest.raises(IndexError, match="out of range"):
        ml.insert(index, cr.nn.Sigmoid())
    assert len(ml) == 3


def _entries(container) -> list:
    """What a user sees: each entry's Parameter-ness and values, and the parameter names."""
    values = [
        container[k]
        for k in (container.keys() if hasattr(container, "keys") else range(len(container)))
    ]
    seen = [
        None if v is None else (type(v).__name__, np.asarray(v.tolist()).tolist()) for v in values
    ]
    return seen, [name for name, _ in container.named_parameters()], repr(container)


def test_parameter_list_and_dict_keep_none_as_torch():
    def program(lib):
        pl = lib.nn.ParameterList([lib.ones(1), lib.zeros(2)])
        pl[0] = None
        pl.append(None)
        pd = lib.nn.ParameterDict({"a": lib.ones(1)})
        pd["b"] = None
        return _entries(pl), _entries(pd), len(pl), len(pd)

    assert program(cr) == program(torch)


@pytest.mark.parametrize("value", [3, 2.5, "x", [1.0, 2.0]])
def test_parameter_list_and_dict_refuse_what_torch_does_not_make_a_parameter(value):
    # PyTorch keeps such a value as a plain object (never a Parameter); wrapping it in one,
    # as chainrule did, gave a different model. Either a clear error or torch's answer.
    tl = torch.nn.ParameterList([torch.ones(1)])
    tl.append(value)
    assert not isinstance(tl[1], torch.nn.Parameter)
    assert len(list(tl.parameters())) == 1
    pl = cr.nn.ParameterList([cr.ones(1)])
    with pytest.raises(TypeError, match="ParameterList holds tensors"):
        pl.append(value)
    with pytest.raises(TypeError, match="ParameterDict holds tensors"):
        cr.nn.ParameterDict()["k"] = value
    assert len(pl) == 1


def test_parameter_list_of_one_tensor_raises_as_torch():
    _raises_like_torch(lambda lib: lib.nn.ParameterList(lib.ones(2)), TypeError)
    with pytest.raises(TypeError, match="iterable"):
        cr.nn.ParameterList(np.ones(2, np.float32))


def _seq(lib, n=3):
    return lib.nn.Sequential(*[lib.nn.ReLU() if i % 2 else lib.nn.Identity() for i in range(n)])


_SEQUENTIAL_PROGRAMS = {
    "pop": lambda lib, s: s.pop(1),
    "pop -1": lambda lib, s: s.pop(-1),
    "pop slice": lambda lib, s: s.pop(slice(0, 2)),
    "add": lambda lib, s: s + _seq(lib, 2),
    "iadd": lambda lib, s: s.__iadd__(_seq(lib, 2)),
    "mul": lambda lib, s: s * 2,
    "rmul": lambda lib, s: 3 * s,
    "imul": lambda lib, s: s.__imul__(2),
    "forward input=": lambda lib, s: s(input=lib.tensor([-1.0, 2.0])).tolist(),
}


@pytest.mark.parametrize("name", list(_SEQUENTIAL_PROGRAMS))
def test_sequential_methods_as_torch(name):
    def program(lib):
        s = _seq(lib)
        out = _SEQUENTIAL_PROGRAMS[name](lib, s)
        if isinstance(out, lib.nn.Module):
            out = (type(out).__name__, _kinds(out))
        return out, _kinds(s)

    assert program(cr) == program(torch)


def test_sequential_repeat_shares_the_layers_as_torch():
    for lib in (cr, torch):
        s = lib.nn.Sequential(lib.nn.Linear(2, 2)) * 2
        assert s[0] is s[1]
        assert len(list(s.parameters())) == 2


@pytest.mark.parametrize(
    ("program", "error"),
    [
        (lambda lib: _seq(lib) + [lib.nn.ReLU()], ValueError),
        (lambda lib: _seq(lib).__iadd__(lib.nn.ModuleList()), ValueError),
        (lambda lib: _seq(lib) * 0, ValueError),
        (lambda lib: _seq(lib) * 1.5, TypeError),
        (lambda lib: _seq(lib).__imul__(-1), ValueError),
        (lambda lib: _seq(lib).pop(5), IndexError),
        (lambda lib: lib.nn.ModuleList().pop(0), IndexError),
    ],
)
def test_sequential_operator_errors_as_torch(program, error):
    _raises_like_torch(program, error)


_MODULE_LIST_PROGRAMS = {
    "pop": lambda lib, ml: ml.pop(0),
    "pop slice": lambda lib, ml: ml.pop(slice(1, None)),
    "add": lambda lib, ml: ml + lib.nn.ModuleList([lib.nn.Tanh()]),
    "add list": lambda lib, ml: ml + [lib.nn.Tanh()],
    "iadd": lambda lib, ml: ml.__iadd__([lib.nn.Tanh()]),
}


@pytest.mark.parametrize("name", list(_MODULE_LIST_PROGRAMS))
def test_module_list_methods_as_torch(name):
    def program(lib):
        ml = lib.nn.ModuleList([lib.nn.Identity(), lib.nn.ReLU(), lib.nn.Identity()])
        out = _MODULE_LIST_PROGRAMS[name](lib, ml)
        if isinstance(out, lib.nn.Module):
            out = (type(out).__name__, _kinds(out))
        return out, _kinds(ml)

    assert program(cr) == program(torch)


def test_dir_leaves_out_numbered_entries_as_torch():
    def program(lib):
        s = lib.nn.Sequential(lib.nn.Linear(1, 1))
        pl = lib.nn.ParameterList([lib.ones(1)])
        return [name in dir(c) for c in (s, pl) for name in ("0", "append", "training")]

    assert program(cr) == program(torch)


_PARAMETER_DICT_PROGRAMS = {
    "get": lambda lib, d: d.get("a"),
    "get default": lambda lib, d: d.get("z", "fallback"),
    "setdefault new": lambda lib, d: d.setdefault("z", lib.ones(2)),
    "setdefault old": lambda lib, d: d.setdefault("a", lib.ones(2)),
    "popitem": lambda lib, d: d.popitem(),
    "clear": lambda lib, d: d.clear(),
    "copy": lambda lib, d: d.copy(),
    "fromkeys": lambda lib, d: d.fromkeys(["x", "y"]),
    "or": lambda lib, d: d | lib.nn.ParameterDict({"q": lib.ones(1)}),
    "ior": lambda lib, d: d.__ior__(lib.nn.ParameterDict({"q": lib.ones(1)})),
    "reversed": lambda lib, d: list(reversed(d)),
    "list iadd": lambda lib, d: lib.nn.ParameterList([lib.ones(1)]).__iadd__([lib.zeros(2)]),
}


def _shown(value, lib):
    if isinstance(value, lib.nn.Module):
        return type(value).__name__, _entries(value)
    if isinstance(value, tuple):
        return tuple(_shown(v, lib) for v in value)
    if hasattr(value, "tolist"):
        return type(value).__name__, value.tolist()
    return value


@pytest.mark.parametrize("name", list(_PARAMETER_DICT_PROGRAMS))
def test_parameter_dict_methods_as_torch(name):
    def program(lib):
        d = lib.nn.ParameterDict({"b": lib.nn.Parameter(lib.ones(1)), "a": lib.zeros(2)})
        out = _PARAMETER_DICT_PROGRAMS[name](lib, d)
        return _shown(out, lib), _entries(d)

    assert program(cr) == program(torch)


def test_parameter_dict_copy_holds_the_same_parameters_as_torch():
    for lib in (cr, torch):
        d = lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.zeros(2)})
        assert all(d.copy()[k] is d[k] for k in d)


def _named_seq(lib):
    return lib.nn.Sequential(OrderedDict(a=lib.nn.ReLU(), b=lib.nn.Tanh()))


def test_sequential_insert_at_the_end_keeps_given_names_as_torch():
    def program(lib):
        s = _named_seq(lib)
        s.insert(2, lib.nn.Identity())
        return _kinds(s)

    assert program(cr) == program(torch)


@pytest.mark.parametrize("index", [0, 1, -1])
def test_sequential_insert_among_given_names_raises_as_torch(index):
    _raises_like_torch(lambda lib: _named_seq(lib).insert(index, lib.nn.Identity()), KeyError)
    s = _named_seq(cr)
    with pytest.raises(KeyError, match="named 0, 1, 2"):
        s.insert(index, cr.nn.Identity())
    assert _kinds(s) == [("a", "ReLU"), ("b", "Tanh")]
