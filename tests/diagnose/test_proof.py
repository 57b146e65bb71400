"""The proof of the diagnoses: broken trainings get their own finding first, healthy ones none."""

from __future__ import annotations

import pytest
from diagnose_cases import BROKEN, HEALTHY, healthy, train

import chainrule as cr
from chainrule.diagnose import Finding, Recorder

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the runs that overflow


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_training_gets_its_own_finding_first(name):
    code, case = BROKEN[name]
    recorder, result = train(case)
    codes = [f.code for f in recorder.findings]
    assert codes, f"{name}: no finding"
    assert codes[0] == code, f"{name}: expected {code} first, got {codes}"
    first = recorder.findings[0]
    assert isinstance(first, Finding)
    assert first.sentence and first.fix
    assert any(ch.isdigit() for ch in first.sentence), "the sentence carries its numbers"
    if isinstance(result, cr.History):
        assert [f.code for f in result.findings] == codes


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_training_gets_no_finding(name):
    recorder, result = train(lambda: healthy(name))
    assert isinstance(result, cr.History)
    assert recorder.findings == [], "\n".join(str(f) for f in recorder.findings)
    assert result.findings == []


def test_at_least_twelve_of_each():
    assert len(BROKEN) >= 12
    assert len(HEALTHY) >= 12
    assert len({code for code, _ in BROKEN.values()}) == len(BROKEN)


def test_findings_are_ranked_by_severity():
    order = {"critical": 0, "warning": 1, "info": 2}
    for name in ("divergence_to_nan", "unscaled_features", "loss_ends_far_above_start"):
        recorder, _ = train(BROKEN[name][1])
        ranks = [order[f.severity] for f in recorder.findings]
        assert ranks == sorted(ranks)
        assert len(recorder.findings) >= 2


@pytest.mark.parametrize("name", ["deep_sigmoid", "relu_killed_by_bias", "leaked_label"])
def test_default_recorder_interval_finds_the_same(name):
    """The automatic interval (a time budget) records fewer steps, with the same verdict."""
    code, case = BROKEN[name]
    recorder, _ = train(case, Recorder())
    assert recorder.findings[0].code == code
    assert 1 <= len(recorder.record["steps_recorded"]) <= recorder.record["steps"]
