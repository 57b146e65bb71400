"""The "Diagnosis" section of a run report: findings and per-layer charts over training.

Drawn from a :class:`chainrule.diagnose.Recorder` (or its record read back from
``diagnose.json``): the gradient norm of each layer, the update/weight ratio of each layer,
and the share of dead ReLU units or saturated sigmoid/tanh outputs of each activation layer,
per recorded step; above them, the findings in plain language.
"""

from __future__ import annotations

import html
import math

import numpy as np

from chainrule.report import charts

__all__ = ["diagnosis_section"]


def _layer(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _by_layer(record: dict, key: str, weights_only: bool = False) -> dict:
    """Per-layer series: the L2 combination of the layer's parameters' values at each record."""
    shapes = record.get("shapes") or {}
    layers: dict = {}
    for name, series in (record.get(key) or {}).items():
        if weights_only and len(shapes.get(name, ())) < 2:
            continue
        layers.setdefault(_layer(name), []).append(np.asarray(series, dtype=np.float64))
    return {layer: np.sqrt(sum(p**2 for p in parts)) for layer, parts in layers.items()}


ZERO_FLOOR = 1e-12  # where a log-scale chart draws an exact 0 (a dead layer's gradient)


def _log_scale(series: list) -> bool:
    values = [v for _, _, ys, _ in series for v in ys if math.isfinite(v) and v > 0]
    zeros = any(v == 0 for _, _, ys, _ in series for v in ys)
    return zeros or (bool(values) and max(values) / min(values) > 20)


def _floored(series: list) -> tuple[list, str]:
    """Zeros raised to ZERO_FLOOR for a log axis, and a note for the title when there were."""
    zeros = any(v == 0 for _, _, ys, _ in series for v in ys)
    if not zeros:
        return series, ""
    lifted = [(n, xs, [ZERO_FLOOR if v == 0 else v for v in ys], d) for n, xs, ys, d in series]
    return lifted, f" (0 drawn at {ZERO_FLOOR:g})"


def _charts(record: dict) -> list:
    steps = [int(s) + 1 for s in record.get("steps_recorded") or []]
    if not steps:
        return []
    out = []
    grads = _by_layer(record, "grad_norm")
    series = [(f"layer {k}", steps[: len(v)], v.tolist(), False) for k, v in grads.items()]
    log = _log_scale(series)
    series, note = _floored(series) if log else (series, "")
    out.append(
        charts.line_chart(
            series, "gradient norm per layer" + note, xlabel="step", width=460, log=log
        )
    )
    ratios = _by_layer(record, "update_ratio", weights_only=True)
    series = [(f"layer {k}", steps[: len(v)], v.tolist(), False) for k, v in ratios.items()]
    if series:
        series, note = _floored(series)
        out.append(
            charts.line_chart(
                series,
                "update / weight ratio |Δw|/|w|" + note,
                xlabel="step",
                width=460,
                log=True,
            )
        )
    dead, flat = [], []
    for name, stats in (record.get("activations") or {}).items():
        label = f"{name} ({stats.get('layer', stats.get('kind'))})"
        if stats.get("kind") == "relu":
            dead.append((label, steps, list(stats.get("dead", [])), False))
        else:
            flat.append((label, steps, list(stats.get("saturated", [])), False))
    if dead:
        out.append(charts.line_chart(dead, "share of dead ReLU units", xlabel="step", width=460))
    if flat:
        out.append(
            charts.line_chart(
                flat, "share of saturated sigmoid/tanh outputs", xlabel="step", width=460
            )
        )
    return out


def _findings_html(findings: list) -> str:
    if not findings:
        return (
            '<p class="note">No problems found: gradients, activations, loss and data look '
            "healthy.</p>"
        )
    items = []
    for f in findings:
        get = f.get if isinstance(f, dict) else lambda k, f=f: getattr(f, k)
        text = (
            f"<li><b>[{html.escape(get('severity'))}] {html.escape(get('code'))}</b>: "
            f"{html.escape(get('sentence'))}<br><i>Fix:</i> {html.escape(get('fix'))}"
        )
        if get("explanation"):
            text += f"<pre>{html.escape(get('explanation'))}</pre>"
        items.append(text + "</li>")
    return "<ol>" + "".join(items) + "</ol>"


def diagnosis_section(diagnosis) -> str:
    """The section's HTML from a Recorder, or from ``(record, findings)`` / a record dict."""
    if hasattr(diagnosis, "record"):
        record, findings = diagnosis.record, diagnosis.findings
    elif isinstance(diagnosis, tuple):
        record, findings = diagnosis
    else:
        from chainrule.diagnose import diagnose

        record = diagnosis
        findings = diagnose(record)
    figures = "".join(_charts(record))
    return (
        '<section id="diagnosis"><h2>Diagnosis</h2>'
        '<p class="note">What <code>chainrule.diagnose</code> found in the recorded gradients, '
        "update sizes, activations, loss and data, most severe first; below, the per-layer "
        "numbers over the recorded steps.</p>"
        + _findings_html(findings)
        + (f'<div class="grid">{figures}</div>' if figures else "")
        + "</section>"
    )
