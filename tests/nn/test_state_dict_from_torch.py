"""Loading the state dicts PyTorch users have: bfloat16 weights, wrapped models' prefixes and
checkpoints that nest the weights; the errors say what to do."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def pair():
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    return theirs, nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def test_bfloat16_weights_load_exactly():
    theirs, ours = pair()
    state = {
        k: v.bfloat16() if v.is_floating_point() else v for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(state)  # NumPy has no bfloat16: this raised torch's TypeError
    expected = state["0.weight"].float().numpy()
    assert ours[0].weight.dtype == np.float32
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(), expected)


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod."])
def test_a_wrappers_prefix_is_named_with_the_fix(prefix):
    theirs, ours = pair()
    state = {prefix + k: v for k, v in theirs.state_dict().items()}
    with pytest.raises(cr.ModelFormatError, match=f"Every key starts with '{prefix}'") as err:
        ours.load_state_dict(state)
    assert f"k.removeprefix('{prefix}')" in str(err.value)
    ours.load_state_dict({k.removeprefix(prefix): v for k, v in state.items()})  # as it says


def test_a_nested_checkpoint_is_named_with_the_fix():
    theirs, ours = pair()
    checkpoint = {"epoch": 3, "model": theirs.state_dict(), "optimizer": {"state": {}}}
    with pytest.raises(cr.ModelFormatError, match=r"nested under 'model'.*state\['model'\]"):
        ours.load_state_dict(checkpoint)
    ours.load_state_dict(checkpoint["model"])


def test_an_unrelated_state_dict_gets_no_hint():
    _, ours = pair()
    with pytest.raises(cr.ModelFormatError) as err:
        ours.load_state_dict({"fc.weight": np.zeros((3, 4))})
    assert "removeprefix" not in str(err.value) and "nested" not in str(err.value)
