"""Findings on runs users make: a fix that fits the cause (units killed by the learning rate, a
saturated output sigmoid, a tanh or ReLU network whose gradients vanish), messages without
"by 0 of their size", and chain-rule explanations for CNNs."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.diagnose import findings as F
from chainrule.diagnose.chain import dead_relu_chain, vanishing_chain
from chainrule.diagnose.recorder import Recorder
from chainrule.diagnose.run_view import RunView

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def record(**parts):
    rec = {
        "params": ["0.weight", "2.weight"],
        "shapes": {"0.weight": [4, 4], "2.weight": [4, 4]},
        "grad_norm": {"0.weight": [1.0] * 8, "2.weight": [1.0] * 8},
        "update_ratio": {"0.weight": [1e-3] * 8, "2.weight": [1e-3] * 8},
        "batch_loss": list(np.linspace(1.0, 0.2, 60)),
        "epochs": {"loss": list(np.linspace(0.9, 0.2, 6)), "lr": [3.0] * 6},
        "activations": {},
        "sample": {"x": None, "y": None},
    }
    rec.update(parts)
    return RunView(rec)


def relu_stats(dead):
    return {"1": {"kind": "relu", "layer": "ReLU", "dead": dead, "saturated": []}}


def test_dead_relu_killed_during_training_blames_the_learning_rate():
    # alive at the first record, dead later: the biases were never negative at the start,
    # so "initialise biases at 0" was the wrong advice
    run = record(activations=relu_stats([0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]))
    finding = F.dead_relu(run)
    assert "died during training (10% were dead in the first record)" in finding.sentence
    assert finding.fix.startswith("Lower the learning rate (lr 3) by 10x")
    assert "biases" not in finding.fix
    assert finding.evidence["dead_at_start"] == pytest.approx(0.1)


def test_dead_relu_dead_from_the_start_blames_the_initialisation():
    finding = F.dead_relu(record(activations=relu_stats([1.0] * 8)))
    assert "died during training" not in finding.sentence
    assert finding.fix.startswith("Initialise biases at 0")


def saturated_stats(output):
    return {"3": {"kind": "sigmoid", "layer": "Sigmoid", "output": output, "saturated": [1.0] * 8}}


def test_saturated_output_sigmoid_suggests_bce_with_logits():
    flat = list(np.full(60, 0.7))
    finding = F.saturated(record(activations=saturated_stats(True), batch_loss=flat))
    assert "(Sigmoid, the output)" in finding.sentence
    assert "BCEWithLogitsLoss" in finding.fix and "hidden layers" not in finding.fix
    hidden = F.saturated(record(activations=saturated_stats(False), batch_loss=flat))
    assert "ReLU in hidden layers" in hidden.fix


def test_saturated_during_training_blames_the_learning_rate():
    # not saturated at the first record: "standardise the inputs" was the wrong advice
    acts = {"1": {"kind": "tanh", "layer": "Tanh", "saturated": [0.0] + [0.9] * 7}}
    finding = F.saturated(record(activations=acts, batch_loss=list(np.full(60, 0.7))))
    assert "They saturated during training (0% at the first record)" in finding.sentence
    assert finding.fix.startswith("Lower the learning rate (lr 3) by 10x")
    assert "Standardise" not in finding.fix


@pytest.mark.parametrize(
    "kind, expected",
    [("sigmoid", "instead of sigmoid"), ("tanh", "tanh units do not saturate"),
     ("relu", "Kaiming/He")],
)  # fmt: skip
def test_vanishing_fix_fits_the_hidden_activation(kind, expected):
    acts = {"1": {"kind": kind, "layer": kind, "output": False}}
    run = record(activations=acts, grad_norm={"0.weight": [1e-4] * 8, "2.weight": [1.0] * 8})
    fix = F.vanishing(run).fix
    assert expected in fix
    if kind != "sigmoid":
        assert "sigmoid" not in fix


def test_loss_rose_with_weights_that_stopped_moving():
    run = record(
        batch_loss=[0.7] + [50.0] * 59,
        update_ratio={"0.weight": [0.0] * 8, "2.weight": [0.0] * 8},
    )
    finding = F.loss_rose(run)
    assert "by 0 of their size" not in finding.sentence
    assert "no longer moved" in finding.sentence


def test_recorder_marks_the_output_activation():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
    X, y = cr.datasets.moons(n=64, seed=0)
    rec = Recorder(every=1, verbose=False)
    cr.fit(model, (X, y.reshape(-1, 1).astype("float32")), nn.BCELoss(),
           optim.SGD(model.parameters(), lr=0.1), epochs=1, callbacks=[rec], verbose=0)  # fmt: skip
    acts = rec.record["activations"]
    assert acts["1"]["output"] is False and acts["3"]["output"] is True


def small_cnn(dead_channel=None):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)
    )
    if dead_channel is not None:
        with cr.no_grad():
            model[0].bias[dead_channel] = -50.0
    return model


def test_dead_relu_chain_on_a_cnn_names_a_dead_channel():
    # the conv kernel (4-D) was not looked for: the finding had no explanation
    model = small_cnn(dead_channel=1)
    x = np.random.default_rng(0).normal(size=(1, 1, 4, 4))
    chain = dead_relu_chain(model, x, np.array([1]), nn.CrossEntropyLoss(), "1")
    assert chain["param"] == "0.weight[1, 0, 0, 0]" and chain["channel"]
    assert chain["factor"] == 0.0 and chain["z"] < 0
    assert chain["engine_grad"] == 0.0


def test_dead_relu_chain_on_a_cnn_without_a_dead_channel_says_nothing():
    # a unit dead at one pixel does not stop its kernel's gradient: no "gradient is 0" claim
    x = np.random.default_rng(0).normal(size=(1, 1, 4, 4))
    assert dead_relu_chain(small_cnn(), x, np.array([1]), nn.CrossEntropyLoss(), "1") is None


def test_vanishing_chain_on_a_conv_kernel():
    model = small_cnn()
    x = np.random.default_rng(0).normal(size=(1, 1, 4, 4))
    chain = vanishing_chain(model, x, np.array([1]), nn.CrossEntropyLoss(), "0.weight")
    assert chain["param"] == "0.weight[0, 0, 0, 0]"
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)
