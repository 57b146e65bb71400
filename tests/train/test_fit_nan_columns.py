"""NaN in the training features is named by its row and its column (it was the row alone:
with 40 columns a user still had to search the row for the cell to fix)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _fit(X, y, **options):
    model = nn.Linear(X.shape[1], 1).double()
    cr.fit(model, (X, y), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), epochs=1,
           verbose=False, shuffle=False, **options)  # fmt: skip


def test_one_bad_cell_is_named_by_row_and_column():
    X = np.random.default_rng(0).normal(size=(40, 6))
    X[7, 4] = np.nan
    with pytest.raises(cr.NonFiniteError, match=r"X row 7 holds NaN in column 4; clean"):
        _fit(X, X[:, 0])


def test_a_row_with_several_bad_cells_names_them_all():
    X = np.random.default_rng(0).normal(size=(40, 6))
    X[3, [1, 5]] = [np.inf, np.nan]
    with pytest.raises(cr.NonFiniteError, match=r"X row 3 holds NaN and inf in columns \[1, 5\]"):
        _fit(X, X[:, 0])


def test_rows_of_validation_data_are_named_with_the_column_of_the_first():
    X = np.random.default_rng(0).normal(size=(40, 3))
    V = X[:10].copy()
    V[[2, 4], 2] = np.nan
    with pytest.raises(
        cr.NonFiniteError, match=r"validation X rows \[2, 4\] hold NaN \(row 2 in column 2\)"
    ):
        _fit(X, X[:, 0], validation_data=(V, V[:, 0]))
