"""Sample weights carried by the data, (x, y, w) batches as Keras reads them, and weighted
metrics and losses that match scikit-learn's ``sample_weight=``."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import metrics as M

sk = pytest.importorskip("sklearn.metrics")


def data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y, rng.randint(0, 4, n).astype(np.float64)


def model64():
    cr.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 5, dtype="float64"), nn.Tanh(), nn.Linear(5, 2, dtype="float64")
    )


def run(data_arg, *, lr=0.05, epochs=3, batch_size=8, **kwargs):
    model = model64()
    opt = optim.Adam(model.parameters(), lr=lr) if lr else optim.SGD(model.parameters(), lr=0.0)
    history = cr.fit(
        model,
        data_arg,
        nn.CrossEntropyLoss(),
        opt,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=False,
        verbose=False,
        **kwargs,
    )
    return model, history


def same_params(a, b):
    return all(np.array_equal(p.array, q.array) for p, q in zip(a.parameters(), b.parameters()))


def test_loader_of_x_y_w_trains_as_sample_weight():
    X, y, w = data()
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y, w), batch_size=8)
    by_loader, h1 = run(loader)
    by_argument, h2 = run((X, y), sample_weight=w)
    assert same_params(by_loader, by_argument)
    assert h1.history["loss"] == h2.history["loss"]
    assert h1.history["accuracy"] == h2.history["accuracy"]
    unweighted, _ = run((X, y))
    assert not same_params(by_loader, unweighted)


def test_triple_of_arrays_and_column_weights_and_plain_dataset():
    X, y, w = data()
    a, _ = run((X, y, w))
    b, _ = run(cr.data.DataLoader(cr.data.TensorDataset(X, y, w[:, None]), batch_size=8))

    class Rows(cr.data.Dataset):  # one sample at a time, no arrays attribute
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], y[i], w[i]

    c, _ = run(Rows())
    assert same_params(a, b) and same_params(a, c)
    with pytest.raises(ValueError, match=r"data \(X, y, w\) already holds sample weights"):
        run((X, y, w), sample_weight=w)


def test_model_trained_with_weights_from_a_loader_predicts():
    X, y = cr.datasets.moons(n=300, noise=0.1, seed=0)
    w = np.where(y == 1, 3.0, 1.0)  # class 1 counts three times
    loader = cr.data.DataLoader(
        cr.data.TensorDataset(X.astype(np.float32), y, w), batch_size=32, shuffle=True
    )
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    cr.fit(
        model,
        loader,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        epochs=40,
        verbose=False,
    )
    pred = cr.predict(model, X).argmax(1)
    assert (pred == y).mean() > 0.95


@pytest.mark.parametrize(
    "bad,error,fragment",
    [
        (lambda w: np.r_[np.nan, w[1:]], ValueError, "hold NaN or inf at batch rows [0]"),
        (
            lambda w: np.r_[w[:9], -1.0, w[10:]],
            ValueError,
            "hold negative weights at batch rows [1]",
        ),
        (lambda w: np.stack([w, w], 1), ValueError, "have shape (8, 2); expected (8,)"),
    ],
)
def test_bad_weights_from_the_data_name_the_batch(bad, error, fragment):
    X, y, w = data()
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y, bad(w)), batch_size=8)
    with pytest.raises(error) as info:
        run(loader)
    assert fragment in str(info.value)
    assert "third field" in str(info.value) and "batch" in str(info.value)


def test_weighted_batches_are_eager_and_compile_true_refuses():
    X, y, w = data()
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y, w), batch_size=8)
    _, h = run(loader, epochs=1)
    assert h.compiled_steps == 0 and h.eager_steps == 5
    assert "sample weights from the data" in h.compile_reason
    with pytest.raises(ValueError, match="sample weights from the data"):
        run(loader, epochs=1, compile=True)


def test_epoch_loss_and_metrics_are_weighted_means_over_all_rows():
    X, y, w = data()
    # lr 0: every batch is scored with the same weights, so the epoch's logs can be recomputed
    model, h = run((X, y), lr=0, epochs=1, sample_weight=w, metrics=["accuracy", "f1"])
    out = cr.predict(model, X)
    logp = out - np.log(np.exp(out).sum(1, keepdims=True))
    losses = -logp[np.arange(len(y)), y]
    assert h.history["loss"][0] == pytest.approx(np.average(losses, weights=w), rel=1e-12)
    pred = out.argmax(1)
    assert h.history["accuracy"][0] == pytest.approx(
        sk.accuracy_score(y, pred, sample_weight=w), rel=1e-12
    )
    assert h.history["f1"][0] == pytest.approx(
        sk.f1_score(y, pred, average="macro", sample_weight=w), rel=1e-12
    )
    scores = cr.evaluate(model, (X, y, w)[:2], nn.CrossEntropyLoss())
    assert scores["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), rel=1e-12)
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y, w), batch_size=7)
    weighted = cr.evaluate(model, loader, nn.CrossEntropyLoss())
    assert weighted["loss"] == pytest.approx(np.average(losses, weights=w), rel=1e-12)
    assert weighted["accuracy"] == pytest.approx(
        sk.accuracy_score(y, pred, sample_weight=w), rel=1e-12
    )


def test_validation_metrics_are_weighted():
    X, y, w = data()
    model, h = run((X[:30], y[:30]), epochs=1, lr=0, validation_data=(X[30:], y[30:], w[30:]))
    pred = cr.predict(model, X[30:]).argmax(1)
    assert h.history["val_accuracy"][0] == pytest.approx(
        sk.accuracy_score(y[30:], pred, sample_weight=w[30:]), rel=1e-12
    )


def batches(*arrays, size=7):
    for i in range(0, len(arrays[0]), size):
        yield tuple(a[i : i + size] for a in arrays)


@pytest.mark.parametrize("classes", [2, 4])
def test_streaming_classification_metrics_match_sklearn(classes):
    rng = np.random.RandomState(classes)
    y = rng.randint(0, classes, 50)
    pred = np.where(rng.rand(50) < 0.7, y, rng.randint(0, classes, 50))
    w = rng.rand(50) * 3
    w[:5] = 0
    checks = [
        (M.Accuracy(), sk.accuracy_score, {}),
        (M.Precision("macro"), sk.precision_score, {"average": "macro"}),
        (M.Recall("micro"), sk.recall_score, {"average": "micro"}),
        (M.F1("macro"), sk.f1_score, {"average": "macro"}),
    ]
    for metric, reference, options in checks:
        for t, p, sw in batches(y, pred, w):
            metric.update(t, p, sample_weight=sw)
        assert metric.result() == pytest.approx(reference(y, pred, sample_weight=w, **options))
    assert M.accuracy(y, pred, sample_weight=w) == pytest.approx(
        sk.accuracy_score(y, pred, sample_weight=w)
    )
    assert M.accuracy(y, pred, sample_weight=np.ones(50)) == M.accuracy(y, pred)


def test_streaming_regression_metrics_match_sklearn():
    rng = np.random.RandomState(1)
    y = rng.randn(60, 2)
    pred = y + 0.5 * rng.randn(60, 2)
    w = rng.rand(60) * 2
    for metric, reference in [
        (M.MeanSquaredError(), sk.mean_squared_error),
        (M.MeanAbsoluteError(), sk.mean_absolute_error),
        (M.R2Score(), sk.r2_score),
    ]:
        for t, p, sw in batches(y, pred, w):
            metric.update(t, p, sample_weight=sw)
        assert metric.result() == pytest.approx(reference(y, pred, sample_weight=w), rel=1e-10)
    assert M.r2(y, pred, sample_weight=w) == pytest.approx(sk.r2_score(y, pred, sample_weight=w))
    assert M.mse(y, pred, sample_weight=w) == pytest.approx(
        sk.mean_squared_error(y, pred, sample_weight=w)
    )


def test_metric_function_gets_the_weights_or_a_warning():
    X, y, w = data()
    seen = {}

    def weighted_acc(y_true, y_pred, sample_weight=None):
        seen["w"] = sample_weight
        return sk.accuracy_score(y_true, y_pred.argmax(1), sample_weight=sample_weight)

    def plain_acc(y_true, y_pred):
        return float((y_true == y_pred.argmax(1)).mean())

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run((X, y, w), epochs=1, metrics=[weighted_acc])
    np.testing.assert_array_equal(seen["w"], w)
    with pytest.warns(UserWarning, match="metric 'plain_acc' takes no sample_weight"):
        run((X, y, w), epochs=1, metrics=[plain_acc])
