"""Call forms of ``fit`` that failed obscurely or were ignored without a word: one callback
given alone (a bare "object is not iterable"), ``seed=`` beside ``generator=`` (the seed was
ignored), and a validation part of one row, which always holds one class, read as rows
"sorted by class"."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _fit(X, y, **options):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(X.shape[1], 1)).double()
    return cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
                  verbose=False, **options)  # fmt: skip


def _data(n=50):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] - X[:, 1] > 0).astype(np.float64)


def test_one_callback_given_alone_is_taken_as_a_list():
    seen = []
    alone = cr.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    _fit(*_data(), epochs=3, callbacks=alone)
    assert seen == [0, 1, 2]


def test_seed_and_generator_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        _fit(*_data(), epochs=1, seed=1, generator=cr.Generator(2))


@pytest.mark.parametrize("split", [0.001, 0.05])  # 1 and 2 rows held out of 50
def test_a_validation_part_of_a_row_or_two_is_not_called_sorted(split):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fit(*_data(), epochs=1, validation_split=split)


def test_a_class_of_one_row_held_out_is_not_called_sorted():
    X, y = _data(40)
    y = np.where(np.arange(40) == 39, 2.0, y)  # one row of a third class, the last
    cr.manual_seed(0)
    model = nn.Linear(4, 3).double()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.fit(model, (X, y.astype(np.int64)), nn.CrossEntropyLoss(),
               optim.SGD(model.parameters(), lr=0.1), epochs=1, validation_split=0.2,
               verbose=False)  # fmt: skip


def test_rows_really_sorted_by_class_still_warn():
    X, _ = _data(60)
    y = np.repeat([0.0, 1.0], 30)
    with pytest.warns(UserWarning, match="look sorted by class"):
        _fit(X, y, epochs=1, validation_split=0.2)


def test_a_generator_of_batches_is_refused_saying_why_and_what_to_write():
    X, y = _data()
    batches = ((X[i : i + 10], y[i : i + 10]) for i in range(0, 50, 10))
    model = nn.Linear(4, 1).double()
    with pytest.raises(TypeError, match=r"got generator \(an iterator is read once.*Dataset"):
        cr.fit(model, batches, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
               epochs=2, verbose=False)  # fmt: skip
