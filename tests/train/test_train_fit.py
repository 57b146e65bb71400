"""fit / evaluate / predict: inputs of every kind, validation, modes, dtypes, schedulers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, 2)) + np.array([[0, 0], [3, 0], [0, 3]])[y]
    return X, y


def _mlp(k=3):
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, k))


def _run(data, **kw):
    cr.manual_seed(0)
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    kw.setdefault("epochs", 3)
    kw.setdefault("verbose", False)
    h = cr.fit(model, data, nn.CrossEntropyLoss(), opt, batch_size=16, **kw)
    return model, h


def test_arrays_tensors_dataset_and_loader_give_the_same_training():
    X, y = _blobs()
    X32 = X.astype(np.float32)
    runs = {
        "arrays": (X, y),
        "tensors": (cr.tensor(X), cr.tensor(y)),
        "dataset": TensorDataset(X32, y),
        "loader": DataLoader(TensorDataset(X32, y), batch_size=16, shuffle=False),
    }
    results = {k: _run(d, shuffle=False)[1].history["loss"] for k, d in runs.items()}
    for name, losses in results.items():
        np.testing.assert_allclose(losses, results["arrays"], rtol=1e-6, err_msg=name)


def test_history_keys_lengths_and_values():
    X, y = _blobs()
    model, h = _run((X, y), epochs=4, validation_split=0.25, metrics=("accuracy", "macro_f1"))
    expected = [
        "loss",
        "accuracy",
        "macro_f1",
        "val_loss",
        "val_accuracy",
        "val_macro_f1",
        "lr",
        "time",
    ]
    assert list(h.history) == expected
    assert all(len(v) == 4 for v in h.history.values())
    assert h.epoch == [0, 1, 2, 3]
    assert h.history["lr"] == [0.1] * 4
    assert all(t > 0 for t in h.history["time"])
    assert h.params["samples"] == 90 and h.params["steps"] == 6
    assert h.to_dict()["history"]["loss"] == h.history["loss"]
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_validation_split_holds_out_the_last_rows():
    X, y = _blobs()
    model, h = _run((X, y), validation_split=0.2)
    held_out = cr.evaluate(model, (X[96:], y[96:]), nn.CrossEntropyLoss())
    assert h.history["val_loss"][-1] == pytest.approx(held_out["loss"], rel=1e-6)
    assert h.history["val_accuracy"][-1] == held_out["accuracy"]
    assert h.params["samples"] == 96


def test_validation_data_and_errors():
    X, y = _blobs()
    _, h = _run((X[:100], y[:100]), validation_data=(X[100:], y[100:]))
    assert "val_loss" in h.history
    with pytest.raises(ValueError, match="not both"):
        _run((X, y), validation_data=(X, y), validation_split=0.1)
    with pytest.raises(TypeError, match="validation_data"):
        _run(TensorDataset(X, y, y), validation_split=0.1)
    with pytest.raises(ValueError, match=r"known metrics: accuracy"):
        _run((X, y), metrics=("acc",))
    with pytest.raises(cr.ShapeError, match="120 rows of features but 119 targets"):
        _run((X, y[:-1]))
    with pytest.raises(TypeError, match="pair"):
        _run(X)


class _Probe(nn.Module):
    """Records dtype, mode and grad mode of every call."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(2, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append((x.dtype, self.training, cr.is_grad_enabled()))
        return self.inner(x)


def test_dtype_conversion_and_train_eval_modes():
    X, y = _blobs(40)
    yb = (y == 0).astype(np.int64)
    model = _Probe()
    model.eval()
    opt = optim.SGD(model.parameters(), lr=0.1)
    cr.fit(
        model,
        (X, yb),
        nn.BCEWithLogitsLoss(),
        opt,
        epochs=1,
        batch_size=40,
        validation_data=(X, yb),
        verbose=False,
    )
    (train_dtype, train_mode, train_grad), (val_dtype, val_mode, val_grad) = model.seen
    assert train_dtype == np.float32 and val_dtype == np.float32  # float64 data, float32 model
    assert train_mode and train_grad
    assert not val_mode and not val_grad
    assert model.training is False  # the mode before fit comes back
    model.seen.clear()
    model.double()
    out = cr.predict(model, X)
    assert model.seen[0][0] == np.float64 and out.dtype == np.float64 and out.shape == (40, 1)


def test_binary_accuracy_thresholds_follow_the_loss():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    cr.manual_seed(0)
    logits = nn.Sequential(nn.Linear(2, 1))
    cr.fit(
        logits,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(logits.parameters(), lr=0.5),
        epochs=20,
        verbose=False,
    )
    out = cr.predict(logits, X)[:, 0]
    expected = np.mean((out > 0) == y)
    assert cr.evaluate(logits, (X, y), nn.BCEWithLogitsLoss())["accuracy"] == expected
    assert cr.evaluate(logits, (X, y))["accuracy"] == expected  # no loss, no Sigmoid: logits
    assert expected > 0.95
    probs = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    probs[0].load_state_dict(logits[0].state_dict())
    p = cr.predict(probs, X)[:, 0]
    assert cr.evaluate(probs, (X, y), nn.BCELoss())["accuracy"] == np.mean((p > 0.5) == y)
    assert cr.evaluate(probs, (X, y))["accuracy"] == expected
    # y as float (N,) against a (N, 1) output trains too (MSE on {0, 1})
    reg = nn.Sequential(nn.Linear(2, 1))
    h = cr.fit(
        reg,
        (X, y.astype(float)),
        nn.MSELoss(),
        optim.SGD(reg.parameters(), lr=0.1),
        epochs=5,
        metrics=("accuracy", "mse"),
        verbose=False,
    )
    assert h.history["accuracy"][-1] > 0.9


def test_regression_metrics_in_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    t = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)
    model = nn.Linear(3, 1)
    h = cr.fit(
        model,
        (X, t),
        nn.MSELoss(),
        optim.SGD(model.parameters(), lr=0.05),
        epochs=30,
        metrics=("mse", "mae", "r2"),
        verbose=False,
    )
    assert h.history["r2"][-1] > 0.99
    # the epoch "mse" metric is the sample-weighted mean of batch losses
    assert h.history["mse"][0] == pytest.approx(h.history["loss"][0], rel=1e-5)
    # the default metric, accuracy, is left out for continuous targets
    h = cr.fit(
        model, (X, t), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), epochs=1, verbose=False
    )
    assert list(h.history) == ["loss", "lr", "time"]
    assert list(cr.evaluate(model, (X, t), nn.MSELoss())) == ["loss"]
    with pytest.raises(ValueError, match="regression metric"):
        cr.evaluate(model, (X, t), nn.MSELoss(), metrics=("accuracy",))
    pred = cr.predict(model, X)
    scores = cr.evaluate(model, (X, t), nn.MSELoss(), metrics=("r2",))
    from sklearn.metrics import r2_score

    assert scores["r2"] == pytest.approx(r2_score(t, pred[:, 0]), rel=1e-6)


def test_seed_makes_runs_identical_and_shuffle_changes_batches():
    X, y = _blobs()
    a = _run((X, y), seed=7)[1].history["loss"]
    b = _run((X, y), seed=7)[1].history["loss"]
    c = _run((X, y), seed=8)[1].history["loss"]
    assert a == b and a != c
    gen1, gen2 = cr.Generator(7), cr.Generator(7)
    assert _run((X, y), generator=gen1)[1].history["loss"] == a
    assert gen1.state_as_dict() != gen2.state_as_dict()  # the generator was used for shuffling


def test_schedulers_are_stepped_per_epoch_and_plateau_gets_the_monitored_value():
    X, y = _blobs()
    cr.manual_seed(0)
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = cr.fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=5, scheduler=sched, verbose=False)
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])

    seen = []

    class Spy(optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(metrics)
            super().step(metrics, epoch)

    opt = optim.SGD(model.parameters(), lr=0.1)
    h = cr.fit(
        model,
        (X, y),
        nn.CrossEntropyLoss(),
        opt,
        epochs=3,
        validation_split=0.2,
        scheduler=Spy(opt),
        verbose=False,
    )
    assert seen == h.history["val_loss"]

    opt = optim.SGD(model.parameters(), lr=0.1)
    one = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=8)
    cr.fit(
        model,
        (X, y),
        nn.CrossEntropyLoss(),
        opt,
        epochs=2,
        batch_size=16,
        scheduler=one,
        verbose=False,
    )
    assert one.last_epoch == 16  # stepped once per batch


def test_initial_epoch_and_predict_from_loader():
    X, y = _blobs()
    model, h = _run((X, y), epochs=5, initial_epoch=3)
    assert h.epoch == [3, 4]
    out = cr.predict(model, DataLoader(TensorDataset(X.astype(np.float32), y), batch_size=7))
    np.testing.assert_allclose(out, cr.predict(model, X), rtol=1e-6)
    with pytest.raises(ValueError, match="initial_epoch"):
        _run((X, y), epochs=2, initial_epoch=3)


def _int_data(n=48, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 5, size=(n, 2))
    return X, (X[:, 0] > X[:, 1]).astype(np.int64)


@pytest.mark.parametrize("kind", [np.int64, np.int32, np.uint8, bool])
def test_integer_and_bool_features_train_as_floats(kind):
    X, y = _int_data()
    X = X.astype(kind)
    _, h_int = _run((X, y), shuffle=False)
    model_float, h_float = _run((X.astype(np.float32), y), shuffle=False)
    assert h_int.history["loss"] == h_float.history["loss"]  # the same bits
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=False)
    assert _run(loader, shuffle=False)[1].history["loss"] == h_float.history["loss"]
    out = cr.predict(model_float, X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, cr.predict(model_float, X.astype(np.float32)))
    scores = cr.evaluate(model_float, (X, y), nn.CrossEntropyLoss())
    assert scores == cr.evaluate(model_float, (X.astype(np.float32), y), nn.CrossEntropyLoss())


class _Tokens(nn.Module):
    """An Embedding registered first, inside a custom module; records its input dtypes."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.head = nn.Linear(6, 3)
        self.seen = []

    def forward(self, ids):
        self.seen.append(ids.dtype)
        return self.head(self.embed(ids).reshape(len(ids), 6))


@pytest.mark.parametrize(
    "make", [_Tokens, lambda: nn.Sequential(nn.Embedding(5, 3), nn.Flatten(), nn.Linear(6, 3))]
)
def test_a_model_starting_with_an_embedding_keeps_integer_ids(make):
    X, y = _int_data()
    cr.manual_seed(0)
    model = make()
    opt = optim.SGD(model.parameters(), lr=0.1)
    h = cr.fit(
        model, (X, y), nn.CrossEntropyLoss(), opt, epochs=2, verbose=False, validation_data=(X, y)
    )
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["val_loss"]).all()
    assert cr.predict(model, X).shape == (48, 3)
    assert "loss" in cr.evaluate(model, (X, y), nn.CrossEntropyLoss())
    if isinstance(model, _Tokens):
        assert set(model.seen) == {np.dtype(np.int64)}


def test_empty_data_is_refused_not_trained_on():
    X, y = _blobs()
    empty = (X[:0], y[:0])
    # the loaders' batch size is _run's batch_size=16: fit refuses another beside a loader
    for data in (empty, TensorDataset(*empty), DataLoader(TensorDataset(*empty), batch_size=16)):
        for check_finite in (True, False):
            with pytest.raises(ValueError, match=r"fit: data is empty \(0 samples\)"):
                _run(data, check_finite=check_finite)
    with pytest.raises(ValueError, match=r"fit: validation_data is empty \(0 samples\)"):
        _run((X, y), validation_data=empty, check_finite=False)
    few = DataLoader(TensorDataset(X[:3], y[:3]), batch_size=16, drop_last=True)
    with pytest.raises(ValueError, match="data gives no batch.*drop_last=True"):
        _run(few)
    with pytest.raises(ValueError, match=r"evaluate: data is empty"):
        cr.evaluate(_mlp(), empty, nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="predict: X has no rows"):
        cr.predict(_mlp(), X[:0])
