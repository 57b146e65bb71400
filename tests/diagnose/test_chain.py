"""The chain-rule explanations of vanishing gradients and dead ReLUs carry the real numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from diagnose_cases import BROKEN, train

import chainrule as cr

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_vanishing_gradient_is_a_product_of_small_sigmoid_factors():
    rec, _ = train(BROKEN["deep_sigmoid"][1])
    finding = rec.findings[0]
    assert finding.code == "VANISHING_GRADIENTS"
    chain = finding.chain
    factors = chain["factors"]
    sig = [f for f in factors if f["formula"] == "σ(z)·(1 − σ(z))"]
    assert len(sig) == 8  # one per sigmoid layer on the path
    assert all(0 < f["value"] <= 0.25 for f in sig)
    assert math.prod(f["value"] for f in factors) == pytest.approx(chain["product"], rel=1e-9)
    # the sum over every path is the engine's own gradient
    assert chain["total"] == pytest.approx(chain["engine_grad"], rel=1e-6, abs=1e-15)
    assert abs(chain["total"]) < 1e-5
    text = finding.explanation
    assert "σ'(z) ≤ 0.25" in text and "0.weight[0, 0]" in text


def test_vanishing_chain_matches_a_fresh_explain():
    rec, _ = train(BROKEN["deep_sigmoid"][1])
    finding = rec.findings[0]
    x = np.asarray(rec.record["sample"]["x"])[:1]
    y = np.asarray(rec.record["sample"]["y"])[:1]
    report = cr.explain(rec.model, x, y, cr.nn.BCEWithLogitsLoss(), param="0.weight[0, 0]")
    assert report.data["chains"][0]["engine_grad"] == pytest.approx(
        finding.chain["engine_grad"], rel=1e-9
    )


def test_dead_relu_shows_the_zero_factor():
    rec, _ = train(BROKEN["relu_killed_by_bias"][1])
    finding = rec.findings[0]
    assert finding.code == "DEAD_RELU"
    chain = finding.chain
    assert chain["factor"] == 0.0
    assert chain["z"] <= 0
    assert chain["engine_grad"] == 0.0
    assert chain["nonzero_paths"] == 0
    assert chain["param"].startswith("0.weight[")
    assert "= 0" in finding.explanation and "relu'(z)" in finding.explanation


def test_a_relu_module_used_at_two_places_is_not_explained_with_the_wrong_unit():
    # act = nn.ReLU() used after both hidden layers, the second use dead (bias -20): the finding
    # blamed "unit j of layer 1 at z[j] = -21" for a weight of layer 0, which feeds the first,
    # living use; the numbers are the last call's, and the finding now says so
    from diagnose_cases import moons

    from chainrule import nn, optim

    def shared_relu():
        X, y = moons()
        act = nn.ReLU()
        model = nn.Sequential(nn.Linear(2, 16), act, nn.Linear(16, 16), act, nn.Linear(16, 1))
        np.asarray(model[2].bias)[...] = -20.0
        opt = optim.SGD(model.parameters(), lr=0.1)
        return model, (X, y), nn.BCEWithLogitsLoss(), opt, 4, {}

    rec, _ = train(shared_relu)
    finding = rec.findings[0]
    assert finding.code == "DEAD_RELU" and finding.evidence["calls"] == 2
    assert "called 2 times in each forward pass" in finding.sentence
    assert finding.explanation is None and "called 2 times" in finding.evidence["explain_error"]


def test_dead_relu_explains_the_weight_the_forward_pass_ran_before_it():
    # the ReLU module defined after both layers (fc1, fc2, act) but called between them: the
    # weight "before" it was taken in definition order, fc2's, not fc1's that feeds it
    from diagnose_cases import moons

    from chainrule import nn, optim

    class DefinedLast(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.act = nn.Linear(2, 16), nn.Linear(16, 16), nn.ReLU()
            self.out = nn.Linear(16, 1)

        def forward(self, x):
            return self.out(self.fc2(self.act(self.fc1(x))))

    def dead_first_layer():
        X, y = moons()
        model = DefinedLast()
        np.asarray(model.fc1.bias)[...] = -20.0
        opt = optim.SGD(model.parameters(), lr=0.1)
        return model, (X, y), nn.BCEWithLogitsLoss(), opt, 4, {}

    rec, _ = train(dead_first_layer)
    finding = rec.findings[0]
    assert finding.code == "DEAD_RELU" and finding.chain is not None
    unit = finding.chain["unit"]
    assert finding.chain["param"] == f"fc1.weight[{unit}, 0]"
    assert finding.chain["z"] < -19 and finding.chain["engine_grad"] == 0


def test_a_hidden_sigmoid_defined_after_the_layers_is_not_called_the_output():
    # output-ness came from definition order: a Sigmoid defined last in __init__, though it
    # sits between fc1 and fc2, got the output layer's fix ("leave out the final Sigmoid")
    from diagnose_cases import moons

    from chainrule import nn, optim

    class DefinedLast(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.act = nn.Linear(2, 32), nn.Linear(32, 1), nn.Sigmoid()

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    def saturated_hidden():
        X, y = moons()
        model = DefinedLast()
        for p in model.fc1.parameters():
            np.asarray(p)[...] *= 30.0
        opt = optim.SGD(model.parameters(), lr=0.01)
        return model, (X, y), nn.BCEWithLogitsLoss(), opt, 4, {}

    rec, _ = train(saturated_hidden)
    assert rec.record["activations"]["act"]["output"] is False
    saturated = next(f for f in rec.findings if f.code == "SATURATED")
    assert saturated.evidence["output"] is False
    assert "output layer" not in saturated.fix and "(Sigmoid, the output)" not in saturated.sentence


def test_layers_are_ordered_as_the_forward_pass_ran_them_not_as_defined():
    # the head defined before the body: "the first layer" was the head (named_parameters
    # order), the gradient ratio came out inverted, and eight sigmoid layers whose first
    # weights get 1e6x smaller gradients were called "a plateau ... gradients look healthy"
    from diagnose_cases import moons

    from chainrule import nn, optim

    class HeadFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(16, 1)
            sizes = [2] + [16] * 7
            self.body = nn.Sequential(*[m for n in sizes for m in (nn.Linear(n, 16), nn.Sigmoid())])

        def forward(self, x):
            return self.head(self.body(x))

    def head_first():
        X, y = moons()
        model = HeadFirst()
        return model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), 8, {}

    rec, _ = train(head_first)
    assert rec.record["module_order"][0] == "body.0" and rec.record["module_order"][-1] == "head"
    finding = rec.findings[0]
    assert finding.code == "VANISHING_GRADIENTS"
    assert (finding.evidence["first"], finding.evidence["last"]) == ("body.0.weight", "head.weight")
