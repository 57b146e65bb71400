"""cr.plot.conv_filters and cr.plot.feature_maps draw a CNN's kernels and activations."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

pytest.importorskip("matplotlib")


def _cnn():
    cr.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3)
    )


def test_filters_and_feature_maps_are_written(tmp_path):
    model = _cnn()
    path = cr.plot.conv_filters(model[0], tmp_path / "filters.png")
    assert path == str(tmp_path / "filters.png") and (tmp_path / "filters.png").stat().st_size
    model.train()
    fig = cr.plot.feature_maps(model, np.random.default_rng(0).random((1, 8, 8)))
    assert len(fig.axes) == 3 * 4  # conv, relu and pool rows, four channels each
    assert model.training  # the mode is restored
    cr.plot.feature_maps(model, np.ones((1, 1, 8, 8)), tmp_path / "maps.svg")
    assert (tmp_path / "maps.svg").read_text().lstrip().startswith("<?xml")


def test_bad_inputs_are_refused():
    model = _cnn()
    with pytest.raises(ValueError, match="4-D weight"):
        cr.plot.conv_filters(model[4])
    with pytest.raises(ValueError, match="one image"):
        cr.plot.feature_maps(model, np.ones((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="image-shaped"):
        cr.plot.feature_maps(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), np.ones((1, 8, 8)))
