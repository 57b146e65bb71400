"""Metrics of multi-label outputs: several output columns, each its own yes/no, trained with a
BCE loss. ``accuracy`` took the argmax of the outputs and of the 0/1 target rows (the first
label of each row) and reported 0.715 for a model right on 99 % of the labels; precision,
recall and f1 were as meaningless and ``binary_accuracy`` raised a broadcasting error. Each
label is now scored as Keras's binary metrics score it: accuracy per label, precision/recall/F1
of label 1 over all labels (micro)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    return X, (X > 0).astype(np.float64)


def _trained():
    X, Y = _data()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    history = cr.fit(
        model, (X, Y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.02),
        epochs=40, verbose=False, batch_size=32,
        metrics=["accuracy", "binary_accuracy", "precision", "recall", "f1"],
    )  # fmt: skip
    return model, history


def _by_hand(Y, logits):
    p = logits > 0
    t = Y == 1
    tp, fp, fn = (p & t).sum(), (p & ~t).sum(), (~p & t).sum()
    return {
        "accuracy": (p == t).mean(),
        "binary_accuracy": (p == t).mean(),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
    }


def test_evaluate_scores_each_label():
    model, _ = _trained()
    X, Y = _data()
    got = cr.evaluate(
        model, (X, Y), nn.BCEWithLogitsLoss(),
        metrics=["accuracy", "binary_accuracy", "precision", "recall", "f1"],
    )  # fmt: skip
    expected = _by_hand(Y, cr.predict(model, X))
    assert expected["accuracy"] > 0.95  # learnable: each label is the sign of one feature
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_fit_logs_per_label_metrics():
    # one full batch without shuffling: the epoch's metrics are those of the outputs of the
    # step's forward pass, i.e. of the weights before the last step
    X, Y = _data()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    before = cr.predict(model, X)
    history = cr.fit(
        model, (X, Y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.02),
        epochs=1, verbose=False, shuffle=False, batch_size=200,
        metrics=["accuracy", "precision", "recall", "f1"],
    )  # fmt: skip
    expected = _by_hand(Y, before)
    for name in ("accuracy", "precision", "recall", "f1"):
        assert history.history[name][0] == pytest.approx(expected[name], abs=1e-12), name


def test_binary_accuracy_function_compares_element_by_element():
    Y = np.array([[1, 0, 1], [0, 0, 1]])
    scores = np.array([[0.9, 0.2, 0.4], [0.1, 0.7, 0.8]])
    assert cr.metrics.binary_accuracy(Y, scores) == pytest.approx(4 / 6)


def test_one_hot_targets_of_a_softmax_model_keep_argmax_accuracy():
    Y = np.eye(3)[[0, 2, 1, 2]]
    scores = np.array([[3.0, 1, 0], [0, 1, 2], [0, 2, 1], [2, 1, 0]])
    assert cr.metrics.accuracy(Y, scores) == pytest.approx(0.75)


def test_multilabel_targets_without_a_bce_loss_are_refused_not_argmaxed():
    model, _ = _trained()
    X, Y = _data()
    with pytest.raises(ValueError, match="multi-label"):
        cr.evaluate(model, (X, Y))  # no loss: several columns would be read as classes
    with pytest.raises(ValueError, match="multi-label"):
        cr.metrics.accuracy(Y, cr.predict(model, X))


def test_macro_averages_of_multilabel_outputs_are_refused():
    X, Y = _data()
    model = nn.Sequential(nn.Linear(3, 3)).double()
    with pytest.raises(ValueError, match="macro"):
        cr.fit(
            model, (X, Y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
            epochs=1, verbose=False, metrics=["macro_f1"],
        )  # fmt: skip
