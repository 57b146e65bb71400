"""Module methods against PyTorch: state_dict's prefix, keep_vars and destination,
train()'s check, the dtype methods chainrule lacks. Each test runs the same program in both
libraries."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ArgumentTypeError

torch = pytest.importorskip("torch")


def _net(lib):
    class Leaf(lib.nn.Module):
        def __init__(self, k):
            super().__init__()
            self.w = lib.nn.Parameter(lib.tensor([[k, 2 * k]]))
            self.register_buffer("rm", lib.tensor([k]))
            self.register_buffer("scratch", lib.tensor([3.0]), persistent=False)

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Leaf(1.0)
            self.b = Leaf(2.0)
            self.shared = self.a

    return Net()


def _summary(state):
    return [(name, np.asarray(value.tolist()).tolist()) for name, value in state.items()]


@pytest.mark.parametrize("prefix", ["", "model.", "x"])
def test_state_dict_prefix_as_torch(prefix):
    assert _summary(_net(cr).state_dict(prefix=prefix)) == _summary(
        _net(torch).state_dict(prefix=prefix)
    )


def test_state_dict_keep_vars_gives_the_tensors_themselves_as_torch():
    for lib in (cr, torch):
        net = _net(lib)
        state = net.state_dict(keep_vars=True)
        assert state["a.w"] is net.a.w and state["shared.w"] is net.a.w
        assert state["b.rm"] is net.b.rm
        assert isinstance(state["a.w"], lib.nn.Parameter)
    assert list(_net(cr).state_dict(keep_vars=True)) == list(_net(torch).state_dict())


def test_state_dict_destination_and_positional_form_as_torch():
    def program(lib):
        filled = _net(lib).state_dict(destination=OrderedDict(first=lib.zeros(1)), prefix="m.")
        with pytest.warns(FutureWarning):
            positional = _net(lib).state_dict(None, "p.")
        return _summary(filled), _summary(positional)

    assert program(cr) == program(torch)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_state_dict_entries_share_the_parameters_memory_as_torch(lib):
    # PyTorch's entries are detached tensors on the parameters' storage: a write into one
    # changes the model (an EMA's update), and a state kept without a copy follows training
    net = _net(lib)
    state = net.state_dict()
    state["a.w"][...] = 0
    assert net.a.w.tolist() == [[0.0, 0.0]]
    with lib.no_grad():
        net.a.w += 1
    assert state["a.w"].tolist() == [[1.0, 1.0]]
    snapshot = copy.deepcopy(net.state_dict())
    with lib.no_grad():
        net.a.w += 1
    assert snapshot["a.w"].tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("mode", [1, None, "yes"])
def test_train_refuses_a_non_bool_as_torch(mode):
    with pytest.raises(ValueError, match="expected to be boolean"):
        torch.nn.Linear(1, 1).train(mode)
    with pytest.raises(ValueError, match="expected to be boolean"):
        cr.nn.Linear(1, 1).train(mode)
    with pytest.raises(ArgumentTypeError):  # a TypeError too, as chainrule's was
        cr.nn.Linear(1, 1).train(mode)


@pytest.mark.parametrize("name", ["half", "bfloat16", "type"])
def test_dtype_methods_chainrule_lacks_name_the_nearest(name):
    assert callable(getattr(torch.nn.Linear(1, 1), name))
    model = cr.nn.Linear(1, 1)
    with pytest.raises(cr.NotSupportedError, match=f"Module.{name} is not supported.*nearest"):
        getattr(model, name)()
    assert not hasattr(model, name)


@pytest.mark.parametrize("flag", [1, 0, None, "False", np.True_])
def test_requires_grad_needs_a_bool_as_torch(flag):
    # "False" is truthy: taking it would leave the model trainable
    for lib in (torch, cr):
        model = lib.nn.Linear(1, 1)
        with pytest.raises(TypeError, match="must be bool"):
            model.requires_grad_(flag)
        with pytest.raises(TypeError, match="must be bool"):
            lib.ones(1).requires_grad_(flag)
        with pytest.raises(RuntimeError, match="requires_grad must be a bool"):
            lib.ones(1).requires_grad = flag
        assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("flag", [1, 0, "False"])
@pytest.mark.parametrize(
    "make",
    [
        lambda lib, flag: lib.nn.Parameter(lib.ones(1), requires_grad=flag),
        lambda lib, flag: lib.tensor([1.0], requires_grad=flag),
        lambda lib, flag: lib.ones(2, requires_grad=flag),
        lambda lib, flag: lib.randn(2, requires_grad=flag),
    ],
)
def test_made_with_a_non_bool_requires_grad_raises_as_torch(make, flag):
    with pytest.raises(TypeError):
        make(torch, flag)
    with pytest.raises(TypeError, match="must be bool"):
        make(cr, flag)


def _blocks(lib):
    model = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.Sequential(lib.nn.ReLU()))
    model.register_buffer("scale", lib.ones(1))
    return model


@pytest.mark.parametrize(
    ("target", "strict"),
    [("0", False), ("1.0", True), ("1.5", False), ("new", False)],
)
def test_set_submodule_as_torch(target, strict):
    def program(lib):
        model = _blocks(lib)
        model.set_submodule(target, lib.nn.Tanh(), strict=strict)
        return [(name, type(m).__name__) for name, m in model.named_modules()]

    assert program(cr) == program(torch)


@pytest.mark.parametrize(
    ("target", "module", "strict", "error"),
    [
        ("", "Tanh", False, ValueError),
        ("0", None, False, ValueError),
        ("1.5", "Tanh", True, AttributeError),
        ("9.0", "Tanh", False, AttributeError),
        ("scale", "Tanh", False, AttributeError),
        ("0.weight", "Tanh", False, AttributeError),
    ],
)
def test_set_submodule_errors_as_torch(target, module, strict, error):
    for lib in (torch, cr):
        model = _blocks(lib)
        layer = getattr(lib.nn, module)() if module else 3
        with pytest.raises(error):
            model.set_submodule(target, layer, strict=strict)


def test_cuda_names_the_nearest():
    with pytest.raises(cr.NotSupportedError, match="Module.cuda is not supported.*CPU"):
        cr.nn.Linear(1, 1).cuda()
