"""cr.load's second argument is torch.load's map_location: a model passed there (as if cr.load
filled it) is refused with the ways to load weights into a model, instead of being ignored."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_a_model_as_map_location_is_refused_with_the_alternatives(tmp_path):
    saved = nn.Sequential(nn.Linear(2, 3))
    path = tmp_path / "m.safetensors"
    cr.save(saved, path)
    target = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(TypeError, match="load_state_dict") as err:
        cr.load(path, target)
    assert "load_checkpoint" in str(err.value)
    target.load_state_dict(cr.load(path).state_dict())  # the way the message gives
    np.testing.assert_array_equal(
        target[0].weight.detach().numpy(), saved[0].weight.detach().numpy()
    )
    assert isinstance(cr.load(path, "cpu"), nn.Sequential)
