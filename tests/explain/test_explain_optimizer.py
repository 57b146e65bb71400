"""explain(optimizer=opt) shows the step of the user's own optimizer (Adam, SGD with momentum
and weight decay), state included, with its update rule; the new values are PyTorch's, and
the user's optimizer and model are not stepped."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.explain.datamodel import Explanation

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(3, 2))
Y = np.random.default_rng(1).normal(size=(3, 1))

OPTIMIZERS = [
    (
        lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
        "m_t = β₁·m_{t−1} + (1 − β₁)·g",
    ),
    (
        lambda p: optim.AdamW(p, lr=0.02, betas=(0.8, 0.99)),
        lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.8, 0.99)),
        "θ ← θ·(1 − η·λ)",
    ),
    (
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        "g   = ∇ + λ·θ",
    ),
]


def _pair():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    twin = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    twin = twin.double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
            q.copy_(torch.from_numpy(np.array(p.data)))
    return model, twin


def _train(model, opt, twin, torch_opt, steps):
    for i in range(steps):
        x, y = X[i % 3 : i % 3 + 1], Y[i % 3 : i % 3 + 1]
        opt.zero_grad()
        nn.MSELoss()(model(cr.tensor(x, dtype="float64")), cr.tensor(y, dtype="float64")).backward()
        opt.step()
        torch_opt.zero_grad()
        torch.nn.functional.mse_loss(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        torch_opt.step()


@pytest.mark.parametrize("steps", [0, 2])
@pytest.mark.parametrize("make, make_torch, rule_line", OPTIMIZERS)
def test_the_update_is_the_users_optimizer_step(make, make_torch, rule_line, steps):
    model, twin = _pair()
    opt, torch_opt = make(model.parameters()), make_torch(twin.parameters())
    _train(model, opt, twin, torch_opt, steps)
    before = {n: np.array(p.data) for n, p in model.named_parameters()}
    state_before = opt.state_dict()
    report = cr.explain(model, X, Y, nn.MSELoss(), optimizer=opt)
    # PyTorch takes the same step from the same state
    torch_opt.zero_grad()
    loss = torch.nn.functional.mse_loss(twin(torch.from_numpy(X)), torch.from_numpy(Y))
    loss.backward()
    torch_opt.step()
    new = {n: q.detach().numpy() for n, q in twin.named_parameters()}
    for row in report.data["update"]["parameters"]:
        np.testing.assert_allclose(row["new"], new[row["name"]], rtol=0, atol=1e-9)
    after = torch.nn.functional.mse_loss(twin(torch.from_numpy(X)), torch.from_numpy(Y)).item()
    assert report.data["update"]["loss_after"] == pytest.approx(after, abs=1e-12)
    update = report.data["update"]
    assert update["optimizer"].startswith(type(opt).__name__ + "(lr=")
    earlier = ", with the state of its earlier steps" if "SGD" in update["optimizer"] else None
    assert update["optimizer"].endswith(earlier or ", after 2 steps of its own") == (steps == 2)
    assert any(line.startswith(rule_line) for line in update["rule"])
    restored = Explanation.from_dict(json.loads(report.json()))
    assert restored.update.optimizer == update["optimizer"] and restored.to_dict() == report.data
    text = report.text(width=None)
    assert "Δθ = new − old" in text and "θ_new = θ_old − η · ∂E/∂θ" not in text
    # the user's model and optimizer are untouched
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(np.array(p.data), before[n])
    after_state = opt.state_dict()
    assert after_state["param_groups"] == state_before["param_groups"]
    for k, s in state_before["state"].items():
        for key, value in s.items():
            np.testing.assert_array_equal(after_state["state"][k][key], value)


def test_without_an_optimizer_the_update_is_plain_sgd_as_before():
    model, _ = _pair()
    report = cr.explain(model, X, Y, nn.MSELoss())
    assert report.data["update"]["lr"] == 0.1
    assert "optimizer" not in report.data["update"]
    assert "θ_new = θ_old − η · ∂E/∂θ,   η = 0.1" in str(report)
    text = report.text(width=None).replace("\n", " ")
    assert "One step of plain gradient descent (chainrule.optim.SGD with lr = η)" in text
    assert "explain(..., optimizer=opt) shows the step of your own optimizer" in text


def test_bad_optimizer_arguments_are_refused_clearly():
    model, _ = _pair()
    opt = optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="lr= or optimizer=, not both"):
        cr.explain(model, X, Y, nn.MSELoss(), lr=0.1, optimizer=opt)
    with pytest.raises(ValueError, match="sequential"):
        cr.explain(model, X, Y, nn.MSELoss(), optimizer=opt, update_order="sequential")
    other = optim.SGD([cr.tensor(np.zeros(3), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="not a parameter of the model explained"):
        cr.explain(model, X, Y, nn.MSELoss(), optimizer=other)
    with pytest.raises(TypeError, match="chainrule.optim optimizer"):
        cr.explain(model, X, Y, nn.MSELoss(), optimizer="adam")


def test_an_optimizer_with_two_groups_names_what_the_second_group_changes():
    # "SGD(lr=0.5, momentum=0.9, ...); 2 groups" showed the first group's lr as if it were the
    # only one, while the second layer stepped with lr=0.1
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    groups = [{"params": model[0].parameters(), "lr": 0.5}, {"params": model[2].parameters()}]
    opt = optim.SGD(groups, lr=0.1, momentum=0.9)
    x, y = np.ones((2, 3)), np.zeros((2, 2))
    text = str(cr.explain(model, x, y, nn.MSELoss(), optimizer=opt))
    said = " ".join(text.split("4. The update", 1)[1].split()[:40])
    assert "2 groups, the first shown (group 2: lr=0.1)" in said
