"""The playground's HTTP API, driven through Starlette's TestClient (no browser)."""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

with warnings.catch_warnings():  # Starlette asks for httpx2 instead; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from chainrule.playground.server import create_app, hosts_for  # noqa: E402
from chainrule.playground.session import Session  # noqa: E402
from chainrule.playground.validation import Config  # noqa: E402
from chainrule.tensor import Tensor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with")

BASE = "http://testserver"
OWN = {"Origin": BASE}


@pytest.fixture
def client():
    app = create_app(Session(Config(dataset="moons", samples=100, hidden=(4, 3))))
    with TestClient(app, base_url=BASE) as c:
        c.app_state = app.state.playground
        yield c


def post(client, path, body=None, **kw):
    headers = {**OWN, **kw.pop("headers", {})}
    return client.post(path, json=body if body is not None else {}, headers=headers, **kw)


def engine_grad(session: Session, name: str, index: tuple, split: str, sample: int) -> float:
    """∂E/∂w the plain way: forward the sample through a copy of the model, backward, read .grad."""
    X, y = (session.X, session.y) if split == "train" else (session.X_val, session.y_val)
    model = copy.deepcopy(session.model)
    for p in model.parameters():
        p.grad = None  # the copy carries the last batch's gradients
    x = Tensor._make(X[sample : sample + 1], False)
    t = Tensor._make(session.targets(y[sample : sample + 1]), False)
    session.loss_fn(model(x), t).backward()
    return float(dict(model.named_parameters())[name].grad[index])


def test_page_and_assets_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/assets/nothing.js").status_code == 404
    assert client.get("/assets/..%2Fserver.py").status_code == 404


def test_state_options_step_and_reset(client):
    opts = client.get("/api/options").json()
    assert opts["limits"]["max_hidden_layers"] >= 2 and "moons" in opts["limits"]["datasets"]
    state = client.get("/api/state").json()
    assert state["step"] == 0 and state["network"]["sizes"] == [2, 4, 3, 1]
    assert len(state["data"]["train"]["X"]) == 80 and len(state["data"]["val"]["X"]) == 20
    assert len(state["boundary"]["p"]) == state["boundary"]["size"] ** 2
    assert [len(layer["maps"]) for layer in state["neurons"]] == [4, 3, 1]
    w0 = state["network"]["layers"][0]["W"]

    r = post(client, "/api/step", {"unit": "batch"})
    assert r.status_code == 200, r.text
    frame = r.json()
    assert frame["step"] == 1 and frame["epoch"] == 0
    assert frame["network"]["layers"][0]["W"] != w0
    assert frame["network"]["layers"][0]["gW"] is not None

    frame = post(client, "/api/step", {"unit": "epoch"}).json()
    assert frame["epoch"] == 1 and frame["step"] == frame["steps_per_epoch"] == 8
    frame = post(client, "/api/step", {"unit": "epoch", "count": 20}).json()
    assert frame["epoch"] == 21
    losses = frame["history"]["loss"]
    assert len(losses) == 22 and losses[-1] < losses[0]
    assert len(frame["history"]["val_loss"]) == 22

    frame = post(client, "/api/reset").json()
    assert frame["step"] == 0 and frame["network"]["layers"][0]["W"] == w0


def test_config_rebuilds_the_run(client):
    r = post(
        client,
        "/api/config",
        {"dataset": "blobs", "hidden": [5], "activation": "relu", "optimizer": "adam", "lr": 0.01},
    )
    assert r.status_code == 200, r.text
    frame = r.json()
    assert frame["network"]["sizes"] == [2, 5, 3] and frame["loss_name"] == "ce"
    assert frame["boundary"]["classes"] == 3 and "label" in frame["boundary"]
    assert frame["config"]["optimizer"] == "adam"
    frame = post(client, "/api/config", {"dataset": "xor", "hidden": "3", "batch_size": 4}).json()
    assert frame["network"]["sizes"] == [2, 3, 1] and len(frame["data"]["train"]["y"]) == 4


@pytest.mark.parametrize(
    "body, words",
    [
        ({"lr": 50}, "lr"),
        ({"lr": -1}, "lr"),
        ({"lr": "fast"}, "lr"),
        ({"hidden": [4, 4, 4, 4, 4, 4, 4]}, "hidden layers"),
        ({"hidden": [4, 400]}, "width"),
        ({"hidden": [0]}, "width"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 100000}, "batch_size"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"dataset": "mnist"}, "dataset"),
        ({"activation": "swish9"}, "activation"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"weight_decay": float("1e9")}, "weight_decay"),
        ({"seed": True}, "seed"),
        ({"samples": 10**9}, "samples"),
        ({"colour": "red"}, "unknown setting"),
        ({"dataset": "blobs", "loss": "bce"}, "two classes"),
        ({"dataset": "upload"}, "upload"),
        ({"batch_size": 200}, "larger than"),
    ],
)
def test_bad_settings_get_400_with_a_message(client, body, words):
    before = client.get("/api/state").json()["config"]
    r = post(client, "/api/config", body)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]
    assert client.get("/api/state").json()["config"] == before  # nothing changed


def test_bad_requests_never_crash_the_server(client):
    assert (
        client.post(
            "/api/config", content=b"{not json", headers={**OWN, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/config",
            content=b"lr=1",
            headers={**OWN, "Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 400
    )
    assert post(client, "/api/config", [1, 2]).status_code == 400
    assert post(client, "/api/step", {"unit": "century"}).status_code == 400
    assert post(client, "/api/step", {"count": 10**6}).status_code == 400
    assert post(client, "/api/explain", {"param": "9.weight", "index": [0, 0]}).status_code == 400
    assert post(client, "/api/explain", {"param": "0.weight", "index": [9, 0]}).status_code == 400
    assert post(client, "/api/explain", {"param": "0.weight", "index": "x"}).status_code == 400
    assert post(client, "/api/explain", {"param": "0.weight"}).status_code == 400
    r = post(client, "/api/trace", {"sample": 10**6})
    assert r.status_code == 400 and "sample" in r.json()["error"]
    assert post(client, "/api/trace", {"sample": 0, "split": "test"}).status_code == 400
    assert client.get("/api/config").status_code == 405

    pg = client.app_state
    original = pg.session.frame
    pg.session.frame = lambda full=False: 1 / 0  # an unexpected bug in a view
    r = client.get("/api/state")
    assert r.status_code == 500 and "ZeroDivisionError" in r.json()["error"]
    pg.session.frame = original
    assert client.get("/api/state").status_code == 200


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_run_stops_with_a_message(client):
    post(
        client,
        "/api/config",
        {"lr": 10.0, "optimizer": "sgd", "activation": "relu", "loss": "mse", "momentum": 0.99},
    )
    r = post(client, "/api/step", {"unit": "epoch", "count": 200})
    assert r.status_code == 409 and "learning rate" in r.json()["error"]
    frame = client.get("/api/state").json()
    assert frame["error"] and all(
        np.isfinite(np.array(layer["W"])).all() for layer in frame["network"]["layers"]
    )
    assert post(client, "/api/play").status_code == 400
    assert post(client, "/api/reset").json()["error"] is None


def test_foreign_origin_is_refused(client):
    for method, path in [("get", "/api/state"), ("post", "/api/step"), ("post", "/api/reset")]:
        r = getattr(client, method)(path, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "origin" in r.json()["error"]
    r = client.post("/api/step", json={}, headers={"Origin": "http://testserver:9999"})
    assert r.status_code == 403
    assert client.get("/api/state").status_code == 200  # no Origin: a non-browser client
    assert client.get("/api/state", headers=OWN).status_code == 200
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws", headers={"Origin": "http://evil.example"}) as ws:
            ws.receive_text()
    assert info.value.code == 1008
    with client.websocket_connect("/ws", headers=OWN) as ws:
        assert ws.receive_json()["type"] == "frame"


def test_unknown_host_is_refused():
    app = create_app(Session(Config(samples=20)), allowed_hosts=hosts_for("127.0.0.1", 8123))
    with TestClient(app, base_url="http://127.0.0.1:8123") as c:
        assert c.get("/api/state").status_code == 200
        assert c.get("/api/state", headers={"Host": "localhost:8123"}).status_code == 200
        r = c.get("/api/state", headers={"Host": "attacker.example:8123"})
        assert r.status_code == 403 and "host" in r.json()["error"]
    assert hosts_for("0.0.0.0", 80) is None


CSV = "x,y,label\n" + "".join(
    f"{a:.3f},{b:.3f},{'yes' if a * b > 0 else 'no'}\n"
    for a, b in np.random.default_rng(0).normal(size=(60, 2))
)


def test_upload_a_csv(client):
    r = client.post(
        "/api/upload?filename=quad.csv",
        content=CSV.encode(),
        headers={**OWN, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    frame = r.json()
    assert frame["config"]["dataset"] == "upload" and frame["data"]["classes"] == ["no", "yes"]
    X = np.array(frame["data"]["train"]["X"] + frame["data"]["val"]["X"])
    assert len(X) == 60 and abs(X.mean()) < 0.2  # standardised
    assert post(client, "/api/step", {"unit": "epoch"}).status_code == 200


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_an_excel_export_uploads_in_its_own_encoding(client, encoding):
    # Excel's plain CSV on Windows is Windows-1252: 'chainrule train' read it, the page said
    # "the uploaded file is not UTF-8 text"
    rng = np.random.default_rng(2)
    text = "Größe;Gewicht;Klasse\r\n" + "".join(
        f"{a:.2f};{b:.2f};{'groß' if a + b > 0 else 'klein'}\r\n".replace(".", ",")
        for a, b in rng.normal(size=(40, 2))
    )
    r = client.post(
        "/api/upload?filename=excel.csv",
        content=text.encode(encoding),
        headers={**OWN, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["classes"] == ["groß", "klein"]
    assert r.json()["network"]["sizes"][0] == 2


def test_two_columns_beside_the_label_are_the_features_whatever_their_role(client):
    """A column of distinct whole numbers (a day) was left out as an identifier: the upload
    failed with 'the file has 1 feature columns' and a hint, features=[...], the page lacks."""
    rng = np.random.default_rng(1)
    text = "day,temp,label\n" + "".join(
        f"{day},{t:.2f},{'warm' if t > 0 else 'cold'}\n"
        for day, t in enumerate(rng.normal(size=30))
    )
    r = client.post(
        "/api/upload", content=text.encode(), headers={**OWN, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["classes"] == ["cold", "warm"]
    assert r.json()["network"]["sizes"][0] == 2


def test_a_small_upload_says_which_batch_size_fits(client):
    text = "a,b,label\n1,2,x\n3,1,y\n2,5,x\n6,4,y\n"  # 4 rows: all of them train
    r = client.post(
        "/api/upload", content=text.encode(), headers={**OWN, "Content-Type": "text/csv"}
    )
    assert r.status_code == 400 and "batch size to at most 4" in r.json()["error"]
    assert post(client, "/api/config", {"batch_size": 4}).status_code == 200
    r = client.post(
        "/api/upload", content=text.encode(), headers={**OWN, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("a,b,c,label\n1,2,3,x\n4,5,6,y\n7,8,9,x\n1,1,1,y\n", "feature columns"),
        ("a,label\n1,x\n2,y\n3,x\n4,y\n", "feature columns"),
        ("a,b,label\n1,2,0.5\n2,3,0.25\n3,4,0.125\n" * 3, "label"),
        ("a,b,label\n1,2,x\n", "row"),
        ("a,b,label\n1,2\n3\n", "line"),
        ("PK\x03\x04 a workbook", "xlsx"),
    ],
)
def test_bad_uploads_get_400(client, text, words):
    r = client.post(
        "/api/upload", content=text.encode(), headers={**OWN, "Content-Type": "text/csv"}
    )
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]
    assert client.get("/api/state").json()["config"]["dataset"] == "moons"


def test_upload_size_is_capped():
    app = create_app(Session(Config(samples=20)), max_upload=1000)
    with TestClient(app, base_url=BASE) as c:
        big = ("1.0,2.0,a\n" * 200).encode()
        r = c.post("/api/upload", content=big, headers={**OWN, "Content-Type": "text/csv"})
        assert r.status_code == 413 and "larger than 1000 bytes" in r.json()["error"]

        def chunks():  # no Content-Length: the cap must hold while reading
            for _ in range(200):
                yield b"1.0,2.0,a\n"

        r = c.post("/api/upload", content=chunks(), headers={**OWN, "Content-Type": "text/csv"})
        assert r.status_code == 413
        assert c.get("/api/state").status_code == 200
    assert not r.is_success


@pytest.mark.parametrize(
    "param, index, split, sample",
    [("0.weight", [1, 0], "train", 3), ("2.bias", [2], "val", 5), ("4.weight", [0, 1], "train", 0)],
)
def test_weight_explanation_gradient_is_the_engines(client, param, index, split, sample):
    post(client, "/api/step", {"unit": "epoch", "count": 3})
    r = post(
        client, "/api/explain", {"param": param, "index": index, "sample": sample, "split": split}
    )
    assert r.status_code == 200, r.text
    data = r.json()
    expected = engine_grad(client.app_state.session, param, tuple(index), split, sample)
    assert data["grad"] == pytest.approx(expected, rel=1e-9, abs=1e-13)
    assert data["engine_grad"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert data["step"] == 24 and data["paths"] >= 1
    assert "<html" in data["html"] and param in data["html"]
    value = float(
        np.asarray(dict(client.app_state.session.model.named_parameters())[param].data)[
            tuple(index)
        ]
    )
    assert data["value"] == value


def test_step_through_forward_backward_update(client):
    post(client, "/api/config", {"optimizer": "sgd", "momentum": 0.0, "lr": 0.3})
    post(client, "/api/step", {"unit": "batch", "count": 5})
    session = client.app_state.session
    r = post(client, "/api/trace", {"sample": 7})
    assert r.status_code == 200, r.text
    tr = r.json()
    assert [len(layer["a"]) for layer in tr["forward"]] == [4, 3, 1]
    assert [b["layer"] for b in tr["backward"]] == [3, 2, 1]
    # forward: the values the model itself gives for that sample
    with_model = session.model(Tensor._make(session.X[7:8], False)).data[0]
    assert tr["output"] == pytest.approx(with_model.tolist(), abs=1e-9)
    # backward: each layer's delta is the engine's gradient of that layer's bias
    for b, bias in zip(tr["backward"], ["4.bias", "2.bias", "0.bias"]):
        for j, d in enumerate(b["delta"]):
            assert d == pytest.approx(engine_grad(session, bias, (j,), "train", 7), abs=1e-9)
    # update: plain SGD, w_new = w_old - lr * grad, and the session's model is unchanged
    for u in tr["update"]:
        old, grad, new = (np.array(u[k]) for k in ("old", "grad", "new"))
        np.testing.assert_allclose(new, old - 0.3 * grad, atol=2e-9)
        live = dict(session.model.named_parameters())[u["name"]].data
        np.testing.assert_allclose(live, old, atol=1e-9)


def test_play_pushes_frames_and_pause_stops(client):
    with client.websocket_connect("/ws", headers=OWN) as ws:
        first = ws.receive_json()
        assert first["step"] == 0 and "data" in first
        assert post(client, "/api/play").json()["playing"] is True
        frames = [ws.receive_json() for _ in range(3)]
        assert frames[-1]["step"] > 0 and frames[-1]["playing"] is True
        deadline = time.time() + 10
        while client.app_state.session.epoch < 5 and time.time() < deadline:
            ws.receive_json()
        paused = post(client, "/api/pause").json()
        assert paused["playing"] is False and paused["epoch"] >= 5
        step = paused["step"]
        time.sleep(0.2)
        assert client.get("/api/state").json()["step"] == step


def test_the_command_serves_on_loopback(tmp_path):
    import subprocess
    import sys

    import httpx

    code = (
        "import argparse\n"
        "from chainrule.cli.playground_cmd import run_playground\n"
        "run_playground(argparse.Namespace(host='127.0.0.1', port=0, open=False))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("chainrule playground: http://127.0.0.1:"), line
        url = line.split()[2]
        deadline = time.time() + 15
        while True:
            try:
                r = httpx.get(url + "api/options", timeout=2)
                break
            except httpx.TransportError:
                assert time.time() < deadline, "the server did not answer"
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["limits"]["max_width"] >= 4
        page = httpx.get(url, timeout=5)
        assert page.status_code == 200 and "app.js" in page.text
        assert httpx.get(url + "assets/app.js", timeout=5).status_code == 200
        r = httpx.post(url + "api/step", json={}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=10)
