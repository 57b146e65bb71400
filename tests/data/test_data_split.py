"""train_test_split: sizes, pairing, determinism, stratification and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import train_test_split


def test_sizes_pairing_and_cover():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=1)
    assert X_tr.shape == (15, 2) and X_te.shape == (5, 2)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    assert np.array_equal(X_tr[:, 0], 2.0 * y_tr)  # rows stay paired
    assert len(train_test_split(X, test_size=3)[1]) == 3


def test_seeds():
    X = np.arange(100)
    a = train_test_split(X, seed=3)[1]
    assert np.array_equal(a, train_test_split(X, seed=3)[1])
    assert not np.array_equal(a, train_test_split(X, seed=4)[1])
    gen = cr.Generator(0)
    assert not np.array_equal(train_test_split(X, seed=gen)[1], train_test_split(X, seed=gen)[1])


def test_no_shuffle_takes_the_tail():
    X_tr, X_te = train_test_split(np.arange(10), test_size=0.3, shuffle=False)
    assert X_tr.tolist() == list(range(7)) and X_te.tolist() == [7, 8, 9]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("test_size", [0.1, 0.25, 0.5])
def test_stratification_keeps_proportions(seed, test_size):
    y = np.repeat([0, 1, 2], [300, 90, 10])
    X = np.arange(len(y))
    _, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, seed=seed)
    assert np.array_equal(y[X_te], y_te)
    expected = np.bincount(y) * test_size
    assert np.all(np.abs(np.bincount(y_te, minlength=3) - expected) <= 1)
    assert len(y_te) == int(np.ceil(test_size * len(y)))
    assert set(y_tr.tolist()) == {0, 1, 2}


def test_stratification_beats_chance_on_a_rare_class():
    y = np.array([0] * 95 + [1] * 5)
    for seed in range(20):
        y_te = train_test_split(y, test_size=0.2, stratify=y, seed=seed)[1]
        assert np.bincount(y_te).tolist() == [19, 1]


def test_string_labels_and_tensors():
    y = np.array(["a", "b"] * 10)
    X = cr.tensor(np.arange(20.0))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y)
    assert isinstance(X_tr, cr.Tensor) and sorted(y_te.tolist()) == ["a"] * 5 + ["b"] * 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_size": 0.0}, "between 0 and 1"),
        ({"test_size": 1.0}, "between 0 and 1"),
        ({"test_size": 10}, "at least one"),
        ({"test_size": 0}, "at least one"),
        ({"test_size": "half"}, "fraction"),
        ({"seed": "x"}, "seed"),
        ({"stratify": np.array([0] * 9 + [1])}, "only 1 sample"),
        ({"stratify": np.array([0, 1] * 5), "shuffle": False}, "shuffle"),
        ({"stratify": np.arange(10) % 5, "test_size": 2}, "cannot hold all 5 classes"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(cr.DataError, match=match):
        train_test_split(np.arange(10), **kwargs)


def test_shape_errors():
    with pytest.raises(cr.ShapeError):
        train_test_split(np.arange(10), np.arange(9))
    with pytest.raises(cr.ShapeError):
        train_test_split(np.arange(10), stratify=np.arange(3))
    with pytest.raises(cr.DataError):
        train_test_split()
