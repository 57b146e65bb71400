"""fit/evaluate read what the loss says its targets are: whole-number targets of a
regression loss get no accuracy, and a BCE loss refuses targets outside [0, 1]."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    counts = np.rint(X @ np.array([3.0, 2.0, 1.0]) * 10).astype(np.int64)  # whole numbers
    labels = (X[:, 0] > 0).astype(np.int64)
    return X, counts, labels


def _fit(X, y, loss_fn, **kw):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    return model, cr.fit(model, (X, y), loss_fn, opt, epochs=2, batch_size=32, verbose=False, **kw)


@pytest.mark.parametrize("loss_fn", [nn.MSELoss(), nn.L1Loss(), nn.HuberLoss(), F.mse_loss])
@pytest.mark.parametrize("as_float", [False, True])
def test_whole_number_regression_targets_get_no_accuracy(loss_fn, as_float):
    # before: "accuracy: 0.015", the outputs thresholded at 0.5 against targets like 37, and
    # integer targets warned that the held-out rows "look sorted by class" (amounts 37, 52
    # that the training rows lack)
    X, counts, _ = _data()
    y = counts.astype(np.float32) if as_float else counts
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model, h = _fit(X, y, loss_fn, validation_split=0.25)
    assert list(h.history) == ["loss", "val_loss", "lr", "time"]
    assert list(cr.evaluate(model, (X, y), loss_fn)) == ["loss"]


def test_zero_one_targets_of_mse_keep_accuracy():
    X, _, labels = _data()
    model, h = _fit(X, labels, nn.MSELoss())
    assert "accuracy" in h.history
    assert "accuracy" in cr.evaluate(model, (X, labels), nn.MSELoss())


@pytest.mark.parametrize(
    ("shift", "shown"), [(lambda y: 2 * y - 1, "-1 and 1"), (lambda y: y + 1, "1 and 2")]
)
@pytest.mark.parametrize(
    "loss_fn", [nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits], ids=["module", "fn"]
)
def test_bce_targets_outside_zero_one_are_refused(shift, shown, loss_fn):
    # before: PyTorch's BCE computes on any target, so fit trained to a loss of -67 and
    # returned as if it had worked
    import torch

    unbounded = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([-30.0]), torch.tensor([-1.0])
    )
    assert unbounded.item() < 0  # the loss the run minimised, without a floor
    X, _, labels = _data()
    with pytest.raises(cr.DataError, match=rf"needs targets in \[0, 1\].*two labels, {shown}"):
        _fit(X, shift(labels), loss_fn)


def test_bce_validation_and_evaluate_targets_are_checked():
    X, _, labels = _data()
    bad = (labels + 1).astype(np.float32)
    with pytest.raises(cr.DataError, match="fit: BCEWithLogitsLoss .* the validation y holds"):
        _fit(X, labels, nn.BCEWithLogitsLoss(), validation_data=(X, bad))
    model, _ = _fit(X, labels, nn.BCEWithLogitsLoss())
    with pytest.raises(cr.DataError, match="evaluate: BCEWithLogitsLoss .* from 1 to 2"):
        cr.evaluate(model, (X, bad), nn.BCEWithLogitsLoss())
    many = np.arange(len(X)) % 5
    with pytest.raises(cr.DataError, match="5 distinct values: for classes, use CrossEntropy"):
        _fit(X, many, nn.BCELoss())


def test_bce_probability_targets_in_zero_one_train():
    X, _, labels = _data()
    soft = np.where(labels == 1, 0.9, 0.1).astype(np.float32)
    _, h = _fit(X, soft, nn.BCEWithLogitsLoss())
    assert h.history["loss"][-1] > 0


def test_regression_targets_of_a_large_scale_warn_with_the_fix():
    # before: prices of 300,000 trained "fine" to an r2 of -10 with no word; the command
    # line standardises targets itself, cr.fit does not
    X, counts, _ = _data()
    prices = 300_000.0 + 1_000.0 * counts
    with pytest.warns(
        UserWarning, match=r"fit: the regression targets are not scaled \(mean "
    ) as w:
        _fit(X, prices, nn.MSELoss())
    assert "y_s = (y - y.mean()) / y.std()" in str(w[0].message)
    assert w[0].filename == __file__  # points at the cr.fit call
    scaled = (prices - prices.mean()) / prices.std()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fit(X, scaled, nn.MSELoss())
        _fit(X, counts, nn.MSELoss())  # a scale of tens trains (slowly): no warning


def test_scikit_learn_regressors_train_on_large_targets_without_the_warning():
    pytest.importorskip("sklearn")
    from chainrule.sklearn import MLPRegressor

    X, counts, _ = _data()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "fit: the regression targets")
        MLPRegressor(max_iter=2, random_state=0).fit(X, 300_000.0 + counts)


def test_features_beyond_float32_are_named_not_reported_as_inf():
    # before: NonFiniteError "X rows [1, 3, ...] hold inf", which the float64 X does not
    # (with a RuntimeWarning about an overflow in a cast, from inside chainrule)
    X, _, labels = _data()
    big = X.astype(np.float64) * 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            cr.DataError,
            match=r"fit: data X holds .* at row 0, column 2, beyond "
            r"float32's range .*standardise the features",
        ):
            _fit(big, labels, nn.BCEWithLogitsLoss())
        model, _ = _fit(X, labels, nn.BCEWithLogitsLoss())
        with pytest.raises(cr.DataError, match=r"predict: X holds .* beyond float32's range"):
            cr.predict(model, big)
    model.double()  # the fix the message names: a float64 model takes them as they are
    history = cr.fit(
        model, (big, labels), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.0),
        epochs=1, verbose=False,
    )  # fmt: skip
    assert np.isfinite(history.history["loss"][0])


def test_cross_entropy_on_a_one_output_model_is_refused_not_trained_at_loss_0():
    # fit gave the (N,) labels the shape (N, 1) of the one output, cross_entropy read them as
    # class probabilities over one class, and the run "trained" at loss 0.0 learning nothing
    X, _, labels = _data()
    with pytest.raises(cr.errors.DTypeError, match="1 class.*BCEWithLogitsLoss"):
        _fit(X, labels, nn.CrossEntropyLoss())
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1))
    with pytest.raises(cr.errors.DTypeError, match="loss 0 whatever the model does"):
        cr.explain(model, X[:2], labels[:2], nn.CrossEntropyLoss())


def test_integer_targets_of_the_inputs_shape_are_refused_as_pytorch_refuses_them():
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(0).normal(size=(4, 3))
    one_hot = np.eye(3, dtype=np.int64)[[0, 2, 1, 0]]
    with pytest.raises(RuntimeError, match="floating point"):
        torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(one_hot))
    with pytest.raises(cr.errors.DTypeError, match=r"class indices have shape \(4,\).*floats"):
        F.cross_entropy(cr.tensor(logits), one_hot)
    soft = one_hot.astype(np.float64)
    as_floats = F.cross_entropy(cr.tensor(logits, dtype="float64"), soft).item()
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(one_hot, dtype=torch.float64)
    ).item()
    assert abs(as_floats - expected) < 1e-12
