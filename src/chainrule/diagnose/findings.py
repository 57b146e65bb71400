"""Findings: what went wrong in a training run, in one sentence each, with numbers and a fix.

Each rule is one small function (in ``rules_curve.py``, ``rules_layers.py`` and
``rules_data.py``) that reads a :class:`~chainrule.diagnose.Recorder`'s record and returns a
:class:`Finding` or ``None``. :func:`diagnose` runs them all and ranks what they
find: by severity first (``critical``, ``warning``, ``info``), then causes before symptoms
(a dead ReLU layer also makes the early gradients vanish; the dead layer is named first).
The thresholds are the named constants of ``thresholds.py`` (re-exported here);
``docs/diagnose.md`` explains each one.
"""

from __future__ import annotations

import os

from chainrule.diagnose.finding import SEVERITIES, Finding
from chainrule.diagnose.rules_curve import (
    diverged,
    loss_rose,
    lr_too_high,
    lr_too_low,
    overfitting,
    plateau,
)
from chainrule.diagnose.rules_data import (
    constant_target,
    imbalance,
    leaked_target,
    unscaled_features,
    unscaled_targets,
)
from chainrule.diagnose.rules_layers import dead_relu, exploding, saturated, vanishing
from chainrule.diagnose.run_view import RunView
from chainrule.diagnose.thresholds import *  # noqa: F403 (old name: findings.EXPLODING_NORM)

__all__ = ["RULES", "Finding", "diagnose", "summary"]


# In rank order within a severity: causes before their symptoms.
RULES = (
    diverged,
    loss_rose,
    constant_target,
    leaked_target,
    unscaled_targets,
    unscaled_features,
    lr_too_high,
    exploding,
    dead_relu,
    saturated,
    vanishing,
    imbalance,
    lr_too_low,
    overfitting,
    plateau,
)


def diagnose(record: dict, explain_with=None) -> list[Finding]:
    """Run every rule on a :class:`~chainrule.diagnose.Recorder` record; findings ranked.

    Args:
        record: ``Recorder.record`` (or the same dict read back from its JSON file).
        explain_with: ``(model, loss_fn)`` to explain vanishing-gradient and dead-ReLU
            findings with the chain rule on the first recorded training sample.

    Returns:
        The findings, most severe first (an empty list for a healthy run).
    """
    record = _as_record(record)
    run = RunView(record)
    found = []
    for order, rule in enumerate(RULES):
        finding = rule(run)
        if finding is not None:
            found.append((SEVERITIES.index(finding.severity), order, finding))
    found.sort(key=lambda t: (t[0], t[1]))
    findings = [f for _, _, f in found]
    if len(findings) > 1:  # a plateau is news only when nothing else explains the stall
        findings = [f for f in findings if f.code != "PLATEAU"]
    if explain_with is not None:
        from chainrule.diagnose.chain import attach_explanations

        attach_explanations(findings, run, *explain_with)
    return findings


def _as_record(record) -> dict:
    """The record dict; the Recorder itself (a common slip) stands for its record."""
    if isinstance(getattr(record, "record", None), dict):  # a Recorder (not imported: a cycle)
        return record.record
    if isinstance(record, (str, os.PathLike)):
        raise TypeError(
            f"diagnose takes a record, not a path; read the file first: "
            f"cr.diagnose.diagnose(cr.diagnose.load_record({os.fspath(record)!r}))"
        )
    if not isinstance(record, dict):
        raise TypeError(
            f"diagnose takes a Recorder's record (recorder.record, or load_record(path)), "
            f"got {type(record).__name__}"
        )
    return record


def summary(findings: list[Finding]) -> str:
    """The end-of-training diagnosis as text: one numbered block per finding."""
    if not findings:
        return "Diagnosis: no problems found (gradients, activations, loss and data look healthy)."
    lines = [f"Diagnosis: {len(findings)} finding(s), most severe first"]
    for n, f in enumerate(findings, 1):
        lines.append(f"{n}. [{f.severity}] {f.code}: {f.sentence}")
        lines.append(f"   fix: {f.fix}")
        if f.explanation:
            lines.extend("   " + line for line in f.explanation.splitlines())
    return "\n".join(lines)
