"""``cr.evaluate(model, (X, y, w))`` and ``evaluate(..., sample_weight=w)``: fit takes both
and ``validation_data=(X, y, w)`` is scored weighted, but evaluate refused the triple with a
message that named ``fit``, and had no ``sample_weight``."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def _setup():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(np.float64)
    w = rng.uniform(0, 3, size=50)
    cr.manual_seed(0)
    return nn.Linear(3, 1).double(), X, y, w


def _torch_weighted(model, X, y, w):
    out = torch.tensor(cr.predict(model, X)[:, 0])
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        out, torch.tensor(y), reduction="none"
    )
    w = torch.tensor(w)
    accuracy = float((((out > 0).double() == torch.tensor(y)).double() * w).sum() / w.sum())
    return float((losses * w).sum() / w.sum()), accuracy


def test_a_triple_and_sample_weight_score_the_weighted_loss_and_accuracy():
    model, X, y, w = _setup()
    loss, accuracy = _torch_weighted(model, X, y, w)
    for got in (
        cr.evaluate(model, (X, y, w), nn.BCEWithLogitsLoss()),
        cr.evaluate(model, (X, y), nn.BCEWithLogitsLoss(), sample_weight=w),
    ):
        assert got["loss"] == pytest.approx(loss, rel=1e-12)
        assert got["accuracy"] == pytest.approx(accuracy, rel=1e-12)


def test_weights_given_twice_or_bad_are_refused_naming_evaluate():
    model, X, y, w = _setup()
    with pytest.raises(ValueError, match="evaluate: data .* already holds"):
        cr.evaluate(model, (X, y, w), nn.BCEWithLogitsLoss(), sample_weight=w)
    with pytest.raises(ValueError, match="evaluate: sample_weight is negative"):
        cr.evaluate(model, (X, y), nn.BCEWithLogitsLoss(), sample_weight=-w)
    with pytest.raises(TypeError, match="^evaluate: data must be a pair"):
        cr.evaluate(model, (X, y, w, w), nn.BCEWithLogitsLoss())
