"""NeuralNet* refuse a network whose output width does not match the targets."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from chainrule import nn  # noqa: E402
from chainrule.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402


def _data():
    X = np.random.default_rng(0).normal(size=(40, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_one_logit_for_a_binary_y_is_refused_not_trained_to_zero_loss():
    # one column looked like a probability target: the loss was 0 and nothing trained
    X, y = _data()
    clf = NeuralNetClassifier(lambda n_in, n_out: nn.Linear(n_in, 1), max_iter=2)
    with pytest.raises(ValueError, match=r"shape \(1, 1\); it must be \(1, 2\)"):
        clf.fit(X, y)


def test_too_many_outputs_are_refused():
    X, y = _data()
    clf = NeuralNetClassifier(lambda n_in, n_out: nn.Linear(n_in, 5), max_iter=2)
    with pytest.raises(ValueError, match=r"it must be \(1, 2\)"):
        clf.fit(X, y)
    reg = NeuralNetRegressor(lambda n_in, n_out: nn.Linear(n_in, 3), max_iter=2)
    with pytest.raises(ValueError, match=r"it must be \(1, 1\)"):
        reg.fit(X, X[:, 0])


def test_a_matching_network_with_dropout_still_fits_reproducibly():
    X, y = _data()

    def net(n_in, n_out):
        return nn.Sequential(nn.Linear(n_in, 8), nn.Dropout(0.2), nn.Linear(8, n_out))

    first = NeuralNetClassifier(net, max_iter=3, random_state=0).fit(X, y)
    again = NeuralNetClassifier(net, max_iter=3, random_state=0).fit(X, y)
    assert first.model_.training  # the probe gives the training mode back
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))


@pytest.mark.parametrize("cls", ["MLPClassifier", "NeuralNetClassifier"])
def test_a_missing_label_among_strings_is_named(cls):
    # np.unique's "'<' not supported between instances of 'NoneType' and 'str'" before
    import chainrule.sklearn as crs

    X, _ = _data()
    y = np.array(["cat", None] * 20, dtype=object)
    kwargs = {"module": lambda n_in, n_out: nn.Linear(n_in, n_out)} if cls[0] == "N" else {}
    with pytest.raises(ValueError, match=r"NoneType, str.*None is a missing label"):
        getattr(crs, cls)(max_iter=2, **kwargs).fit(X, y)
    ok = getattr(crs, cls)(max_iter=2, **kwargs).fit(X, np.array(["cat", "dog"] * 20, object))
    assert list(ok.classes_) == ["cat", "dog"]


@pytest.mark.parametrize("cls", ["MLPClassifier", "NeuralNetClassifier"])
@pytest.mark.parametrize("labels", [["a", "b", "c"], [0, 1, 2]], ids=["strings", "integers"])
@pytest.mark.parametrize("incremental", [False, True], ids=["fit", "partial_fit"])
def test_multiclass_multioutput_y_is_refused_by_name(cls, labels, incremental):
    # a 2-D y of class labels reached cross-entropy and failed there with a ShapeError about
    # the batch; scikit-learn's MLPClassifier refuses it with a ValueError before training
    import chainrule.sklearn as crs

    X, _ = _data()
    y = np.array(labels, dtype=object if isinstance(labels[0], str) else int)[
        np.arange(80).reshape(40, 2) % 3
    ]
    kwargs = {"module": lambda n_in, n_out: nn.Linear(n_in, n_out)} if cls[0] == "N" else {}
    est = getattr(crs, cls)(max_iter=2, **kwargs)
    with pytest.raises(ValueError, match=r"multiclass-multioutput.*MultiOutputClassifier"):
        est.partial_fit(X, y, classes=labels) if incremental else est.fit(X, y)


def test_a_module_instance_instead_of_a_factory_is_named():
    # a Module is callable, so it passed the check and was called as module(3, 2):
    # "Linear.forward() takes 2 positional arguments but 3 were given"
    X, y = _data()
    with pytest.raises(ValueError, match=r"build the network, not be one.*Linear.*class"):
        NeuralNetClassifier(nn.Linear(3, 2), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=r"build the network, not be one.*Sequential"):
        NeuralNetRegressor(nn.Sequential(nn.Linear(3, 1)), max_iter=2).fit(X, X[:, 0])
