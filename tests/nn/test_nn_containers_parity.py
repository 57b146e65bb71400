"""Containers against PyTorch: index types, insert bounds, pop, ParameterList and
ParameterDict entries. Each test runs the same program in both libraries."""

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
    values = [container[k] for k in (container.keys() if hasattr(container, "keys") else
                                     range(len(container)))]
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
