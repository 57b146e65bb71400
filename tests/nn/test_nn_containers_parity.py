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
