"""``fit(..., class_weight={0: 1, 1: 8})``, Keras's weighting of rare classes: each training
row's weight is multiplied by its class's weight. It was a ``TypeError`` (no such argument)."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim


def _data(n=300):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > 1.3).astype(np.float64)  # about 10 % positives


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 1)).double()


def _weights(model):
    return [np.asarray(p.detach().numpy()) for p in model.parameters()]


def test_one_full_batch_step_matches_torch_weighted_bce():
    X, y = _data()
    model = _model()
    t_lin = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        t_lin.weight.copy_(torch.tensor(_weights(model)[0]))
        t_lin.bias.copy_(torch.tensor(_weights(model)[1]))
    cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.5),
           epochs=1, batch_size=len(X), class_weight={0: 1.0, 1: 8.0}, verbose=False)  # fmt: skip
    w = torch.tensor(np.where(y == 1, 8.0, 1.0))
    out = t_lin(torch.tensor(X))[:, 0]
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        out, torch.tensor(y), reduction="none"
    )
    ((losses * w).sum() / w.sum()).backward()
    with torch.no_grad():
        expected = [p - 0.5 * p.grad for p in (t_lin.weight, t_lin.bias)]
    for got, want in zip(_weights(model), expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-14)


def test_class_weight_trains_as_the_matching_sample_weight_on_training_rows_only():
    X, y = _data()
    model = _model()
    a = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.05),
               epochs=5, seed=0, validation_split=0.2, class_weight={1: 8.0},
               verbose=False)  # fmt: skip
    first = _weights(model)
    model = _model()
    n = 240  # the training rows; validation stays unweighted, as in Keras
    b = cr.fit(model, (X[:n], y[:n]), nn.BCEWithLogitsLoss(),
               optim.Adam(model.parameters(), lr=0.05), epochs=5, seed=0,
               validation_data=(X[n:], y[n:]), sample_weight=np.where(y[:n] == 1, 8.0, 1.0),
               verbose=False)  # fmt: skip
    assert a.history["loss"] == b.history["loss"]
    assert a.history["val_loss"] == b.history["val_loss"]
    for got, want in zip(first, _weights(model)):
        np.testing.assert_array_equal(got, want)


def test_rare_class_recall_rises_with_its_weight():
    X, y = _data()
    recalls = []
    for class_weight in (None, {0: 1.0, 1: 8.0}):
        model = _model()
        h = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(),
                   optim.Adam(model.parameters(), lr=0.05), epochs=30, seed=0,
                   validation_split=0.2, class_weight=class_weight, metrics=["recall"],
                   verbose=False)  # fmt: skip
        recalls.append(h.history["val_recall"][-1])
    assert recalls[1] > recalls[0]


def test_one_hot_targets_and_sample_weight_multiply():
    X, y = _data()
    Y = np.eye(2)[y.astype(int)]
    sw = np.linspace(0.5, 1.5, len(X))

    def run(**options):
        cr.manual_seed(0)
        model = nn.Linear(2, 2).double()
        cr.fit(model, (X, Y), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
               epochs=2, seed=0, verbose=False, **options)  # fmt: skip
        return _weights(model)

    got = run(class_weight={0: 1.0, 1: 3.0}, sample_weight=sw)
    want = run(sample_weight=sw * np.where(y == 1, 3.0, 1.0))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("class_weight", "error", "match"),
    [
        ({"yes": 2.0}, TypeError, "class indices"),
        ({2: 2.0}, ValueError, r"class 2, which the training targets do not hold"),
        ({1: -1.0}, ValueError, ">= 0"),
        ([1.0, 2.0], TypeError, "must be a dict"),
    ],
)
def test_bad_class_weights_are_named(class_weight, error, match):
    X, y = _data(40)
    model = _model()
    with pytest.raises(error, match=match):
        cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
               epochs=1, class_weight=class_weight, verbose=False)  # fmt: skip


def test_continuous_targets_and_datasets_are_refused():
    X, y = _data(40)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="class labels"):
        cr.fit(model, (X, X[:, 0]), nn.MSELoss(), opt, epochs=1, class_weight={0: 1.0},
               verbose=False)  # fmt: skip

    class Rows(cr.data.Dataset):  # a Dataset of the user's own: no arrays to weight
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], y[i]

    with pytest.raises(TypeError, match=r"\(X, y\) arrays"):
        cr.fit(model, Rows(), nn.BCEWithLogitsLoss(), opt, epochs=1, class_weight={1: 2.0},
               verbose=False)  # fmt: skip
