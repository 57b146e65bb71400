"""Each rule at its threshold: just past it a finding, just short of it none."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.diagnose import findings as F
from chainrule.diagnose.run_view import RunView, median


def record(**parts):
    rec = {
        "params": ["0.weight", "2.weight"],
        "shapes": {"0.weight": [4, 4], "2.weight": [4, 4]},
        "grad_norm": {"0.weight": [1.0] * 8, "2.weight": [1.0] * 8},
        "update_ratio": {"0.weight": [1e-3] * 8, "2.weight": [1e-3] * 8},
        "batch_loss": list(np.linspace(1.0, 0.2, 60)),
        "epochs": {"loss": list(np.linspace(0.9, 0.2, 6))},
        "activations": {},
        "sample": {"x": None, "y": None},
    }
    rec.update(parts)
    return RunView(rec)


def test_a_healthy_record_trips_no_rule():
    run = record()
    assert [rule(run) for rule in F.RULES] == [None] * len(F.RULES)


@pytest.mark.parametrize("factor, fires", [(1.01, True), (0.99, False)])
def test_vanishing_at_gradient_ratio(factor, fires):
    first = 1.0 / (F.GRADIENT_RATIO * factor)
    run = record(grad_norm={"0.weight": [first] * 8, "2.weight": [1.0] * 8})
    assert (F.vanishing(run) is not None) is fires


@pytest.mark.parametrize("factor, fires", [(1.01, True), (0.99, False)])
def test_exploding_at_gradient_ratio(factor, fires):
    last = 1.0 / (F.GRADIENT_RATIO * factor)
    run = record(grad_norm={"0.weight": [1.0] * 8, "2.weight": [last] * 8})
    assert (F.exploding(run) is not None) is fires


@pytest.mark.parametrize(
    "norm, fires", [(F.EXPLODING_NORM * 1.01, True), (F.EXPLODING_NORM, False)]
)
def test_exploding_at_norm(norm, fires):
    run = record(grad_norm={"0.weight": [norm] * 8, "2.weight": [norm] * 8})
    assert (F.exploding(run) is not None) is fires


@pytest.mark.parametrize("factor, fires", [(0.99, True), (1.01, False)])
def test_lr_too_low_at_ratio(factor, fires):
    ratio = F.LR_LOW_RATIO * factor
    run = record(
        update_ratio={"0.weight": [ratio] * 8, "2.weight": [ratio] * 8},
        batch_loss=[1.0] * 60,
    )
    assert (F.lr_too_low(run) is not None) is fires


def test_lr_too_high_needs_a_rising_loss_or_a_huge_ratio():
    high = {"0.weight": [0.05] * 8, "2.weight": [0.05] * 8}
    falling = record(update_ratio=high)
    assert F.lr_too_high(falling) is None
    zigzag = record(update_ratio=high, epochs={"loss": [1.0, 0.6, 0.9, 0.5, 0.9, 0.6, 0.95]})
    assert F.lr_too_high(zigzag).code == "LR_TOO_HIGH"
    huge = {"0.weight": [F.LR_HUGE_RATIO * 1.1] * 8, "2.weight": [F.LR_HUGE_RATIO * 1.1] * 8}
    assert F.lr_too_high(record(update_ratio=huge)) is not None


@pytest.mark.parametrize("end, fires", [(2.2, True), (1.9, False)])
def test_loss_rose_against_the_first_batch(end, fires):
    run = record(batch_loss=[1.0] + [end] * 59)
    assert (F.loss_rose(run) is not None) is fires


@pytest.mark.parametrize("share, fires", [(0.55, True), (0.45, False)])
def test_dead_relu_at_fraction(share, fires):
    acts = {"1": {"kind": "relu", "layer": "ReLU", "dead": [share] * 8, "saturated": []}}
    assert (F.dead_relu(record(activations=acts)) is not None) is fires


def test_overfitting_needs_val_rising_and_train_falling():
    val = [0.6, 0.5, 0.55, 0.6, 0.7, 0.8]
    assert (
        F.overfitting(record(epochs={"loss": [0.7, 0.5, 0.4, 0.3, 0.2, 0.1], "val_loss": val}))
        is not None
    )
    assert (
        F.overfitting(record(epochs={"loss": [0.7, 0.5, 0.5, 0.5, 0.5, 0.5], "val_loss": val}))
        is None
    )


@pytest.mark.parametrize("share, fires", [(0.85, True), (0.75, False)])
def test_imbalance_at_majority_share(share, fires):
    n = 200
    y = (np.arange(n) >= share * n).astype(float).reshape(-1, 1)  # class 0 is the majority
    x = np.random.default_rng(0).standard_normal((n, 2))
    run = record(
        sample={"x": x, "y": y},
        epochs={"loss": [0.5] * 6, "accuracy": [share] * 6},
        loss_name="BCEWithLogitsLoss",
    )
    assert (F.imbalance(run) is not None) is fires


def test_leak_by_correlation_in_regression():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((100, 1))
    x = np.concatenate([rng.standard_normal((100, 1)), 3 * y + 1], axis=1)
    run = record(sample={"x": x, "y": y}, loss_name="MSELoss")
    assert F.leaked_target(run).evidence["feature"] == 1
    x[:, 1] += 0.5 * rng.standard_normal(100)
    assert F.leaked_target(record(sample={"x": x, "y": y}, loss_name="MSELoss")) is None


def test_median_skips_nan():
    assert median([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(median([math.nan]))
