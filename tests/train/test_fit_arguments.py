"""fit's argument mistakes, made with Keras's or PyTorch's habits, are named before any work."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _setup():
    X, y = cr.datasets.moons(n=64, noise=0.2, seed=0)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    return X, y, model, optim.Adam(model.parameters(), lr=0.01)


def test_x_and_y_given_apart_are_named():
    # before: X was the data, y the loss and the loss the optimizer: an error about epochs
    X, y, model, opt = _setup()
    with pytest.raises(
        TypeError, match=r"X and y go together as one pair, cr.fit\(model, \(X, y\)"
    ):
        cr.fit(model, X, y, nn.BCEWithLogitsLoss(), opt)


def test_x_and_y_apart_with_epochs_by_name_are_named():
    # before: Python's "fit() got multiple values for argument 'epochs'" (opt landed in epochs)
    X, y, model, opt = _setup()
    with pytest.raises(
        TypeError,
        match=r"X and y were given as two arguments \(then BCEWithLogitsLoss and Adam\): X and y "
        r"go together as one pair, cr.fit\(model, \(X, y\)",
    ):
        cr.fit(model, X, y, nn.BCEWithLogitsLoss(), opt, epochs=10, verbose=False)


def test_options_past_the_optimizer_are_taken_by_name_only():
    # Keras's order is (batch_size, epochs): fit(model, data, loss, opt, 32, 10) would have
    # trained 32 epochs of batches of 10 without a word
    X, y, model, opt = _setup()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(TypeError, match=r"the rest by name: .* e.g. epochs=32, batch_size=10"):
        cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), opt, 32, 10)
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, model.parameters()))
    h = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), opt, epochs=2, batch_size=10, verbose=False)
    assert len(h.history["loss"]) == 2


def test_a_loss_class_or_name_is_named():
    # before: ValueError "reduction must be 'mean', 'sum' or 'none', got tensor([[0], ..."
    # (the class called with (output, target) as (weight, reduction)), and for a name
    # "'str' object is not callable"
    X, y, model, opt = _setup()
    with pytest.raises(
        TypeError, match=r"loss_fn is the class MSELoss, not a loss; .* MSELoss\(\)"
    ):
        cr.fit(model, (X, y), nn.MSELoss, opt, verbose=False)
    with pytest.raises(TypeError, match=r"loss_fn is the string 'binary_crossentropy'"):
        cr.fit(model, (X, y), "binary_crossentropy", opt, verbose=False)
    with pytest.raises(TypeError, match=r"evaluate: loss_fn is the class BCEWithLogitsLoss"):
        cr.evaluate(model, (X, y), nn.BCEWithLogitsLoss)


def test_an_optimizer_class_is_named():
    # before: AttributeError: type object 'Adam' has no attribute 'param_groups'
    X, y, model, _ = _setup()
    with pytest.raises(TypeError, match=r"optimizer is the class Adam, .* Adam\(model.parameters"):
        cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.Adam, verbose=False)


def test_an_optimizer_over_another_model_is_refused():
    # before: the run trained nothing (loss 0.8377 every epoch) and returned as if it worked
    X, y, model, _ = _setup()
    other = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.SGD(other.parameters(), lr=0.1)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"updates none of the model's parameters .* SGD\(model"):
        cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), opt, verbose=False)
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, model.parameters()))
    # an optimizer over part of the model (the rest frozen) is a choice, not a mistake
    part = optim.SGD(model[2].parameters(), lr=0.1)
    h = cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), part, epochs=2, verbose=False)
    assert h.history["loss"][1] != h.history["loss"][0]


def test_a_dict_of_arrays_is_named():
    # before: KeyError: 0 (the dict was read as a Dataset)
    X, y, model, opt = _setup()
    with pytest.raises(TypeError, match="data must be a pair .* got dict"):
        cr.fit(model, {"x": X, "y": y}, nn.BCEWithLogitsLoss(), opt, verbose=False)


def test_one_feature_without_its_axis_is_named():
    # before: "linear: Linear(in_features=1) got input of shape (32,)" from inside a batch;
    # with in_features equal to the batch size, each batch was read as one sample
    X, y, _, _ = _setup()
    for width in (1, 16):
        model = nn.Sequential(nn.Linear(width, 4), nn.Tanh(), nn.Linear(4, 1))
        opt = optim.SGD(model.parameters(), lr=0.1)
        with pytest.raises(
            cr.ShapeError,
            match=r"X has shape \(64,\), one number per sample.*"
            r"X.reshape\(-1, 1\)",
        ):
            cr.fit(model, (X[:, 0], y), nn.BCEWithLogitsLoss(), opt, batch_size=16, verbose=False)
    model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    h = cr.fit(model, (X[:, :1], y), nn.BCEWithLogitsLoss(), opt, epochs=1, verbose=False)
    assert len(h.history["loss"]) == 1


def test_evaluate_and_predict_given_x_and_y_apart_are_named():
    # before: "loss_fn must be a loss such as nn.MSELoss() ... got ndarray", and for predict
    # NumPy's "only integer scalar arrays can be converted to a scalar index"
    X, y, model, _ = _setup()
    with pytest.raises(TypeError, match=r"X and y go together as one pair, cr.evaluate\(model"):
        cr.evaluate(model, X, y)
    with pytest.raises(TypeError, match=r"predict takes the inputs only, predict\(model, X"):
        cr.predict(model, X, y)
    assert cr.predict(model, X, 16).shape == (len(X), 1)


def test_sparse_ragged_and_generator_inputs_are_named():
    # before: IndexError 'tuple index out of range' (sparse in fit, a generator), 'sparse
    # array length is ambiguous' (predict), or NumPy's 'inhomogeneous shape' from a check
    sparse = pytest.importorskip("scipy.sparse")
    X, y, model, opt = _setup()

    def fit(data):
        cr.fit(model, (data, y[:4]), nn.BCEWithLogitsLoss(), opt, epochs=1, verbose=False)

    with pytest.raises(TypeError, match=r"X is a sparse matrix \(csr_matrix\).*\.toarray\(\)"):
        fit(sparse.csr_matrix(X[:4]))
    with pytest.raises(TypeError, match=r"X is a sparse matrix \(csr_matrix\)"):
        cr.predict(model, sparse.csr_matrix(X[:4]))
    with pytest.raises(TypeError, match=r"X is a generator, not rows of data"):
        fit(row for row in X[:4])
    with pytest.raises(cr.ShapeError, match=r"X is not rectangular \(rows of different length"):
        fit([[0.1, 0.2], [0.3], [0.5, 0.6], [0.7, 0.8]])
    with pytest.raises(cr.ShapeError, match=r"X is not rectangular"):
        cr.predict(model, [[0.1, 0.2], [0.3]])
