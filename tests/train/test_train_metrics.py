"""Metrics against scikit-learn on the same inputs, functions and streaming objects alike."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import metrics as M

skm = pytest.importorskip("sklearn.metrics")


def _labels(rng, n, k):
    return rng.integers(0, k, size=n)


@pytest.mark.parametrize("k", [2, 3, 7])
def test_accuracy_and_confusion_match_sklearn(rng, k):
    t, p = _labels(rng, 200, k), _labels(rng, 200, k)
    assert M.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    np.testing.assert_array_equal(M.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    labels = list(range(k))[::-1] + [k + 3]
    np.testing.assert_array_equal(
        M.confusion_matrix(t, p, labels=labels), skm.confusion_matrix(t, p, labels=labels)
    )


def test_accuracy_from_scores_logits_and_probabilities(rng):
    t = _labels(rng, 100, 4)
    scores = rng.normal(size=(100, 4))
    assert M.accuracy(t, scores) == skm.accuracy_score(t, scores.argmax(1))
    tb = _labels(rng, 100, 2)
    logits = rng.normal(size=(100, 1))
    assert M.accuracy(tb, logits, threshold=0.0) == skm.accuracy_score(tb, logits[:, 0] > 0)
    probs = 1 / (1 + np.exp(-logits))
    assert M.binary_accuracy(tb.astype(float), probs) == skm.accuracy_score(tb, probs[:, 0] > 0.5)
    onehot = np.eye(4)[t]
    assert M.accuracy(onehot, scores) == M.accuracy(t, scores)
    assert M.accuracy(cr.tensor(t), cr.tensor(scores)) == M.accuracy(t, scores)


@pytest.mark.parametrize(
    "fn,sk", [("precision", "precision_score"), ("recall", "recall_score"), ("f1", "f1_score")]
)
@pytest.mark.parametrize("average", ["binary", "macro", "micro"])
def test_precision_recall_f1_match_sklearn(rng, fn, sk, average):
    k = 2 if average == "binary" else 5
    for _ in range(5):
        t, p = _labels(rng, 60, k), _labels(rng, 60, k)
        expected = getattr(skm, sk)(t, p, average=average, zero_division=0)
        assert getattr(M, fn)(t, p, average=average) == pytest.approx(expected)
    # a class never predicted: precision's zero division gives 0, as scikit-learn's
    t = np.array([0, 1, 2, 2])
    p = np.array([0, 0, 2, 2])
    expected = getattr(skm, sk)(t, p, average="macro", zero_division=0)
    assert getattr(M, fn)(t, p, average="macro") == pytest.approx(expected)
    per_class = getattr(skm, sk)(t, p, average=None, zero_division=0)
    np.testing.assert_allclose(getattr(M, fn)(t, p, average=None), per_class)


def test_binary_average_rejects_multiclass():
    with pytest.raises(ValueError, match="macro"):
        M.precision([0, 1, 2], [0, 1, 2])


def test_regression_metrics_match_sklearn(rng):
    t = rng.normal(size=50)
    p = t + rng.normal(scale=0.3, size=50)
    assert M.mse(t, p) == pytest.approx(skm.mean_squared_error(t, p))
    assert M.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p))
    assert M.r2(t, p) == pytest.approx(skm.r2_score(t, p))
    t2, p2 = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    assert M.mse(t2, p2) == pytest.approx(skm.mean_squared_error(t2, p2))
    assert M.r2(t2, p2) == pytest.approx(skm.r2_score(t2, p2))
    # (N,) targets against (N, 1) model outputs line up
    assert M.r2(t, p[:, None]) == pytest.approx(skm.r2_score(t, p))
    const = np.ones(5)
    assert M.r2(const, const) == skm.r2_score(const, const)
    assert M.r2(const, const + 1) == skm.r2_score(const, const + 1)


def _stream(metric, t, p, sizes):
    metric.reset()
    start = 0
    for size in sizes:
        metric.update(t[start : start + size], p[start : start + size])
        start += size
    return metric.result()


def test_streaming_metrics_equal_whole_array_values(rng):
    sizes = [7, 1, 30, 12, 50]
    n = sum(sizes)
    t = _labels(rng, n, 4)
    scores = rng.normal(size=(n, 4))
    pred = scores.argmax(1)
    assert _stream(M.Accuracy(), t, scores, sizes) == pytest.approx(skm.accuracy_score(t, pred))
    for cls, sk in [
        (M.Precision, "precision_score"),
        (M.Recall, "recall_score"),
        (M.F1, "f1_score"),
    ]:
        expected = getattr(skm, sk)(t, pred, average="macro", zero_division=0)
        assert _stream(cls(), t, scores, sizes) == pytest.approx(expected)
    tb = _labels(rng, n, 2)
    logits = rng.normal(size=(n, 1))
    expected = skm.f1_score(tb, logits[:, 0] > 0)
    assert _stream(M.F1(threshold=0.0), tb, logits, sizes) == pytest.approx(expected)
    y = rng.normal(loc=1e4, size=(n, 2))  # large mean: the merged spread must stay accurate
    yp = y + rng.normal(size=(n, 2))
    assert _stream(M.R2Score(), y, yp, sizes) == pytest.approx(skm.r2_score(y, yp), rel=1e-9)
    assert _stream(M.MeanSquaredError(), y, yp, sizes) == pytest.approx(
        skm.mean_squared_error(y, yp)
    )
    assert _stream(M.MeanAbsoluteError(), y, yp, sizes) == pytest.approx(
        skm.mean_absolute_error(y, yp)
    )
    fm = M.FunctionMetric(skm.balanced_accuracy_score)
    assert fm.name == "balanced_accuracy_score"
    assert _stream(fm, t, pred, sizes) == pytest.approx(skm.balanced_accuracy_score(t, pred))


def test_get_by_name_and_unknown_names():
    assert isinstance(M.get("accuracy"), M.Accuracy)
    assert M.get("accuracy", threshold=0.0).threshold == 0.0
    assert M.get("macro_f1").name == "macro_f1"
    with pytest.raises(ValueError, match="known metrics: accuracy"):
        M.get("acuracy")
    with pytest.raises(TypeError):
        M.get(3)
    original = M.Accuracy(threshold=0.3, name="acc")
    copy = M.get(original)
    assert copy is not original and copy.threshold == 0.3 and copy.name == "acc"


def test_float_targets_that_are_not_labels_are_rejected():
    with pytest.raises(ValueError, match="regression metric"):
        M.accuracy([0.5, 1.0], [0, 1])


def test_r2_of_one_sample_is_nan_with_scikit_learns_warning():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    with pytest.warns(UserWarning, match="less than two samples"):
        ours = cr.metrics.r2([1.0], [2.0])
    with pytest.warns(Warning, match="less than two samples"):
        theirs = sklearn_metrics.r2_score([1.0], [2.0])
    assert np.isnan(ours) and np.isnan(theirs)
    assert cr.metrics.r2([1.0, 1.0], [1.0, 2.0]) == sklearn_metrics.r2_score([1.0, 1.0], [1.0, 2.0])
