"""The playground's teaching data, without a browser: the chain rule path by path with the
network element of every factor, a neuron's numbers for one sample, a weight set by hand,
multi-class and regression runs, and reproducible resets."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from chainrule.playground.server import create_app  # noqa: E402
from chainrule.playground.session import Session  # noqa: E402
from chainrule.playground.validation import Config, ValidationError  # noqa: E402
from chainrule.tensor import Tensor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with")
BASE = "http://testserver"


@pytest.fixture
def client():
    app = create_app(Session(Config(dataset="moons", samples=100, hidden=(4, 3))))
    with TestClient(app, base_url=BASE) as c:
        c.pg = app.state.playground
        yield c


def post(client, path, body):
    return client.post(path, json=body, headers={"Origin": BASE})


def engine_grad(session, name, index, sample):
    model = copy.deepcopy(session.model)
    for p in model.parameters():
        p.grad = None
    x = Tensor._make(session.X[sample : sample + 1], False)
    t = Tensor._make(session.targets(session.y[sample : sample + 1]), False)
    session.loss_fn(model(x), t).backward()
    return float(np.asarray(dict(model.named_parameters())[name].grad)[index])


@pytest.mark.parametrize(
    "dataset, param, index",
    [("moons", "0.weight", (2, 1)), ("blobs", "2.weight", (1, 3)), ("waves", "0.bias", (0,))],
)
def test_chain_paths_factor_targets_and_sum(dataset, param, index):
    s = Session(Config(dataset=dataset, samples=60, hidden=(4, 3), seed=3))
    for _ in range(4):
        s.step()
    d = s.explain(param, list(index), 7)
    products = [p["product"] for p in d["chain"]]
    assert products == sorted(products, key=lambda v: -abs(v))  # the largest path first
    for path in d["chain"]:
        values = [f["value"] for f in path["factors"]]
        assert math.prod(values) == pytest.approx(path["product"], rel=1e-12, abs=1e-300)
        targets = [f["target"] for f in path["factors"]]
        assert all(t is not None for t in targets), [f["symbol"] for f in path["factors"]]
        # the path runs from the output neuron back to the chosen parameter
        assert targets[0]["kind"] == "neuron" and targets[0]["layer"] == len(s.cfg.hidden) + 1
        last = targets[-1]
        if param.endswith("weight"):
            assert (last["kind"], last["to"], last["from"]) == ("edge", index[0], index[1])
        else:
            assert (last["kind"], last["index"]) == ("neuron", index[0])
        assert last["layer"] == d["layer"]
        # neighbouring factors meet at the same neuron
        for a, b in zip(targets, targets[1:]):
            if a["kind"] == "edge" and b["kind"] == "neuron":
                assert (b["layer"], b["index"]) == (a["layer"] - 1, a["from"])
    total = sum(products) + d["rest"]["total"]
    assert d["rest"]["count"] == 0 and d["paths"] == len(d["chain"])
    assert total == pytest.approx(engine_grad(s, param, index, 7), rel=1e-9, abs=1e-15)
    assert d["engine_grad"] == pytest.approx(engine_grad(s, param, index, 7), rel=1e-12)


def test_probe_numbers_are_the_forward_pass(client):
    s = client.pg.session
    r = post(client, "/api/probe", {"sample": 4})
    assert r.status_code == 200, r.text
    d = r.json()
    assert len(d["layers"]) == 3
    for layer in d["layers"]:
        W, b, a_in = (np.array(layer[k]) for k in ("W", "b", "inputs"))
        np.testing.assert_allclose(W @ a_in + b, layer["z"], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(d["layers"][0]["inputs"], s.X[4], atol=1e-9)
    out = np.asarray(s.model(Tensor._make(s.X[4:5], False)).data)[0]
    np.testing.assert_allclose(d["layers"][-1]["a"], out, atol=1e-8)
    np.testing.assert_allclose(d["layers"][0]["a"], np.tanh(d["layers"][0]["z"]), atol=1e-8)
    assert post(client, "/api/probe", {"sample": 10_000}).status_code == 400


def test_weight_set_by_hand_updates_loss_and_boundary(client):
    s = client.pg.session
    before = client.get("/api/state").json()
    r = post(client, "/api/weight", {"param": "4.weight", "index": [0, 1], "value": 7.5})
    assert r.status_code == 200, r.text
    frame = r.json()
    assert float(np.asarray(s.model[4].weight.data)[0, 1]) == 7.5
    assert frame["network"]["layers"][2]["W"][0][1] == 7.5
    assert frame["scores"]["loss"] != before["scores"]["loss"]
    assert frame["boundary"]["p"] != before["boundary"]["p"]
    assert frame["scores"]["loss"] == pytest.approx(s._loss_of(s.X, s.y), rel=1e-12)
    for bad, word in [
        ({"param": "4.weight", "index": [0, 1], "value": float("nan")}, "finite"),
        ({"param": "4.weight", "index": [0, 1], "value": 1e6}, "weight value"),
        ({"param": "4.weight", "index": [5, 1], "value": 1}, "index into 4.weight"),
        ({"param": "9.weight", "index": [0, 0], "value": 1}, "unknown parameter"),
        ({"param": "4.weight", "index": [0, 1]}, "missing value"),
    ]:
        r = client.post(
            "/api/weight",
            content=__import__("json").dumps(bad).replace("NaN", "NaN"),
            headers={"Origin": BASE, "Content-Type": "application/json"},
        )
        assert r.status_code == 400 and word in r.json()["error"], (bad, r.text)
    # reset: the same initial weights as the first run, whatever was set by hand
    first = Session(s.cfg).network()
    frame = post(client, "/api/reset", {}).json()
    assert frame["network"] == first and frame["step"] == 0


def test_three_classes_reach_95_percent_with_a_confusion_matrix():
    s = Session(Config(dataset="blobs", samples=300, hidden=(4,), optimizer="adam", lr=0.03))
    while s.epoch < 15:
        s.step_epoch()
    f = s.frame()
    assert s.loss_name == "ce" and f["boundary"]["classes"] == 3
    assert f["scores"]["val_accuracy"] >= 0.95 and f["scores"]["accuracy"] >= 0.95
    m = np.array(f["confusion"]["matrix"])
    assert m.shape == (3, 3) and m.sum() == len(s.X_val)
    assert np.trace(m) / m.sum() == pytest.approx(f["scores"]["val_accuracy"])


def test_regression_fits_a_two_input_function_and_a_curve():
    from sklearn.metrics import r2_score

    s = Session(
        Config(dataset="waves", samples=300, noise=0.0, hidden=(8, 8), optimizer="adam", lr=0.03)
    )
    assert s.loss_name == "mse" and s.task == "regression" and s.inputs == 2
    while s.epoch < 40:
        s.step_epoch()
    f = s.frame(full=True)
    assert f["scores"]["accuracy"] is None and f["confusion"] is None
    pred = np.asarray(s.model(Tensor._make(s.X_val, False)).data).reshape(-1)
    assert f["scores"]["val_r2"] == pytest.approx(r2_score(s.y_val, pred), rel=1e-9)
    assert f["scores"]["r2"] >= 0.95 and f["scores"]["val_r2"] >= 0.9
    assert f["boundary"]["kind"] == "surface" and len(f["boundary"]["p"]) == 48 * 48
    assert isinstance(f["data"]["train"]["y"][0], float)

    c = Session(Config(dataset="sine", samples=200, hidden=(6,), optimizer="adam", lr=0.05))
    assert c.inputs == 1 and c.frame()["network"]["sizes"] == [1, 6, 1]
    while c.epoch < 30:
        c.step_epoch()
    f = c.frame()
    assert f["boundary"]["kind"] == "curve" and f["scores"]["r2"] >= 0.95
    xs, ys = np.array(f["boundary"]["x"]), np.array(f["boundary"]["y"])
    inside = np.abs(xs) <= 2.9  # where there are samples (the plot's margin extrapolates)
    np.testing.assert_allclose(ys[inside], np.sin(xs[inside]), atol=0.25)
    assert len(f["neurons"][0]["maps"][0]) == 20 * 20


def test_regression_refuses_class_losses():
    with pytest.raises(ValidationError, match="is for classes"):
        Session(Config(dataset="bump", loss="bce"))


def test_many_paths_list_the_largest_and_sum_the_rest():
    s = Session(Config(dataset="moons", samples=40, hidden=(8, 8, 8), seed=1))
    s.step()
    d = s.explain("0.weight", [0, 1], 2)
    assert d["paths"] == 8 * 8 * 8 // 8 and len(d["chain"]) == 12
    shown = [p["product"] for p in d["chain"]]
    assert d["rest"]["count"] == d["paths"] - 12
    assert min(abs(v) for v in shown) > 0
    assert sum(shown) + d["rest"]["total"] == pytest.approx(
        engine_grad(s, "0.weight", (0, 1), 2), rel=1e-9
    )


def test_the_explanations_update_is_the_sessions_own_optimizers_step():
    """With Adam, the panel's update section shows Adam's step from its state (it showed a plain
    SGD step w − lr·∂E/∂w whatever the session trained with), and nothing is stepped."""
    import html
    import re

    s = Session(Config(dataset="moons", samples=40, optimizer="adam", lr=0.05, seed=2))
    for _ in range(3):
        s.step()
    weights = [p.array.copy() for p in s.model.parameters()]
    moments = [
        {k: np.array(getattr(v, "array", v)) for k, v in entry.items()}
        for entry in s.optimizer.state.values()
    ]
    d = s.explain("0.weight", [0, 1], 2)
    text = " ".join(html.unescape(re.sub("<[^>]+>", " ", d["html"])).split())
    update = text[text.find("4. The update") :]
    assert update.startswith("4. The update One step of your optimizer, Adam(lr=0.05")
    assert "after 3 steps of its own" in update
    assert all(np.array_equal(w, p.array) for w, p in zip(weights, s.model.parameters()))
    for kept, entry in zip(moments, s.optimizer.state.values()):
        for key, value in kept.items():
            np.testing.assert_array_equal(np.array(getattr(entry[key], "array", entry[key])), value)
