"""The Recorder callback: what it records, that it leaves the model as it was, saving, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from diagnose_cases import BROKEN, mlp, train

import chainrule as cr
from chainrule import nn, optim
from chainrule.diagnose import Recorder, diagnose, load_record, summary

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _fit(recorder, epochs=3, model=None, **options):
    X, y = cr.datasets.moons(n=96, seed=0)
    model = model or mlp([2, 8, 8, 1], nn.ReLU)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        opt,
        epochs=epochs,
        callbacks=[recorder],
        verbose=False,
        seed=0,
        **options,
    )
    return model, history


def test_records_every_n_steps_per_layer():
    rec = Recorder(every=2)
    model, history = _fit(rec)
    r = rec.record
    assert r["steps"] == 9  # 3 epochs of 3 batches
    assert r["steps_recorded"] == [0, 2, 4, 6, 8]
    assert r["params"] == [n for n, _ in model.named_parameters()]
    for key in ("grad_norm", "weight_norm", "update_ratio"):
        assert all(len(v) == 5 for v in r[key].values())
    assert sorted(r["activations"]) == ["1", "3"]
    assert r["activations"]["1"]["kind"] == "relu"
    assert len(r["batch_loss"]) == 9
    assert r["epochs"]["loss"] == pytest.approx(history.history["loss"])
    assert r["shapes"]["0.weight"] == [8, 2]


def test_recorded_numbers_are_the_real_ones():
    """The last record holds the last step's |grad|, |w| before its update and |Δw| / |w|."""
    rec = Recorder(every=1)
    model, _ = _fit(rec, epochs=1)
    r = rec.record
    for name, p in model.named_parameters():
        w = np.asarray(p, dtype=np.float64)
        g = np.asarray(p.grad, dtype=np.float64)  # the last step's gradient is still there
        before = w + 0.1 * g  # plain SGD: w_after = w_before - lr * g
        assert r["weight_norm"][name][-1] == pytest.approx(np.linalg.norm(before), rel=1e-5)
        assert r["grad_norm"][name][-1] == pytest.approx(np.linalg.norm(g), rel=1e-5)
        expected = np.linalg.norm(0.1 * g) / np.linalg.norm(before)
        assert r["update_ratio"][name][-1] == pytest.approx(expected, rel=1e-4)


def test_dead_fraction_counts_units_that_never_fire():
    model = mlp([2, 8, 1], nn.ReLU)
    np.asarray(model[0].bias)[:4] = -100.0  # half the units can never fire
    rec = Recorder(every=1)
    _fit(rec, model=model, epochs=1)
    assert rec.record["activations"]["1"]["dead"][0] == pytest.approx(0.5)


def test_saturated_fraction_of_tanh():
    model = mlp([2, 8, 1])
    np.asarray(model[0].weight)[...] = 0.0
    np.asarray(model[0].bias)[...] = 10.0  # tanh(10) = 0.99999999
    rec = Recorder(every=1)
    _fit(rec, model=model, epochs=1)
    assert rec.record["activations"]["1"]["saturated"][0] == 1.0
    assert rec.record["activations"]["1"]["mean"][0] == pytest.approx(1.0, abs=1e-6)


def test_model_and_loss_are_left_as_they_were():
    model = mlp([2, 8, 1], nn.ReLU)
    loss_fn = nn.BCEWithLogitsLoss()
    X, y = cr.datasets.moons(n=64, seed=0)
    cr.fit(
        model,
        (X, y),
        loss_fn,
        optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        callbacks=[Recorder(every=1)],
        verbose=False,
    )
    for module in [*model.modules(), loss_fn]:
        assert "forward" not in module.__dict__


def test_wrappers_removed_when_training_fails():
    code, case = BROKEN["divergence_to_nan"]
    rec, err = train(case)
    assert isinstance(err, cr.NonFiniteError)
    assert rec.findings[0].code == "DIVERGED"
    assert rec.record["error"]["kind"] in ("loss", "gradient", "parameter")
    assert all("forward" not in m.__dict__ for m in rec.model.modules())


def test_time_budget_limits_recording(monkeypatch):
    """With a clock where every step takes 1 ms and every record 1 ms, a 10% budget (plus the
    free 1 ms) records about one step in nine."""
    import chainrule.diagnose.recorder as recorder_module

    clock = {"now": 0.0}

    class FakeTime:
        @staticmethod
        def perf_counter():
            return clock["now"]

    monkeypatch.setattr(recorder_module, "time", FakeTime)
    rec = Recorder(budget=0.1)
    rec.set_context(mlp([2, 4, 1]), None, {})
    begin = rec._begin_record

    def costly_record():
        begin()
        clock["now"] += 0.001  # what recording costs

    rec._begin_record = costly_record
    rec.on_train_begin()  # prepares step 0
    for step in range(1000):
        clock["now"] += 0.001  # the step's own work
        rec.on_batch_end(step, {"loss": 1.0})
    records = len(rec.record["steps_recorded"])
    assert 100 <= records <= 113  # r * 1 ms <= 1 ms + 10% of (1000 + r) ms: r <= 112.2
    assert rec._spent <= 0.1 * clock["now"] + recorder_module.FREE_SECONDS + 0.001


def test_save_and_load_give_the_same_diagnosis(tmp_path):
    code, case = BROKEN["relu_killed_by_bias"]
    path = tmp_path / "run" / "diagnose.json"
    from chainrule.diagnose import Recorder as R

    rec, _ = train(case, R(every=1, path=path))
    record = load_record(path)
    assert record["steps"] == rec.record["steps"]
    again = diagnose(record)
    assert [f.code for f in again] == [f.code for f in rec.findings]
    assert again[0].sentence == rec.findings[0].sentence
    json.dumps([f.to_dict() for f in rec.findings])  # findings are plain data


def test_load_record_refuses_other_files(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(cr.DataError, match="not a diagnosis record"):
        load_record(bad)
    bad.write_text('{"a": 1}')
    with pytest.raises(cr.DataError, match="Recorder"):
        load_record(bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"every": 0}, "every"), ({"every": 1.5}, "every"), ({"budget": 2}, "budget")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recorder(**kwargs)


def test_verbose_fit_prints_the_diagnosis(capsys):
    code, case = BROKEN["relu_killed_by_bias"]
    cr.manual_seed(0)
    model, data, loss_fn, opt, epochs, _ = case()
    cr.fit(model, data, loss_fn, opt, epochs=2, callbacks=[Recorder(every=1)], verbose="lines")
    out = capsys.readouterr().out
    assert "Diagnosis:" in out and "DEAD_RELU" in out and "relu'(z)" in out


def test_silent_fit_prints_nothing(capsys):
    _fit(Recorder(every=1), epochs=1)
    assert capsys.readouterr().out == ""


def test_summary_of_a_healthy_run():
    assert "no problems" in summary([])


def test_resume_keeps_the_record():
    rec = Recorder(every=1)
    _fit(rec, epochs=2)
    state = rec.state_dict()
    again = Recorder(every=1)
    again.load_state_dict(state)
    assert again.record["steps"] == rec.record["steps"]
    assert math.isfinite(again.record["batch_loss"][0])


def test_nan_loss_without_check_finite_is_diverged():
    X, y = cr.datasets.linear_regression(n=128, features=3, seed=0)
    model = mlp([3, 16, 1])
    rec = Recorder(every=1)
    history = cr.fit(
        model,
        (X, y * 1e4),
        nn.MSELoss(),
        optim.SGD(model.parameters(), lr=5.0),
        epochs=4,
        callbacks=[rec],
        verbose=False,
        check_finite=False,
    )
    assert history.findings[0].code == "DIVERGED"
    assert "NaN or infinite" in history.findings[0].sentence


def test_an_empty_record_has_no_findings():
    from chainrule.diagnose.recorder import MARKER

    assert diagnose({"marker": MARKER}) == []


def test_finding_round_trips_through_a_dict():
    from chainrule.diagnose import Finding

    rec, _ = train(BROKEN["deep_sigmoid"][1])
    first = rec.findings[0]
    again = Finding.from_dict(json.loads(json.dumps(first.to_dict())))
    assert again == first
    assert str(again).startswith("[warning] VANISHING_GRADIENTS: ")


def test_sample_spans_the_run_when_data_is_sorted_and_not_shuffled():
    """Rows ordered by class and read in order: the first batches hold one class only, yet
    the sample (a reservoir over the recorded steps) holds both, so no false CONSTANT_TARGET."""
    X, y = cr.datasets.moons(n=3000, seed=0)  # more rows than the sample's 1,024
    order = np.argsort(y, kind="stable")
    model = mlp([2, 16, 1])
    rec = Recorder(every=1)
    cr.fit(
        model,
        (X[order], y[order]),
        nn.BCEWithLogitsLoss(),
        optim.Adam(model.parameters(), lr=0.01),
        epochs=10,
        shuffle=False,
        callbacks=[rec],
        verbose=False,
    )
    labels = np.asarray(rec.record["sample"]["y"]).ravel()
    assert 0.3 < labels.mean() < 0.7
    codes = [f.code for f in rec.findings]
    assert "CONSTANT_TARGET" not in codes and "CLASS_IMBALANCE" not in codes


def test_nan_in_the_data_is_named_as_bad_data_not_a_learning_rate_problem():
    # it said "Training diverged ... Lower the learning rate" for a NaN cell in X
    X, y = cr.datasets.moons(n=64, seed=0)
    X[3, 0] = np.nan
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    rec = cr.diagnose.Recorder(verbose=False)
    with pytest.raises(cr.NonFiniteError):
        cr.fit(
            model,
            (X, y),
            nn.BCEWithLogitsLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            epochs=2,
            callbacks=[rec],
            verbose=False,
        )
    (finding,) = [f for f in rec.findings if f.code == "DIVERGED"]
    assert "X row 3 holds NaN" in finding.sentence and "did not diverge" in finding.sentence
    assert "Clean the data" in finding.fix and "learning rate" not in finding.fix
    assert finding.evidence["bad_data"] == "X"


def test_diagnose_takes_the_recorder_too_and_names_a_wrong_argument():
    X, y = cr.datasets.moons(n=64, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    rec = cr.diagnose.Recorder(verbose=False)
    cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=1,
        callbacks=[rec],
        verbose=False,
    )
    assert diagnose(rec) == diagnose(rec.record)  # was AttributeError: no attribute 'get'
    with pytest.raises(TypeError, match=r"load_record\('runs/a'\)"):
        diagnose("runs/a")
    with pytest.raises(TypeError, match="got NoneType"):
        diagnose(None)
