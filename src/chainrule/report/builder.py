"""write_report: one HTML file that tells the story of a training run, readable offline.

Everything is inside the file: CSS, SVG charts, PNG heat maps as base64, the chain-rule
explanation (``chainrule.explain``'s own HTML) in a sandboxed frame. No script, no font, no
request to any server.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import os

import numpy as np

from chainrule.errors import ChainruleError, ModelFormatError
from chainrule.report import charts, views
from chainrule.report.recorder import MARKER, loss_name, output_kind

CHECKPOINT_NAMES = ("backup.safetensors", "last.safetensors", "checkpoint.safetensors")

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;max-width:76rem;
margin:1.5rem auto;padding:0 1rem}
h1{margin:.2rem 0 .6rem;border-bottom:2px solid #d0d7de}h2{border-bottom:1px solid #d0d7de;
margin-top:2rem}
table.kv{border-collapse:collapse;font-size:.9rem}table.kv td{border:1px solid #d0d7de;
padding:.2rem .6rem}table.kv td:first-child{background:#f6f8fa;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;display:inline-block}figcaption{font-size:.85rem;
color:#57606a;text-align:center}
svg text.t{font:600 13px system-ui,sans-serif;fill:#1f2328}
svg text.a{font:11px system-ui,sans-serif;fill:#57606a}svg line.g{stroke:#eaeef2}
p.note{color:#57606a;font-size:.9rem}
iframe.explain{width:100%;height:720px;border:1px solid #d0d7de;border-radius:6px}
pre{background:#f6f8fa;padding:.6rem;border-radius:6px;overflow-x:auto}
"""


def _history_dict(history) -> dict:
    if history is None:
        return {}
    if hasattr(history, "history"):
        return dict(history.history)
    if isinstance(history, dict) and isinstance(history.get("history"), dict):
        return dict(history["history"])
    return dict(history)


def _kv_table(items) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_show(v))}</td></tr>" for k, v in items
    )
    return f'<table class="kv">{rows}</table>'


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return "—" if value is None else str(value)


def _curves(hist: dict) -> list:
    """One chart for the loss (training and validation) and one per metric."""
    out = []
    if not hist:
        return out
    n = max(len(v) for v in hist.values())
    epochs = list(range(1, n + 1))
    skip = {"lr", "time"}
    names = [k for k in hist if not k.startswith("val_") and k not in skip]
    for name in names:
        series = [(name, epochs[: len(hist[name])], hist[name], False)]
        if f"val_{name}" in hist:
            series.append(
                (f"val_{name}", epochs[: len(hist[f"val_{name}"])], hist[f"val_{name}"], True)
            )
        values = [v for _, _, ys, _ in series for v in ys if v is not None and math.isfinite(v)]
        log = name == "loss" and values and min(values) > 0 and max(values) / min(values) > 50
        out.append(charts.line_chart(series, name, log=bool(log)))
    if "lr" in hist and len(set(hist["lr"])) > 1:
        out.append(
            charts.line_chart(
                [("lr", epochs[: len(hist["lr"])], hist["lr"], False)], "learning rate"
            )
        )
    return out


def _layer_of(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _grad_chart(grad_norms: dict) -> str:
    """Per-layer gradient norms: the norm over all of a layer's parameters, per epoch."""
    epochs = grad_norms.get("epoch", [])
    norms = grad_norms.get("norms", {})
    layers: dict = {}
    for name, series in norms.items():
        layers.setdefault(_layer_of(name), []).append(np.asarray(series, dtype=np.float64))
    series = []
    for layer, parts in layers.items():
        total = np.sqrt(sum(p**2 for p in parts))
        series.append((f"layer {layer}", epochs[: len(total)], total.tolist(), False))
    values = [v for _, _, ys, _ in series for v in ys if math.isfinite(v) and v > 0]
    log = bool(values) and max(values) / max(min(values), 1e-300) > 20
    return charts.line_chart(
        series, "gradient norm per layer (mean over each epoch's batches)", width=620, log=log
    )


def _network(model) -> str:
    if not views.is_plottable_mlp(model):
        return f"<pre>{html.escape(repr(model))}</pre>"
    layers = []
    for index, lin in views.linear_layers(model):
        b = getattr(lin, "bias", None)
        layers.append(
            {
                "weight": f"{index}.weight",
                "bias": f"{index}.bias",
                "W": np.asarray(lin.weight.array, dtype=np.float64),
                "b": None if b is None else np.asarray(b.array, dtype=np.float64),
            }
        )
    return charts.network_svg(layers)


def _target_for(y, kind: str) -> np.ndarray:
    y = np.asarray(y)
    if kind == "scores":
        return y.reshape(-1).astype(np.int64)
    return y.reshape(-1, 1).astype(np.float64)


def _explanation(model, explain_sample) -> str:
    if explain_sample is None:
        return ""
    from chainrule.explain import Report, explain

    if isinstance(explain_sample, Report):
        report = explain_sample
    else:
        if isinstance(explain_sample, dict):
            x, y, loss_fn = explain_sample["x"], explain_sample["y"], explain_sample["loss_fn"]
            param = explain_sample.get("param")
            names = explain_sample.get("class_names")
            optimizer = explain_sample.get("optimizer")
        else:
            x, y, loss_fn = explain_sample[:3]
            param = names = optimizer = None
        x = np.asarray(getattr(x, "array", x), dtype=np.float64)
        x = x.reshape(1, -1) if x.ndim == 1 else x[:1]
        y = np.asarray(getattr(y, "array", y))
        kind = output_kind(model, loss_fn)
        y = _target_for(y, kind)[:1] if y.ndim <= 1 or kind == "scores" else y[:1]
        report = explain(
            model,
            x,
            y,
            loss_fn,
            param=param,
            title="One sample, explained",
            class_names=names,
            optimizer=optimizer,  # the run's own next step in the update section (None: SGD)
        )
    doc = report.html()
    return (
        "<h2>The chain rule for one sample</h2>"
        '<p class="note">The forward pass, the loss, the backward pass and the chain rule for '
        "one weight per layer, written out with the final model's numbers by "
        "<code>chainrule.explain</code>.</p>"
        f'<iframe class="explain" sandbox="" title="chain-rule explanation" '
        f'srcdoc="{html.escape(doc, quote=True)}"></iframe>'
    )


def write_report(
    path,
    *,
    model,
    history,
    config,
    X=None,
    y=None,
    snapshots=None,
    grad_norms=None,
    explain_sample=None,
    loss=None,
    title: str = "chainrule run report",
    diagnosis=None,
) -> str:
    """Write one self-contained HTML report of a training run; returns the path.

    Args:
        path: the ``.html`` file to write (atomically).
        model: the trained model (an ``nn.Sequential`` MLP gets a network diagram).
        history: a :class:`~chainrule.History` (or its ``.history`` dict of lists).
        config: the run's settings (a dict shown as a table).
        X, y: training data; with two features and class labels the final decision boundary
            is drawn with the points.
        snapshots: boundary pictures over training (``ReportRecorder.snapshots``).
        grad_norms: ``ReportRecorder.grad_norms`` (per-parameter norms per epoch).
        explain_sample: ``(x, y, loss_fn)`` for one sample (or a dict with those keys and an
            optional ``param``, ``class_names`` and ``optimizer``, whose next step the update
            section shows, or a ready :class:`~chainrule.explain.Report`).
        loss: the loss module or name, to read the model's output (default: guessed).
        title: the page title.
        diagnosis: a :class:`chainrule.diagnose.Recorder` (or its record) for the
            "Diagnosis" section: findings and per-layer charts over training.
    """
    hist = _history_dict(history)
    Xd, yd, classes = _plot_points(X, y)
    snaps = list(snapshots or [])
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        _summary_section(model, hist),
        _config_section(config),
        _curves_section(hist),
        _boundary_section(model, Xd, yd, classes, snaps, _loss_for_kind(loss, explain_sample)),
        _snapshots_section(snaps, Xd if classes else None, yd),
        _network_section(model),
        _diagnosis_section(diagnosis),
        _gradients_section(grad_norms),
        _explain_section(model, explain_sample),
    ]
    return _write_page(path, title, [s for s in sections if s is not None])


def _loss_for_kind(loss, explain_sample):
    """The loss that says how to read the model's output: given, or the explained sample's."""
    if loss is not None:
        return loss
    if isinstance(explain_sample, tuple) and len(explain_sample) >= 3:
        return explain_sample[2]
    return None


def _plot_points(X, y):
    """The training points as float64 features and flat labels, thinned to 1,000 for plots.

    Returns ``(X, y, classes)``; ``classes`` is true when there are two features and the
    labels are class ids (booleans or integers), the case where points go on a boundary plot.
    """
    Xd = None if X is None else np.asarray(getattr(X, "array", X), dtype=np.float64)
    yd = None if y is None else np.asarray(getattr(y, "array", y)).reshape(-1)
    two_d = Xd is not None and Xd.ndim == 2 and Xd.shape[1] == 2 and yd is not None
    classes = two_d and yd.dtype.kind in "iub"
    if classes and len(Xd) > 1000:
        keep = np.linspace(0, len(Xd) - 1, 1000).astype(np.int64)
        Xd, yd = Xd[keep], yd[keep]
    return Xd, yd, classes


def _summary_section(model, hist: dict) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = [("written", when), ("model", type(model).__name__)]
    n_params = sum(int(np.asarray(p.array).size) for p in model.parameters())
    summary.append(("parameters", n_params))
    if hist.get("loss"):
        summary.append(("epochs", len(hist["loss"])))
        for key in hist:
            if key not in ("lr", "time") and hist[key]:
                summary.append((f"final {key}", hist[key][-1]))
    return '<section id="summary"><h2>Summary</h2>' + _kv_table(summary) + "</section>"


def _config_section(config) -> str | None:
    if not config:
        return None
    return (
        '<section id="config"><h2>Configuration</h2>'
        + _kv_table(sorted(dict(config).items()))
        + "</section>"
    )


def _curves_section(hist: dict) -> str | None:
    curves = _curves(hist)
    if not curves:
        return None
    return (
        '<section id="curves"><h2>Loss and metrics</h2><div class="grid">'
        + "".join(curves)
        + "</div></section>"
    )


def _boundary_section(model, Xd, yd, classes, snaps, loss_for_kind) -> str | None:
    """The final decision boundary with the training points (2-D class data, plain MLPs)."""
    if not (classes and views.is_plottable_mlp(model)):
        return None
    kind = output_kind(model, loss_for_kind)
    ext = snaps[0]["extent"] if snaps else views.extent(Xd)
    final = views.boundary(model, ext, 60, kind)
    final_fig = charts.boundary_svg(final, Xd, yd, px=320, title="final decision boundary")
    return (
        '<section id="boundary"><h2>Decision boundary</h2>'
        f"<figure>{final_fig}<figcaption>after training, with the training points"
        "</figcaption></figure></section>"
    )


def _snapshots_section(snaps: list, points, labels) -> str | None:
    """The boundary pictures recorded during training, with the points when they are classes."""
    if not snaps:
        return None
    figs = []
    for s in snaps:
        epoch = int(s["epoch"])
        caption = "before training" if epoch == 0 else f"after epoch {epoch}"
        svg = charts.boundary_svg(s, points, labels, px=180, title=f"decision boundary, {caption}")
        figs.append(f"<figure>{svg}<figcaption>{caption}</figcaption></figure>")
    figs = "".join(figs)
    return (
        '<section id="snapshots"><h2>Decision boundary during training</h2>'
        f'<div class="grid">{figs}</div></section>'
    )


def _network_section(model) -> str:
    return (
        '<section id="network"><h2>The network, final weights</h2>'
        '<p class="note">Edge colour: the weight\'s sign (blue positive, orange negative); '
        "width: its size. Neuron fill: its bias. Hover for names and values.</p>"
        + _network(model)
        + "</section>"
    )


def _diagnosis_section(diagnosis) -> str | None:
    if diagnosis is None:
        return None
    from chainrule.report.diagnose_section import diagnosis_section

    return diagnosis_section(diagnosis)


def _gradients_section(grad_norms) -> str | None:
    if not (grad_norms and grad_norms.get("epoch")):
        return None
    return (
        '<section id="gradients"><h2>Gradient norms over training</h2>'
        '<p class="note">The L2 norm of each layer\'s gradient, averaged over the batches of '
        "each epoch: vanishing or exploding gradients show here first.</p>"
        + _grad_chart(grad_norms)
        + "</section>"
    )


def _explain_section(model, explain_sample) -> str | None:
    if explain_sample is None:
        return None
    return '<section id="explain">' + _explanation(model, explain_sample) + "</section>"


def _write_page(path, title: str, sections: list) -> str:
    """Wrap the sections in a page that loads nothing from outside; write it atomically."""
    from chainrule.io.atomic import atomic_write

    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; frame-src 'self'\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    atomic_write(path, page.encode("utf-8"))
    return path


def _find_checkpoint(folder: str) -> str:
    for name in CHECKPOINT_NAMES:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    others = sorted(
        (os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".safetensors")),
        key=os.path.getmtime,
        reverse=True,
    )
    from chainrule.errors import ModelFormatError
    from chainrule.io.checkpoint import read_checkpoint

    for candidate in others:
        try:
            read_checkpoint(candidate)
            return candidate
        except ModelFormatError:
            continue
    raise FileNotFoundError(
        f"{folder}: no checkpoint found (expected {CHECKPOINT_NAMES[0]}, written by "
        f"chainrule train --checkpoint-dir {folder})"
    )


def report_from_checkpoint_dir(folder, out) -> str:
    """Write the report of the run checkpointed in ``folder`` (``chainrule train
    --checkpoint-dir``) to ``out``; returns ``out``.

    The checkpoint gives the model, the history and, when the run had a
    :class:`~chainrule.report.ReportRecorder`, the boundary snapshots, gradient norms and a
    sample of the data (then one sample is explained too); ``run.json`` beside it gives the
    configuration.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: not a folder (give the --checkpoint-dir of a run)")
    path = _find_checkpoint(folder)
    try:
        return _report_from_checkpoint(folder, out, path)
    except ChainruleError:
        raise
    except (
        TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError,
        RecursionError,
    ) as exc:  # fmt: skip
        raise ModelFormatError(
            f"{path}: the training state in this checkpoint is not what chainrule writes "
            f"({type(exc).__name__}: {exc})"
        ) from None


def _report_from_checkpoint(folder: str, out, path: str) -> str:
    import chainrule as cr
    from chainrule import registry
    from chainrule.io.checkpoint import read_checkpoint

    model = cr.load(path)
    _, parts = read_checkpoint(path)
    state = parts.get("state") or {}
    history = state.get("history") or {}
    config = {}
    run_file = os.path.join(folder, "run.json")
    if os.path.lexists(run_file):
        from chainrule.io.format import read_json_file

        saved = read_json_file(run_file, ModelFormatError, what="run record")
        if not isinstance(saved, dict) or not isinstance(saved.get("config") or {}, dict):
            raise ModelFormatError(f"{run_file}: not a run record (a JSON object with 'config')")
        config = dict(saved.get("config") or {})
    config.setdefault("checkpoint", os.path.basename(path))
    if "epoch" in state:
        config.setdefault("epochs completed", int(state["epoch"]) + 1)
    rec = next(
        (
            c
            for c in state.get("callbacks", []) or []
            if isinstance(c, dict) and c.get("marker") == MARKER
        ),
        None,
    )
    X = y = snapshots = grad_norms = explain_sample = None
    loss = None
    if rec is not None:
        X, y = rec.get("X"), rec.get("y")
        snapshots, grad_norms = rec.get("snapshots"), rec.get("grad_norms")
        loss = rec.get("loss")
    if loss is None and config.get("loss") not in (None, "auto"):
        loss = loss_name(config.get("loss"))
    if X is not None and y is not None and len(X) and loss in registry.LOSSES:
        explain_sample = (np.asarray(X)[:1], np.asarray(y)[:1], registry.make_loss(loss))
    diagnosis = None
    if os.path.isfile(os.path.join(folder, "diagnose.json")):
        from chainrule.diagnose import load_record

        diagnosis = load_record(os.path.join(folder, "diagnose.json"))
    return write_report(
        out,
        diagnosis=diagnosis,
        model=model,
        history=history,
        config=config,
        X=X,
        y=y,
        snapshots=snapshots,
        grad_norms=grad_norms,
        explain_sample=explain_sample,
        loss=loss,
        title=f"chainrule run report: {os.path.basename(os.path.abspath(folder))}",
    )
