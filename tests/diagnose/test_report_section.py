"""The Diagnosis section of the HTML run report."""

from __future__ import annotations

from diagnose_cases import BROKEN, train

from chainrule.report import write_report
from chainrule.report.diagnose_section import diagnosis_section


def test_section_shows_findings_and_per_layer_charts():
    rec, history = train(BROKEN["relu_killed_by_bias"][1])
    html = diagnosis_section(rec)
    assert html.startswith('<section id="diagnosis">')
    assert "DEAD_RELU" in html and "relu&#x27;(z)" in html  # the explanation, escaped
    for title in ("gradient norm per layer", "update / weight ratio", "share of dead ReLU"):
        assert title in html
    assert html.count('class="series"') >= 3  # one line per layer / activation layer


def test_section_from_a_saved_record_recomputes_the_findings():
    rec, _ = train(BROKEN["bad_init_tanh"][1])
    html = diagnosis_section(rec.record)  # a record dict, as read from diagnose.json
    assert "SATURATED" in html and "share of saturated sigmoid/tanh outputs" in html


def test_healthy_run_says_so(tmp_path):
    from diagnose_cases import healthy

    rec, history = train(lambda: healthy("moons_tanh_adam"))
    path = write_report(
        tmp_path / "run.html", model=rec.model, history=history, config={}, diagnosis=rec
    )
    page = open(path, encoding="utf-8").read()
    assert 'id="diagnosis"' in page and "No problems found" in page


def test_no_section_without_a_recorder(tmp_path):
    rec, history = train(BROKEN["bad_init_tanh"][1])
    path = write_report(tmp_path / "r.html", model=rec.model, history=history, config={})
    assert 'id="diagnosis"' not in open(path, encoding="utf-8").read()
