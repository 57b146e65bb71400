"""The activations added to the shared vocabulary (Mish, Hardswish, ...) work in the playground:
offered in the menu, trained, and explained with the engine's own gradient."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

with warnings.catch_warnings():  # Starlette asks for httpx2 instead; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from test_playground_server import BASE, engine_grad, post  # noqa: E402

from chainrule.playground.server import create_app  # noqa: E402
from chainrule.playground.session import Session  # noqa: E402
from chainrule.playground.validation import Config  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with")

NEW = ("mish", "hardswish", "hardsigmoid", "softsign", "tanhshrink", "selu", "celu")


@pytest.fixture(scope="module")
def client():
    app = create_app(Session(Config(dataset="moons", samples=60, hidden=(3,))))
    with TestClient(app, base_url=BASE) as c:
        c.app_state = app.state.playground
        yield c


def test_the_menu_offers_the_new_activations(client):
    offered = client.get("/api/options", headers={"Origin": BASE}).json()["limits"]["activations"]
    assert set(NEW) <= set(offered)


@pytest.mark.parametrize("name", NEW)
def test_a_new_activation_trains_and_its_explanation_is_the_engines(client, name):
    r = post(client, "/api/config", {"dataset": "moons", "hidden": [3], "activation": name})
    assert r.status_code == 200, r.text
    frame = post(client, "/api/step", {"unit": "epoch", "count": 1}).json()
    assert frame["network"]["layers"][0]["activation"] == name
    r = post(client, "/api/explain", {"param": "0.weight", "index": [1, 0], "sample": 2})
    assert r.status_code == 200, r.text
    expected = engine_grad(client.app_state.session, "0.weight", (1, 0), "train", 2)
    assert r.json()["grad"] == pytest.approx(expected, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("name", NEW)
def test_chain_paths_through_a_new_activation_add_up_to_the_engines_gradient(name):
    import math

    s = Session(Config(dataset="moons", samples=60, hidden=(4, 3), activation=name, seed=3))
    for _ in range(3):
        s.step()
    d = s.explain("0.weight", [2, 1], 7)
    for path in d["chain"]:
        values = [f["value"] for f in path["factors"]]
        assert math.prod(values) == pytest.approx(path["product"], rel=1e-12, abs=1e-300)
        assert all(f["target"] is not None for f in path["factors"])
    total = sum(p["product"] for p in d["chain"]) + d["rest"]["total"]
    assert total == pytest.approx(
        engine_grad(s, "0.weight", (2, 1), "train", 7), rel=1e-9, abs=1e-15
    )
    assert len(s.probe(4)["layers"]) == 3 and s.trace(4)
