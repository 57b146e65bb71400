"""load_state_dict against PyTorch: the order of unexpected keys, and a layer used twice whose
two names are given different values."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import StateDictError

torch = pytest.importorskip("torch")


def _tied(lib):
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.nn.Linear(2, 2)
            self.head = self.embed  # tied weights, as a language model's

    return Tied()


def _arrays(state, lib):
    return {k: (v.numpy() if lib is torch else np.asarray(v)) for k, v in state.items()}


def test_unexpected_keys_in_torch_order():
    def program(lib):
        model = _tied(lib)
        state = dict(model.state_dict())
        weight = state["embed.weight"]
        state.update({"embed.extra": weight, "zzz.w": weight, "head.weight.x": weight})
        return model.load_state_dict(state, strict=False)

    ours, theirs = program(cr), program(torch)
    assert ours.unexpected_keys == theirs.unexpected_keys
    assert ours.missing_keys == theirs.missing_keys == []


def test_key_under_a_none_child_is_ignored_as_torch():
    def program(lib):
        model = lib.nn.Module()
        model.register_module("gone", None)
        model.register_parameter("p", lib.nn.Parameter(lib.zeros(1)))
        return model.load_state_dict({"p": lib.ones(1), "gone.weight": lib.ones(1)})

    assert tuple(program(cr)) == tuple(program(torch)) == ([], [])


def test_editing_one_name_of_a_tied_weight_is_not_undone():
    # PyTorch's state_dict entries are views: after load_state_dict the tied weight holds the
    # new value. chainrule's are copies, so the stale second name would win; it raises.
    theirs = _tied(torch)
    state = theirs.state_dict()
    state["embed.bias"] = torch.tensor([5.0, 6.0])
    theirs.load_state_dict(state)
    assert theirs.head.bias.tolist() == [5.0, 6.0]

    ours = _tied(cr)
    state = ours.state_dict()
    before = ours.embed.bias.tolist()
    state["embed.bias"] = np.array([5.0, 6.0], np.float32)
    with pytest.raises(StateDictError, match="embed.bias and head.bias name the same tensor"):
        ours.load_state_dict(state)
    assert ours.embed.bias.tolist() == before  # nothing loaded


def test_tied_weight_from_a_torch_file_loads():
    theirs = _tied(torch)
    ours = _tied(cr)
    ours.load_state_dict(_arrays(theirs.state_dict(), torch))
    assert np.allclose(ours.head.weight.array, theirs.embed.weight.detach().numpy())
