"""Text class labels (``y = ["cat", "dog", ...]``) are refused with the one line that codes
them (the message said only "convert strings first"); following it trains a model whose
predictions map back to the labels, well above chance."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def test_text_labels_are_refused_with_the_line_that_codes_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.array(["cat", "dog", "eel"])[X.argmax(axis=1)]
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    opt = optim.Adam(model.parameters(), lr=0.02)
    with pytest.raises(cr.DataError, match=r"np.unique\(y, return_inverse=True\)"):
        cr.fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=1, verbose=False)
    classes, codes = np.unique(y, return_inverse=True)
    cr.manual_seed(0)
    cr.fit(model, (X, codes), nn.CrossEntropyLoss(), opt, epochs=30, verbose=False, seed=0)
    predicted = classes[cr.predict(model, X).argmax(axis=1)]
    assert set(predicted) <= {"cat", "dog", "eel"}
    assert (predicted == y).mean() > 0.9  # chance is about 1/3
