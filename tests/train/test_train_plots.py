"""History records and the plots: loss curves, decision boundaries, confusion matrices."""

import math
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.history import History

PNG = b"\x89PNG\r\n\x1a\n"


def test_history_append_pads_missing_keys_and_round_trips():
    h = History({"epochs": 3})
    h.append(0, {"loss": 1.0})
    h.append(1, {"loss": 0.5, "val_loss": 0.7})
    h.append(2, {"loss": 0.25})
    assert h.history["loss"] == [1.0, 0.5, 0.25]
    assert math.isnan(h.history["val_loss"][0]) and math.isnan(h.history["val_loss"][2])
    assert h["loss"] is h.history["loss"] and len(h) == 3
    assert h.best("loss") == (2, 0.25)
    assert h.best("val_loss") == (1, 0.7)
    back = History.from_dict(h.to_dict())
    assert back.history["loss"] == h.history["loss"] and back.epoch == h.epoch
    assert back.params == {"epochs": 3}
    with pytest.raises(KeyError, match="it has loss, val_loss"):
        h.best("accuracy")


def test_history_plot_writes_an_image(tmp_path):
    X, y = cr.datasets.xor()
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    h = cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=3,
        validation_data=(X, y),
        metrics=("accuracy", "f1"),
        verbose=False,
    )
    path = h.plot(tmp_path / "curves.png")
    assert open(path, "rb").read(8) == PNG
    fig = h.plot()
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "f1"]
    assert len(fig.axes[0].lines) == 2  # training and validation
    svg = h.plot(tmp_path / "curves.svg", metrics=["lr"])
    assert b"<svg" in open(svg, "rb").read(400)
    with pytest.raises(ValueError, match="not in the history: r2"):
        h.plot(metrics=["r2"])


def test_decision_boundary_binary_and_multiclass(tmp_path):
    X, y = cr.datasets.moons(n=100, noise=0.2, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        epochs=5,
        verbose=False,
    )
    path = cr.plot.decision_boundary(model, X, y, tmp_path / "moons.png", resolution=50)
    assert open(path, "rb").read(8) == PNG
    rng = np.random.default_rng(0)
    y3 = rng.integers(0, 3, size=60)
    X3 = rng.normal(size=(60, 2)) + 3 * np.eye(3)[y3][:, :2]
    three = nn.Sequential(nn.Linear(2, 3))
    fig = cr.plot.decision_boundary(three, X3, y3, resolution=30)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["class 0", "class 1", "class 2"]
    with pytest.raises(ValueError, match=r"need \(N, 2\)"):
        cr.plot.decision_boundary(three, np.zeros((4, 3)), np.zeros(4), resolution=10)


def test_decision_boundary_probabilities_match_the_model():
    from chainrule.train.plot import _as_probabilities

    logits = np.array([[-2.0], [0.0], [3.0]])
    np.testing.assert_allclose(
        _as_probabilities(logits, None, "logits")[:, 0], 1 / (1 + np.exp(-logits[:, 0]))
    )
    scores = np.array([[1.0, 2.0, 3.0]])
    p = _as_probabilities(scores, None, "logits")
    np.testing.assert_allclose(p, np.exp(scores) / np.exp(scores).sum())
    sig = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    assert _as_probabilities(np.array([[0.3]]), sig, "auto")[0, 0] == 0.3


def test_confusion_matrix_plot(tmp_path):
    cm = cr.metrics.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1])
    path = cr.plot.confusion_matrix(cm, ["cat", "dog", "eel"], tmp_path / "cm.png")
    assert open(path, "rb").read(8) == PNG
    fig = cr.plot.confusion_matrix(cm, normalize=True)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts.count("1.00") == 2 and "0.50" in texts
    with pytest.raises(ValueError, match="2 labels for a 3×3"):
        cr.plot.confusion_matrix(cm, ["a", "b"])
    assert sorted(os.listdir(tmp_path)) == ["cm.png"]
