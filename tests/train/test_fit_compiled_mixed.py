"""cr.fit mixes eager and compiled steps: the diagnosis Recorder's steps eager, the rest compiled.

The NumPy tier gives the eager step's bits, so a run that mixes the two must end with the
weights, history and diagnosis record of an all-eager run (timings aside).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.diagnose import Recorder

TIMING = ("record_seconds", "train_seconds", "diagnose_seconds")


def _data():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((160, 4)) * 30).astype(np.float32)  # unscaled: findings to compare
    y = (X[:, 0] > 0).astype(np.float32)
    return X, y


def _fit(compile, recorder, metrics=("accuracy",), **kw):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 16), nn.Sigmoid(), nn.Dropout(0.1), nn.Linear(16, 8), nn.ReLU(),
        nn.Linear(8, 1),
    )  # fmt: skip
    history = cr.fit(
        model,
        _data(),
        nn.BCEWithLogitsLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        epochs=4,
        batch_size=16,
        seed=1,
        metrics=metrics,
        callbacks=[recorder],
        verbose=False,
        compile=compile,
        validation_split=0.2,
        **kw,
    )
    return model, history


def _record_without_timings(record: dict) -> str:
    record = {k: v for k, v in record.items() if k not in TIMING}
    record["epochs"] = {k: v for k, v in record["epochs"].items() if k != "time"}
    return json.dumps(record, sort_keys=True, default=lambda a: np.asarray(a).tolist())


def _without_time(history) -> dict:
    return {k: v for k, v in history.history.items() if k != "time"}


@pytest.mark.parametrize("compile", ["auto", True])
@pytest.mark.parametrize("metrics", [("accuracy",), ()])
def test_a_recorder_gets_eager_steps_and_the_run_equals_an_eager_run(compile, metrics):
    rec_off, rec_on = Recorder(every=3, verbose=False), Recorder(every=3, verbose=False)
    eager, h_eager = _fit(False, rec_off, metrics)
    mixed, h_mixed = _fit(compile, rec_on, metrics)
    for a, b in zip(eager.parameters(), mixed.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    assert _without_time(h_mixed) == _without_time(h_eager)
    assert _record_without_timings(rec_on.record) == _record_without_timings(rec_off.record)
    codes = [f.code for f in rec_off.findings]
    assert "SATURATED" in codes  # a diagnosis with something in it
    assert [f.to_dict() for f in rec_on.findings] == [f.to_dict() for f in rec_off.findings]
    # eager exactly on the recorded steps, compiled on all the others
    recorded = len(rec_on.record["steps_recorded"])
    assert recorded == 11
    assert (h_mixed.eager_steps, h_mixed.compiled_steps) == (recorded, 32 - recorded)
    assert h_mixed.compile_reason is None


def test_eager_steps_fall_exactly_on_the_recorded_steps(monkeypatch):
    import chainrule.train.fit as fit_module

    taken = []
    eager_step = fit_module.train_step

    def tracking(*args, **kw):
        taken.append(len(rec.record["batch_loss"]))  # one loss per step so far: the step
        return eager_step(*args, **kw)

    monkeypatch.setattr(fit_module, "train_step", tracking)
    rec = Recorder(every=5, verbose=False)
    _fit("auto", rec)
    assert taken == rec.record["steps_recorded"] == list(range(0, 32, 5))


def test_the_default_time_budget_mixes_exactly_too():
    """With its time budget the recorded steps depend on the clock; the weights do not."""
    eager, _ = _fit(False, Recorder(verbose=False))
    rec = Recorder(verbose=False)
    mixed, history = _fit("auto", rec)
    for a, b in zip(eager.parameters(), mixed.parameters()):
        np.testing.assert_array_equal(a.array, b.array)
    assert history.eager_steps == len(rec.record["steps_recorded"]) >= 1
    assert history.eager_steps + history.compiled_steps == 32
    assert all(series["mean"] for series in rec.record["activations"].values())


def test_the_finite_guard_still_names_the_step_in_a_mixed_run():
    X, y = _data()
    X[70] = np.nan  # batch 5 of the first epoch (no shuffle): a compiled step with every=3
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    rec = Recorder(every=3, verbose=False)  # records steps 0, 3, 6, ...
    with pytest.raises(cr.NonFiniteError, match="epoch 1/2, batch 5") as info:
        cr.fit(
            model,
            (X, y),
            nn.BCEWithLogitsLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            epochs=2,
            batch_size=16,
            shuffle=False,
            callbacks=[rec],
            verbose=False,
        )
    assert info.value.kind == "loss"
    assert rec.record["error"]["batch"] == 5
    assert all(np.isfinite(p.array).all() for p in model.parameters())
