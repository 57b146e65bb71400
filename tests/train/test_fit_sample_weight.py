"""cr.fit(..., sample_weight=): each batch's loss is the weighted mean Σ wᵢ·lᵢ / Σ wᵢ."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule import nn, optim
from chainrule.train.step import train_step
from chainrule.train.weighting import weighted_loss


def data(n=24, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y, rng.randint(0, 4, n)


def train(X, y, w, *, loss=None, epochs=5, batch_size=None, shuffle=False, **kwargs):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 5, dtype="float64"), nn.Tanh(), nn.Linear(5, 2, dtype="float64")
    )
    opt = optim.Adam(model.parameters(), lr=0.05)
    history = cr.fit(
        model,
        (X, y),
        loss or nn.CrossEntropyLoss(),
        opt,
        epochs=epochs,
        batch_size=batch_size or len(X),
        shuffle=shuffle,
        verbose=False,
        sample_weight=w,
        **kwargs,
    )
    return model, history


def max_diff(a, b):
    return max(np.abs(p.array - q.array).max() for p, q in zip(a.parameters(), b.parameters()))


def test_integer_weights_equal_repeated_rows_in_one_batch():
    X, y, w = data()
    weighted, hw = train(X, y, w)
    repeated, hr = train(np.repeat(X, w, axis=0), np.repeat(y, w), None)
    assert max_diff(weighted, repeated) < 1e-12
    np.testing.assert_allclose(hw.history["loss"], hr.history["loss"], rtol=1e-12)


def test_zero_weight_equals_dropping_the_row():
    X, y, _ = data()
    w = np.ones(len(X))
    w[[2, 7]] = 0
    keep = w > 0
    assert max_diff(train(X, y, w)[0], train(X[keep], y[keep], None)[0]) < 1e-12


def test_ones_equal_no_weights_and_weights_change_the_fit():
    X, y, w = data()
    plain, _ = train(X, y, None)
    assert max_diff(plain, train(X, y, np.ones(len(X)))[0]) < 1e-12
    assert max_diff(plain, train(X, y, w)[0]) > 1e-3
    # only the weights' ratios matter: the loss is normalised by their sum
    assert max_diff(train(X, y, w)[0], train(X, y, 10.0 * w)[0]) < 1e-12


def test_weights_are_shuffled_with_their_rows():
    """Mini-batches, shuffled: weighting row i by 0 must leave row i out whatever batch it
    lands in, so rows whose weight is 0 can be changed freely."""
    X, y, _ = data(32)
    w = np.ones(len(X))
    w[::3] = 0
    y_noise = y.copy()
    y_noise[::3] = 1 - y_noise[::3]
    a, _ = train(X, y, w, batch_size=8, shuffle=True, seed=3)
    b, _ = train(X, y_noise, w, batch_size=8, shuffle=True, seed=3)
    assert max_diff(a, b) == 0.0


def test_batch_with_zero_weight_sum_has_zero_loss():
    out = cr.tensor(np.array([[1.0, 2.0], [0.5, -1.0]]), requires_grad=True)
    target = cr.tensor(np.array([0, 1]))
    loss = weighted_loss(nn.CrossEntropyLoss(), out, target, np.zeros(2))
    loss.backward()
    assert loss.item() == 0.0 and not out.grad.any()


@pytest.mark.parametrize(
    "loss_fn",
    [nn.MSELoss(), nn.MSELoss(reduction="sum"), F.mse_loss],
    ids=["module", "module-sum", "function"],
)
def test_weighted_mean_of_per_sample_losses(loss_fn):
    rng = np.random.RandomState(1)
    out, target = rng.randn(6, 2), rng.randn(6, 2)
    w = rng.rand(6)
    got = weighted_loss(
        loss_fn, cr.tensor(out, dtype="float64"), cr.tensor(target, dtype="float64"), w
    ).item()
    per_sample = ((out - target) ** 2).mean(axis=1)
    assert got == pytest.approx(np.sum(w * per_sample) / w.sum(), rel=1e-12)


def test_loss_taking_sample_weight_reduces_itself():
    seen = []

    def loss(out, target, sample_weight):
        seen.append(np.asarray(sample_weight))
        return F.cross_entropy(out, target)

    X, y, w = data(8)
    train(X, y, w + 1, loss=loss, epochs=1)
    np.testing.assert_array_equal(seen[0], w + 1)


def test_validation_split_splits_and_weights():
    X, y, w = data(40)
    w = w + 1.0
    _, h = train(X, y, w, epochs=1, validation_split=0.25)
    _, h2 = train(X[:30], y[:30], w[:30], epochs=1, validation_data=(X[30:], y[30:], w[30:]))
    assert h.history["val_loss"] == pytest.approx(h2.history["val_loss"], rel=1e-12)
    _, h3 = train(X[:30], y[:30], w[:30], epochs=1, validation_data=(X[30:], y[30:]))
    assert h.history["val_loss"] != pytest.approx(h3.history["val_loss"], rel=1e-6)


def test_train_step_takes_weights():
    X, y, w = data(6)
    model = nn.Linear(3, 2, dtype="float64")
    opt = optim.SGD(model.parameters(), lr=0.1)
    result = train_step(model, nn.CrossEntropyLoss(), opt, X, y, sample_weight=w + 1)
    assert np.isfinite(result.loss)


def test_weighted_run_is_eager_and_compile_true_refuses():
    X, y, w = data()
    _, h = train(X, y, w, epochs=1)
    assert h.compiled_steps == 0 and "sample_weight" in h.compile_reason
    with pytest.raises(ValueError, match="sample_weight"):
        train(X, y, w, epochs=1, compile=True)


@pytest.mark.parametrize(
    "weights,error,match",
    [
        (np.ones(5), ValueError, r"shape \(5,\); expected \(24,\)"),
        (np.ones((24, 1)), ValueError, "shape"),
        (np.r_[np.nan, np.ones(23)], ValueError, "NaN or inf at rows \\[0\\]"),
        (np.r_[np.ones(23), np.inf], ValueError, "NaN or inf"),
        (np.r_[-1.0, np.ones(23)], ValueError, "negative at rows \\[0\\]"),
        (np.zeros(24), ValueError, "zero for every sample"),
        (np.array(["a"] * 24), ValueError, "numbers"),
    ],
)
def test_bad_weights_raise(weights, error, match):
    X, y, _ = data()
    with pytest.raises(error, match=match):
        train(X, y, weights, epochs=1)


def test_loss_without_per_sample_values_is_refused():
    X, y, w = data()
    with pytest.raises(TypeError, match="reduction="):
        train(X, y, w, loss=lambda out, target: F.cross_entropy(out, target), epochs=1)


def test_data_loader_with_sample_weight_is_refused():
    X, y, w = data()
    dataset = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=4)
    model = nn.Linear(3, 2, dtype="float64")
    with pytest.raises(TypeError, match="sample_weight goes with"):
        cr.fit(
            model,
            dataset,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            verbose=False,
            sample_weight=w,
        )
