"""The HTML run report: self-contained, faithful to the model, buildable from a checkpoint."""

from __future__ import annotations

import argparse
import html
import io
import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.report import ReportRecorder, charts, report_from_checkpoint_dir, views, write_report
from chainrule.tensor import Tensor


def _mlp(hidden=4, outputs=1):
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, outputs))


def _external_refs(text: str) -> list:
    """Every src/href that would make the browser fetch something (data: URIs are inline)."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text)
    return [r for r in refs if not r.startswith("data:")]


def test_png_encoder_round_trips_through_pillow():
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(charts.png(rgb))).convert("RGB"))
    np.testing.assert_array_equal(decoded, rgb)


def test_recorder_gradient_norms_are_the_engines():
    X, y = cr.datasets.moons(n=64, seed=1)
    model = _mlp()
    start = [p.array.copy() for p in model.parameters()]
    twin = _mlp()
    for p, s in zip(twin.parameters(), start):
        p.data = s.copy()
    loss_fn = nn.BCEWithLogitsLoss()
    rec = ReportRecorder(X, y, loss=loss_fn)
    opt = optim.SGD(model.parameters(), lr=0.5)
    cr.fit(model, (X, y), loss_fn, opt, epochs=3, batch_size=64, callbacks=[rec], verbose=False)
    # one full batch per epoch: epoch 1's norm is the gradient at the initial weights
    loss_fn(
        twin(Tensor._make(X.astype(np.float32), False)), y.reshape(-1, 1).astype(np.float32)
    ).backward()
    for name, p in twin.named_parameters():
        assert rec.grad_norms["norms"][name][0] == pytest.approx(
            float(np.linalg.norm(p.grad)), rel=1e-5
        )
    assert rec.grad_norms["epoch"] == [1, 2, 3]
    assert [s["epoch"] for s in rec.snapshots] == [0, 1, 2, 3]
    last = rec.snapshots[-1]
    probs = views.probabilities(views.run(model, views.grid(last["extent"], last["size"])), "logit")
    np.testing.assert_allclose(last["p"], probs, atol=1e-6)
    assert not np.allclose(rec.snapshots[0]["p"], last["p"])


def _trained(tmp_path, epochs=6, checkpoint=False):
    X, y = cr.datasets.moons(n=120, seed=0)
    model = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    rec = ReportRecorder(X, y, loss="bce", snapshots=4)
    callbacks = [rec]
    if checkpoint:
        callbacks.append(cr.callbacks.BackupAndRestore(str(tmp_path / "backup.safetensors")))
    opt = optim.Adam(model.parameters(), lr=0.05)
    history = cr.fit(
        model,
        (X, y),
        loss_fn,
        opt,
        epochs=epochs,
        batch_size=16,
        validation_split=0.25,
        callbacks=callbacks,
        verbose=False,
    )
    return X, y, model, loss_fn, rec, history


def test_report_is_self_contained_and_shows_the_model(tmp_path):
    X, y, model, loss_fn, rec, history = _trained(tmp_path)
    out = write_report(
        tmp_path / "run.html",
        model=model,
        history=history,
        config={"lr": 0.05, "layers": "6,5"},
        X=X,
        y=y,
        snapshots=rec.snapshots,
        grad_norms=rec.grad_norms,
        explain_sample=(X[:1], y[:1], loss_fn),
    )
    text = open(out, encoding="utf-8").read()
    assert _external_refs(text) == []
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text
    for section in (
        "summary",
        "config",
        "curves",
        "boundary",
        "snapshots",
        "network",
        "gradients",
        "explain",
    ):
        assert f'id="{section}"' in text
    assert text.count('class="boundary"') == len(rec.snapshots) + 1
    # every weight drawn with its final value
    edges = re.findall(r'data-param="([^"]+)" data-index="(\d+),(\d+)" data-value="([^"]+)"', text)
    params = dict(model.named_parameters())
    assert len(edges) == 6 * 2 + 5 * 6 + 1 * 5
    for name, j, i, value in edges:
        assert float(value) == float(params[name].data[int(j), int(i)])
    # the curves hold the history's numbers
    assert 'data-name="val_loss"' in text and 'data-name="accuracy"' in text
    # the explanation is explain()'s own HTML, with the engine's gradient of the last layer
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', text).group(1))
    report = cr.explain(model, X[:1], y[:1].reshape(1, 1).astype(np.float64), loss_fn)
    engine = report.data["chains"][-1]["engine_grad"]
    assert "Backpropagation" in srcdoc or "explained" in srcdoc
    assert f"{engine:.6f}"[:7] in srcdoc


def test_report_without_two_features_skips_the_boundary(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X.sum(axis=1) > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    rec = ReportRecorder(X, y, loss="ce")
    history = cr.fit(
        model,
        (X, y),
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        callbacks=[rec],
        verbose=False,
    )
    assert rec.snapshots == []
    text = open(
        write_report(
            tmp_path / "r.html",
            model=model,
            history=history,
            config={},
            X=X,
            y=y,
            grad_norms=rec.grad_norms,
            explain_sample=(X[:1], y[:1], nn.CrossEntropyLoss()),
        ),
        encoding="utf-8",
    ).read()
    assert 'id="boundary"' not in text and 'id="network"' in text and 'id="explain"' in text


def test_report_from_a_checkpoint_folder(tmp_path):
    X, y, model, loss_fn, rec, history = _trained(tmp_path, checkpoint=True)
    (tmp_path / "run.json").write_text(json.dumps({"config": {"layers": "6,5", "lr": 0.05}}))
    out = report_from_checkpoint_dir(tmp_path, tmp_path / "out" / "report.html")
    text = open(out, encoding="utf-8").read()
    assert _external_refs(text) == []
    assert text.count('class="boundary"') == len(rec.snapshots) + 1
    assert 'id="gradients"' in text and 'id="explain"' in text
    assert "6,5" in text  # the configuration from run.json
    assert f"{history.history['loss'][-1]:.6g}" in text
    from chainrule.cli.errors import CLIError
    from chainrule.cli.report_cmd import run_report

    assert (
        run_report(argparse.Namespace(checkpoint_dir=str(tmp_path), out=str(tmp_path / "cli.html")))
        == 0
    )
    assert (tmp_path / "cli.html").stat().st_size > 10_000
    with pytest.raises(CLIError, match="not a folder"):
        run_report(argparse.Namespace(checkpoint_dir=str(tmp_path / "nope"), out="x.html"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CLIError, match="no checkpoint"):
        run_report(argparse.Namespace(checkpoint_dir=str(empty), out=str(tmp_path / "y.html")))


def test_recorder_state_survives_a_checkpoint(tmp_path):
    from chainrule.io.checkpoint import read_checkpoint, save_checkpoint

    X, y, model, loss_fn, rec, history = _trained(tmp_path, epochs=3)
    save_checkpoint(
        tmp_path / "c.safetensors", model, None, None, {"callbacks": [rec.state_dict()]}
    )
    saved = read_checkpoint(tmp_path / "c.safetensors")[1]["state"]["callbacks"][0]
    again = ReportRecorder(X, y, loss="bce")
    again.load_state_dict(saved)
    assert again.grad_norms == rec.grad_norms
    assert [s["epoch"] for s in again.snapshots] == [s["epoch"] for s in rec.snapshots]
    np.testing.assert_array_equal(again.snapshots[-1]["p"], rec.snapshots[-1]["p"])


def _explanation_text(page: str) -> str:
    doc = html.unescape(re.search(r'srcdoc="([^"]*)"', page, re.S).group(1))
    return " ".join(html.unescape(re.sub("<[^>]+>", " ", doc)).split())


def test_report_explains_the_runs_own_optimizer_step(tmp_path):
    """With ``optimizer`` in ``explain_sample`` the update section is that optimizer's next step
    (it was one plain SGD step whatever the run trained with); without it, plain SGD as said."""
    X, y = cr.datasets.moons(n=64, seed=3)
    model, loss_fn = _mlp(), nn.BCEWithLogitsLoss()
    opt = optim.Adam(model.parameters(), lr=0.02)
    history = cr.fit(model, (X, y), loss_fn, opt, epochs=2, batch_size=16, verbose=0)
    kept = [p.array.copy() for p in model.parameters()]
    sample = {"x": X[:1], "y": y[:1], "loss_fn": loss_fn}
    with_opt = write_report(
        tmp_path / "a.html",
        model=model,
        history=history,
        config={},
        explain_sample={**sample, "optimizer": opt},
    )
    plain = write_report(
        tmp_path / "b.html", model=model, history=history, config={}, explain_sample=sample
    )
    text = _explanation_text(open(with_opt).read())
    assert "4. The update One step of your optimizer, Adam(lr=0.02" in text
    assert "after 8 steps of its own" in text
    assert "Adam(" not in _explanation_text(open(plain).read())
    assert all(np.array_equal(k, p.array) for k, p in zip(kept, model.parameters()))
