"""Registration against PyTorch: a replaced entry keeps its place, names are checked with
PyTorch's errors, and Sequential renumbers after a deletion."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def _kinds(container) -> list[str]:
    return [type(m).__name__ for m in container]


def _both(build):
    """``build(lib)`` run with chainrule and with torch."""
    return build(cr), build(torch)


def test_sequential_setitem_keeps_the_position():
    def build(lib):
        s = lib.nn.Sequential(lib.nn.Identity(), lib.nn.ReLU(), lib.nn.Tanh())
        s[0] = lib.nn.Sigmoid()
        s[-1] = lib.nn.ELU()
        return s

    ours, theirs = _both(build)
    assert _kinds(ours) == _kinds(theirs) == ["Sigmoid", "ReLU", "ELU"]
    assert list(ours._modules) == list(theirs._modules)
    x = np.array([[-1.0, 0.5]], np.float32)
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-6)


def test_module_list_module_dict_and_parameter_containers_keep_the_position():
    def build(lib):
        nn_ = lib.nn
        ml = nn_.ModuleList([nn_.Identity(), nn_.ReLU(), nn_.Tanh()])
        ml[1] = nn_.Sigmoid()
        md = nn_.ModuleDict({"a": nn_.ReLU(), "b": nn_.Tanh()})
        md["a"] = nn_.ELU()
        md.update({"b": nn_.Sigmoid(), "c": nn_.ReLU()})
        pl = nn_.ParameterList([nn_.Parameter(lib.zeros(1)), nn_.Parameter(lib.zeros(2))])
        pl[0] = nn_.Parameter(lib.zeros(3))
        pd = nn_.ParameterDict(OrderedDict(a=nn_.Parameter(lib.zeros(1)), b=lib.zeros(2)))
        pd["a"] = nn_.Parameter(lib.zeros(4))
        return ml, md, pl, pd

    (ml, md, pl, pd), (tml, tmd, tpl, tpd) = _both(build)
    assert _kinds(ml) == _kinds(tml) == ["Identity", "Sigmoid", "Tanh"]
    assert [(k, type(m).__name__) for k, m in md.items()] == [
        (k, type(m).__name__) for k, m in tmd.items()
    ]
    assert [(n, tuple(p.shape)) for n, p in pl.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in tpl.named_parameters()
    ]
    assert [(n, tuple(p.shape)) for n, p in pd.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in tpd.named_parameters()
    ]


def test_attribute_reassignment_keeps_the_order_of_parameters_and_state_dict():
    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = lib.nn.Linear(2, 3)
                self.head = lib.nn.Linear(3, 1)
                self.scale = lib.nn.Parameter(lib.ones(1))
                self.shift = lib.nn.Parameter(lib.zeros(1))
                self.register_buffer("count", lib.zeros(1))
                self.register_buffer("total", lib.zeros(1))

        net = Net()
        net.backbone = lib.nn.Linear(2, 3, bias=False)
        net.scale = lib.nn.Parameter(lib.ones(1))
        net.register_parameter("shift", lib.nn.Parameter(lib.zeros(1)))
        net.add_module("head", lib.nn.Linear(3, 1))
        net.register_buffer("count", lib.zeros(1), persistent=False)
        net.register_buffer("count", lib.zeros(1))
        return net

    ours, theirs = _both(build)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_children()] == ["backbone", "head"]


def test_assigning_a_value_of_another_kind_moves_it_as_pytorch_does():
    def build(lib):
        m = lib.nn.Module()
        m.a = lib.nn.ReLU()
        m.b = lib.nn.ReLU()
        m.register_buffer("c", lib.zeros(1))
        m.register_buffer("d", lib.zeros(1))
        m.a = lib.nn.Parameter(lib.zeros(1))  # module -> parameter
        m.c = lib.nn.Tanh()  # buffer -> module (at the end)
        return list(m._parameters), list(m._modules), list(m._buffers)

    ours, theirs = _both(build)
    assert ours == theirs == (["a"], ["b", "c"], ["d"])
    with pytest.raises(TypeError, match="parameter 'weight'"):
        nn.Linear(2, 2).weight = nn.ReLU()
    with pytest.raises(TypeError):
        tnn.Linear(2, 2).weight = tnn.ReLU()


def _registrations(lib):
    def param():
        return lib.nn.Parameter(lib.zeros(1))

    return [
        lambda m: m.register_buffer("foo", lib.zeros(1)),  # a plain attribute
        lambda m: m.register_parameter("foo", param()),
        lambda m: m.add_module("foo", lib.nn.ReLU()),
        lambda m: m.register_buffer("train", None),  # a method
        lambda m: m.register_parameter("train", None),
        lambda m: m.add_module("train", None),
        lambda m: m.register_buffer("p", None),  # a parameter
        lambda m: m.add_module("p", None),
        lambda m: m.register_parameter("b", None),  # a buffer
        lambda m: m.add_module("b", None),
        lambda m: m.register_parameter("c", None),  # a module
        lambda m: m.register_buffer("c", None),
        lambda m: m.register_buffer("a.b", None),
        lambda m: m.register_parameter("a.b", None),
        lambda m: m.add_module("a.b", None),
        lambda m: m.register_buffer("", None),
        lambda m: m.register_parameter("", None),
        lambda m: m.add_module("", None),
        lambda m: m.register_buffer(3, None),
        lambda m: m.register_parameter(3, None),
        lambda m: m.add_module(3, None),
    ]


def _fresh(lib):
    m = lib.nn.Module()
    m.foo = 3
    m.register_parameter("p", None)
    m.register_buffer("b", None)
    m.add_module("c", None)
    return m


@pytest.mark.parametrize("case", range(len(_registrations(cr))))
def test_name_checks_raise_pytorchs_errors(case):
    ours, theirs = _fresh(cr), _fresh(torch)
    with pytest.raises(Exception) as expected:
        _registrations(torch)[case](theirs)
    with pytest.raises(type(expected.value)) as got:
        _registrations(cr)[case](ours)
    assert got.value.args[0].startswith(expected.value.args[0])  # ours may name the name
    assert ours.foo == 3


def test_dict_keys_that_name_methods_are_refused_as_in_pytorch():
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        nn.ParameterDict({"keys": cr.zeros(1)})
    with pytest.raises(KeyError, match="attribute 'update' already exists"):
        nn.ModuleDict({"update": nn.ReLU()})


@pytest.mark.parametrize(
    "index", [0, -1, 1, slice(1, 3), slice(None, None, 2), slice(-3, -1), slice(5, 9)]
)
def test_deleting_from_a_named_sequential_renumbers_as_pytorch(index):
    def build(lib):
        layers = [lib.nn.ReLU(), lib.nn.Tanh(), lib.nn.Sigmoid(), lib.nn.ELU()]
        s = lib.nn.Sequential(OrderedDict(zip("abcd", layers)))
        del s[index]
        return s

    ours, theirs = _both(build)
    assert list(ours._modules) == list(theirs._modules)
    assert _kinds(ours) == _kinds(theirs)
    assert repr(ours) == repr(theirs)


def test_slicing_a_named_sequential_keeps_the_names():
    def build(lib):
        return lib.nn.Sequential(OrderedDict(a=lib.nn.ReLU(), b=lib.nn.Tanh(), c=lib.nn.ELU()))

    ours, theirs = _both(build)
    assert list(ours[1:]._modules) == list(theirs[1:]._modules) == ["b", "c"]


def test_parameter_dict_from_a_plain_dict_is_sorted_as_in_pytorch():
    def build(lib):
        pd = lib.nn.ParameterDict({"y": lib.zeros(1), "s": lib.zeros(2)})
        pd.update(OrderedDict(b=lib.zeros(1), a=lib.zeros(1)))
        pd.update([("z", lib.zeros(1)), ("c", lib.zeros(1))])
        return list(pd.keys())

    ours, theirs = _both(build)
    assert ours == theirs == ["s", "y", "b", "a", "z", "c"]
