"""explain takes the targets that trained the model: ``(N,)`` for a one-output model, as
``cr.fit`` does."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize("loss_fn", [nn.BCEWithLogitsLoss(), nn.MSELoss()])
def test_targets_without_their_output_axis_explain_as_with_it(loss_fn):
    # before: ShapeError "got input of shape (1, 1) and target of shape (1,)" for the y that
    # cr.fit had just trained on
    X, y = cr.datasets.moons(n=8, noise=0.2, seed=0)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    flat = cr.explain(model, X[:2], y[:2], loss_fn, param="0.weight[1, 0]")
    column = cr.explain(model, X[:2], y[:2].reshape(-1, 1), loss_fn, param="0.weight[1, 0]")
    assert str(flat) == str(column)
    assert flat.json() == column.json()
    # a target that fits no output stays an error
    with pytest.raises(cr.ShapeError):
        cr.explain(model, X[:2], np.zeros(3), loss_fn)


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), nn.functional.cross_entropy])
def test_one_sample_and_its_label_sliced_from_the_dataset(loss_fn):
    # explain(model, X[0], y[:1]) gave the class index the shape (1, 1): ShapeError naming a
    # target shape the user never passed; y[0] worked
    X, y = cr.datasets.blobs(n=12, centers=3, seed=0)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 3))
    sliced = cr.explain(model, X[0], y[:1], loss_fn, param="2.bias[1]")
    scalar = cr.explain(model, X[0], y[0], loss_fn, param="2.bias[1]")
    assert sliced.data["loss"]["value"] == scalar.data["loss"]["value"]
    assert sliced.data["chains"][0]["total"] == scalar.data["chains"][0]["total"]
