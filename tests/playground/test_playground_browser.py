"""End to end in a real headless Chromium (Debian's chromium, driven by Playwright).

Skipped, with the reason, where Chromium or Playwright is missing; CI installs both.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the playground extra (uvicorn) is not installed")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
)

CHROMIUM = os.environ.get("CHAINRULE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Chromium is not installed (apt-get install chromium); the browser tests need it",
        allow_module_level=True,
    )

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def server():
    from chainrule.playground.server import make_server
    from chainrule.playground.session import Session
    from chainrule.playground.validation import Config

    session = Session(
        Config(dataset="moons", samples=200, hidden=(4, 3), optimizer="adam", lr=0.03)
    )
    srv, sock, url = make_server("127.0.0.1", 0, session=session)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not srv.started and time.time() < deadline:
        time.sleep(0.02)
    assert srv.started, "the playground server did not start"
    yield url, srv.config.app.state.playground
    srv.should_exit = True
    thread.join(timeout=10)


def _number(page, selector, attribute):
    return float(page.get_attribute(selector, attribute))


def _engine_grad(session, name, index, sample):
    """∂E/∂w by the engine: forward the sample through a copy of the model, backward, .grad."""
    from chainrule.tensor import Tensor

    model = copy.deepcopy(session.model)
    for p in model.parameters():
        p.grad = None
    x = Tensor._make(session.X[sample : sample + 1], False)
    t = Tensor._make(session.targets(session.y[sample : sample + 1]), False)
    session.loss_fn(model(x), t).backward()
    return float(dict(model.named_parameters())[name].grad[index])


def test_playground_in_chromium(browser, server, tmp_path):
    url, pg = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url)
    page.wait_for_function("() => document.getElementById('loss-value').dataset.loss !== ''")
    first = _number(page, "#loss-value", "data-loss")

    # Play until the displayed loss has fallen, then pause
    page.click("#play")
    page.wait_for_function(
        f"() => Number(document.getElementById('loss-value').dataset.loss) < {0.8 * first}",
        timeout=20_000,
    )
    page.click("#play")
    page.wait_for_function("() => document.getElementById('play').dataset.playing === '0'")
    time.sleep(0.2)
    step = pg.session.step_count
    page.wait_for_function(f"() => document.getElementById('step-value').dataset.step === '{step}'")
    assert not pg.playing and step > 0
    assert _number(page, "#loss-value", "data-loss") < 0.8 * first

    # click a weight: the panel's gradient is the engine's .grad for that weight and sample
    page.fill("#sample", "5")
    page.dispatch_event("#sample", "change")
    point = page.evaluate("() => window.playground.edgePoint('2.weight', [1, 2])")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(
        "() => document.getElementById('explain').dataset.param === '2.weight[1, 2]'"
    )
    shown = _number(page, "#explain", "data-grad")
    assert int(page.get_attribute("#explain", "data-step")) == step
    expected = _engine_grad(pg.session, "2.weight", (1, 2), 5)
    assert shown == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert _number(page, "#explain", "data-engine-grad") == pytest.approx(expected, rel=1e-12)
    page.click("#explain details summary")  # the whole explanation opens on demand
    frame = page.frame_locator("#explain iframe")
    assert "2.weight[1, 2]" in frame.locator("h1").first.text_content(timeout=5_000)
    assert "Chain rule" in frame.locator("body").text_content() or "chain rule" in (
        frame.locator("body").text_content().lower()
    )

    # click a neuron: its bias
    page.locator("#network").scroll_into_view_if_needed()
    node = page.evaluate(
        "() => { const n = window.playground.state.nodes.find(n => n.param === '0.bias'"
        " && n.index[0] === 0); const r = document.getElementById('network')"
        ".getBoundingClientRect(); return {x: r.left + n.x + n.s / 2, y: r.top + n.y + n.s / 2}; }"
    )
    page.mouse.click(node["x"], node["y"])
    page.wait_for_function("() => document.getElementById('explain').dataset.param === '0.bias[0]'")
    assert _number(page, "#explain", "data-grad") == pytest.approx(
        _engine_grad(pg.session, "0.bias", (0,), 5), rel=1e-9, abs=1e-12
    )

    # step-through: forward layer by layer, then the loss, backward layer by layer, the update
    page.click("#trace-start")
    phases = []
    for _ in range(9):
        page.wait_for_selector("#trace-detail table")
        phases.append(page.get_attribute("#trace-phase", "data-phase"))
        if phases[-1] == "forward-1":
            cells = page.locator("#trace-detail td.num").all_text_contents()
            from chainrule.report import views

            hidden = views.layer_outputs(pg.session.model, pg.session.X[5:6])[0][0]
            shown_a = [float(c) for c in cells[2::3]]  # columns: neuron, z, a
            np.testing.assert_allclose(shown_a, hidden, rtol=1e-5, atol=1e-6)
        page.click("#trace-next")
    assert phases == [
        "forward-1",
        "forward-2",
        "forward-3",
        "loss",
        "backward-3",
        "backward-2",
        "backward-1",
        "update",
        "update",
    ]
    # the gradient view redraws the edges from the engine's gradients
    page.check("#show-grads")
    assert page.evaluate("() => window.playground.state.showGrads") is True

    # upload a CSV through the page
    csv = tmp_path / "quadrants.csv"
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{'in' if a * b > 0 else 'out'}" for a, b in rng.normal(size=(80, 2))]
    csv.write_text("u,v,side\n" + "\n".join(rows) + "\n")
    page.set_input_files("#upload", str(csv))
    page.wait_for_function("() => document.querySelector('[name=dataset]').value === 'upload'")
    assert pg.session.upload.filename == "quadrants.csv" and pg.session.step_count == 0

    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
    assert errors == []
    page.close()


def test_report_opens_offline_in_chromium(browser, tmp_path):
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.report import ReportRecorder, write_report

    X, y = cr.datasets.circles(n=150, seed=0)
    model = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    rec = ReportRecorder(X, y, loss=loss_fn, snapshots=5)
    history = cr.fit(
        model,
        (X, y),
        loss_fn,
        optim.Adam(model.parameters(), lr=0.05),
        epochs=8,
        validation_split=0.2,
        callbacks=[rec],
        verbose=False,
    )
    path = write_report(
        tmp_path / "report.html",
        model=model,
        history=history,
        config={"lr": 0.05},
        X=X,
        y=y,
        snapshots=rec.snapshots,
        grad_norms=rec.grad_norms,
        explain_sample=(X[:1], y[:1], loss_fn),
    )

    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
    outside = []

    def refuse(route):
        if not route.request.url.startswith(("file:", "data:", "about:")):
            outside.append(route.request.url)
        route.abort() if outside and outside[-1] == route.request.url else route.continue_()

    context.route("**/*", refuse)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"file://{path}")
    page.wait_for_load_state("load")
    charts = page.evaluate(
        "() => [...document.querySelectorAll('svg.chart')].map(s => ({w: s.getBoundingClientRect()"
        ".width, lines: s.querySelectorAll('polyline').length}))"
    )
    assert len(charts) >= 3 and all(c["w"] > 100 and c["lines"] >= 1 for c in charts)
    images = page.evaluate(
        "() => [...document.querySelectorAll('svg.boundary image')].map(i => "
        "({href: i.getAttribute('href').slice(0, 22), w: i.getBoundingClientRect().width}))"
    )
    assert len(images) == len(rec.snapshots) + 1
    assert all(i["href"] == "data:image/png;base64," and i["w"] > 100 for i in images)
    # the PNG heat maps really decode: draw one on a canvas and read a pixel back
    decoded = page.evaluate(
        "async () => { const img = new Image(); img.src = document.querySelector("
        "'svg.boundary image').getAttribute('href'); await img.decode(); return img.naturalWidth; }"
    )
    assert decoded == rec.snapshots[0]["size"] or decoded == 60
    assert page.locator("svg.network path.edge").count() == 6 * 2 + 6
    frame = page.frame_locator("iframe.explain")
    assert frame.locator("h1").first.text_content(timeout=5_000)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert outside == [] and errors == []
    context.close()
