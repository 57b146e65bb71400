"""The golden examples: Mazur's published numbers, the seed network and the scalar expression
against PyTorch."""

import numpy as np
import pytest

from chainrule.explain import examples

# Published in Mazur, "A Step by Step Backpropagation Example" (2015).
MAZUR = {
    "out_h1": 0.593269992,
    "out_o1": 0.75136507,
    "out_o2": 0.772928465,
    "E": 0.298371109,
    "dE/dw5": 0.082167041,
    "new": {
        "w1": 0.149780716,
        "w2": 0.19956143,
        "w3": 0.24975114,
        "w4": 0.29950229,
        "w5": 0.35891648,
        "w6": 0.408666186,
        "w7": 0.511301270,
        "w8": 0.561370121,
    },
}


@pytest.fixture(scope="module")
def mazur():
    return examples.mazur()


def test_mazur_forward_pass(mazur):
    hidden, output = mazur.data["forward"]["layers"]
    assert hidden["a"][0][0] == pytest.approx(MAZUR["out_h1"], abs=5e-9)
    assert output["a"][0][0] == pytest.approx(MAZUR["out_o1"], abs=5e-9)
    assert output["a"][0][1] == pytest.approx(MAZUR["out_o2"], abs=5e-9)
    assert mazur.data["loss"]["value"] == pytest.approx(MAZUR["E"], abs=5e-9)
    text = str(mazur)
    for number in ("0.593269992", "0.75136507", "0.772928465", "0.298371109"):
        assert number in text


def test_mazur_chain_rule_for_w5_reads_as_published(mazur):
    chain = next(c for c in mazur.data["chains"] if c["param"] == "w5")
    assert len(chain["paths"]) == 1
    assert chain["total"] == pytest.approx(MAZUR["dE/dw5"], abs=5e-10)
    line = (
        "∂E/∂w5 = ∂E/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w5 = "
        "0.74136507 × 0.186815602 × 0.593269992 = 0.082167041"
    )
    assert line in mazur.text(width=None)  # the published line, unfolded


def test_mazur_w1_sums_two_paths(mazur):
    chain = next(c for c in mazur.data["chains"] if c["param"] == "w1")
    assert len(chain["paths"]) == 2  # h1 feeds both o1 and o2
    assert sum(p["product"] for p in chain["paths"]) == pytest.approx(
        chain["engine_grad"], abs=1e-15
    )
    assert "∂E/∂w1 = Σ over paths" in str(mazur)


def test_mazur_update_and_loss_after_one_step(mazur):
    rows = {r["name"]: r for r in mazur.data["update"]["parameters"]}
    new = np.array(rows["0.weight"]["new"] + rows["2.weight"]["new"]).reshape(-1)
    want = [MAZUR["new"][f"w{i}"] for i in range(1, 9)]
    np.testing.assert_allclose(new, want, atol=5e-9)
    assert "0.bias" not in rows  # one shared bias per layer, not updated
    assert mazur.data["loss_after"] == pytest.approx(0.291027774, abs=5e-10)
    assert "E after one step = 0.291027774" in str(mazur)


def test_mazur_sequential_order_gives_the_published_error():
    report = examples.mazur(update_order="sequential")
    assert report.data["loss_after"] == pytest.approx(0.291027924, abs=5e-10)


def test_mazur_ten_thousand_steps():
    def run(steps, order):
        net = examples.mazur_network()
        return examples.train_steps(
            net,
            examples.MAZUR_X,
            examples.MAZUR_T,
            examples.half_squared_error,
            examples.MAZUR_LR,
            steps,
            order,
        )

    loss, _ = run(10_000, "simultaneous")
    assert loss == pytest.approx(0.0000351019, abs=5e-11)
    loss, _ = run(9_999, "simultaneous")  # the error the page publishes
    assert loss == pytest.approx(0.0000351085, abs=5e-11)
    _, out = run(10_000, "sequential")  # the outputs the page publishes
    np.testing.assert_allclose(out, [0.015912196, 0.984065734], atol=5e-10)


def test_seed_network_against_pytorch():
    torch = pytest.importorskip("torch")
    report = examples.seed()
    x = torch.tensor([examples.SEED_X], dtype=torch.float64)
    t = torch.tensor([examples.SEED_T], dtype=torch.float64)
    w1 = torch.tensor(examples.SEED_W1, dtype=torch.float64, requires_grad=True)
    b1 = torch.tensor(examples.SEED_B1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(examples.SEED_W2, dtype=torch.float64, requires_grad=True)
    b2 = torch.tensor(examples.SEED_B2, dtype=torch.float64, requires_grad=True)

    def forward(w1, b1, w2, b2):
        h = torch.sigmoid(x @ w1.T + b1)
        return torch.sigmoid(h @ w2.T + b2)

    out = forward(w1, b1, w2, b2)
    loss = torch.nn.functional.binary_cross_entropy(out, t)
    loss.backward()
    assert report.data["loss"]["value"] == pytest.approx(loss.item(), abs=1e-14)
    rows = {r["name"]: r for r in report.data["update"]["parameters"]}
    for name, p in {"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2}.items():
        np.testing.assert_allclose(rows[name]["grad"], p.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            rows[name]["new"], (p - examples.SEED_LR * p.grad).detach().numpy(), atol=1e-15
        )
    with torch.no_grad():
        after = torch.nn.functional.binary_cross_entropy(
            forward(*(p - examples.SEED_LR * p.grad for p in (w1, b1, w2, b2))), t
        )
    assert report.data["loss_after"] == pytest.approx(after.item(), abs=1e-14)
    assert report.data["loss_after"] < report.data["loss"]["value"]
    text = str(report)
    for name in ("net_h1", "out_h1", "net_o1", "out_o1", "w1", "w2", "w3", "b1", "b2"):
        assert name in text


def test_scalar_expression_against_pytorch():
    torch = pytest.importorskip("torch")
    report = examples.scalar()
    a = torch.tensor(examples.SCALAR_A, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(examples.SCALAR_B, dtype=torch.float64, requires_grad=True)
    c = a * b
    d = c + b**2
    f = torch.relu(b - a)
    g = torch.relu(d + a)
    e = d * f + g + f**2 / 2
    e.backward()
    assert report.data["loss"]["value"] == pytest.approx(e.item(), abs=1e-14)
    chains = {c["param"]: c for c in report.data["chains"]}
    assert chains["a"]["total"] == pytest.approx(a.grad.item(), abs=1e-12)
    assert chains["b"]["total"] == pytest.approx(b.grad.item(), abs=1e-12)
    assert len(chains["b"]["paths"]) >= 3  # b is used several times
    nodes = {n["name"]: n for n in report.data["backward"]["nodes"]}
    assert nodes["a"]["grad"] == pytest.approx(a.grad.item(), abs=1e-12)
    assert report.data["loss_after"] < report.data["loss"]["value"]


def test_frozen_bias_is_named_and_explained_as_frozen():
    report = examples.mazur(param="b1")
    assert report.data["chains"][0]["frozen"] is True
    assert "b1 is frozen" in str(report)


def test_examples_leave_nothing_behind():
    # two calls give the same report (no state carried between them)
    assert str(examples.mazur()) == str(examples.mazur())
