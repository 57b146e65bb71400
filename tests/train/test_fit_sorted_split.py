"""validation_split holds out the last rows (as Keras does): on rows sorted by class (an image
folder, the MNIST sample) that is one class only, and fit says so."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def run(y, split=0.2):
    cr.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(len(y), 2)).astype(np.float32)
    model = nn.Linear(2, 3)
    cr.fit(model, (X, y), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
           epochs=1, batch_size=8, validation_split=split, verbose=0)  # fmt: skip


def test_rows_sorted_by_class_warn():
    with pytest.warns(UserWarning, match=r"hold only class 1: the rows look sorted by class"):
        run(np.repeat([0, 1], 20))
    with pytest.warns(UserWarning, match=r"hold class\(es\) 2 that the training rows lack"):
        run(np.repeat([0, 1, 2], 10), split=0.4)


def test_shuffled_rows_do_not_warn():
    y = np.random.default_rng(1).permutation(np.repeat([0, 1, 2], 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(y)
