"""A mistake in the validation data (a label the model has no class for, a missing column)
surfaced after the first epoch as the op's bare error (``cross_entropy got target class 3``),
which reads as if the training labels were wrong. It now says the validation data is at fault
and when it was scored; the error's type is unchanged."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _fit(**options):
    X = np.random.default_rng(0).normal(size=(60, 3))
    model = nn.Linear(3, 3).double()
    cr.fit(model, (X, X.argmax(axis=1)), nn.CrossEntropyLoss(),
           optim.SGD(model.parameters(), lr=0.1), epochs=3, verbose=False, **options)  # fmt: skip
    return X


def test_a_label_out_of_range_in_validation_data_names_the_validation_data():
    X = np.zeros((5, 3))
    with pytest.raises(cr.DataError, match=r"^fit: validation_data, scored after epoch 1: "
                                           r"cross_entropy got target class 3"):  # fmt: skip
        _fit(validation_data=(X, np.array([0, 1, 2, 3, 1])))


def test_validation_data_of_the_wrong_width_names_the_validation_data():
    with pytest.raises(cr.ShapeError, match=r"^fit: validation_data, scored after epoch 1: linear"):
        _fit(validation_data=(np.zeros((5, 2)), np.zeros(5, dtype=np.int64)))
