"""chainrule.sklearn: fit/partial_fit/score with sample_weight, as scikit-learn >= 1.7's MLP."""

import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.ensemble import AdaBoostClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.validation import has_fit_parameter  # noqa: E402

from chainrule import nn  # noqa: E402
from chainrule.sklearn import (  # noqa: E402
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
ESTIMATORS = (MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor)


def net64(n_in, n_out, hidden=8):
    """A float64 factory, so that equalities hold to float64 rounding."""
    return nn.Sequential(
        nn.Linear(n_in, hidden, dtype="float64"),
        nn.Tanh(),
        nn.Linear(hidden, n_out, dtype="float64"),
    )


def make(cls, **kwargs):
    """One batch per epoch, no shuffling: the deterministic full-batch setup."""
    common = dict(shuffle=False, random_state=0, max_iter=25)
    if cls in (MLPClassifier, MLPRegressor):
        return cls(hidden_layer_sizes=(8,), alpha=0.01, learning_rate_init=0.02, **common, **kwargs)
    return cls(net64, lr=0.02, batch_size=10_000, weight_decay=1e-3, **common, **kwargs)


def problem(cls, n=60):
    if cls._is_classifier:
        X, y = load_iris(return_X_y=True)
    else:
        X, y = load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
    rows = np.random.RandomState(0).permutation(len(X))[:n]
    X = StandardScaler().fit_transform(X[rows])
    return X, y[rows], np.random.RandomState(1).randint(0, 4, n)


def outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


# ---- what the weights mean ------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_integer_weights_equal_repeated_rows(cls):
    X, y, w = problem(cls)
    weighted = make(cls).fit(X, y, sample_weight=w)
    repeated = make(cls).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(outputs(weighted, X), outputs(repeated, X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_zero_weight_equals_dropping_the_row(cls):
    X, y, _ = problem(cls)
    w = np.ones(len(X))
    w[[1, 5, 17]] = 0
    keep = w > 0
    weighted = make(cls).fit(X, y, sample_weight=w)
    dropped = make(cls).fit(X[keep], y[keep])
    np.testing.assert_allclose(outputs(weighted, X), outputs(dropped, X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_weights_change_the_fit_and_ones_do_not(cls):
    X, y, w = problem(cls)
    plain = outputs(make(cls).fit(X, y), X)
    ones = outputs(make(cls).fit(X, y, sample_weight=np.ones(len(X))), X)
    np.testing.assert_allclose(ones, plain, rtol=1e-9, atol=1e-12)
    weighted = outputs(make(cls).fit(X, y, sample_weight=w + 0.5), X)
    assert np.abs(weighted - plain).max() > 1e-4


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_mlp_follows_sklearn_with_weights(solver):
    """Weighted loss Σ wᵢ·lᵢ / Σ wᵢ and L2 penalty α·‖W‖²/(2·Σ wᵢ), as sklearn's MLP, with
    Adam's default ε (entering where scikit-learn adds it, so small weighted gradients take
    scikit-learn's steps too)."""
    X, y, w = problem(MLPClassifier, n=150)
    settings = dict(
        hidden_layer_sizes=(8,),
        batch_size=len(X),
        shuffle=False,
        random_state=0,
        max_iter=20,
        solver=solver,
        alpha=0.01,
        learning_rate_init=0.01,
    )
    ours = MLPClassifier(**settings).fit(X, y, sample_weight=w)
    theirs = SkMLPClassifier(**settings).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    Xr, yr, wr = problem(MLPRegressor, n=150)
    settings.update(learning_rate_init=0.05)
    ours = MLPRegressor(**settings).fit(Xr, yr, sample_weight=wr)
    theirs = SkMLPRegressor(**settings).fit(Xr, yr, sample_weight=wr)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)


def test_mini_batches_shuffle_weights_with_their_rows():
    """A zero-weight row leaves no trace whatever batch it is shuffled into."""
    X, y, _ = problem(MLPClassifier)
    w = np.ones(len(X))
    w[::4] = 0
    y_noise = y.copy()
    y_noise[::4] = (y_noise[::4] + 1) % 3
    settings = dict(hidden_layer_sizes=(8,), batch_size=8, random_state=0, max_iter=5)
    a = MLPClassifier(**settings).fit(X, y, sample_weight=w)
    b = MLPClassifier(**settings).fit(X, y_noise, sample_weight=w)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_partial_fit_and_score_take_weights():
    X, y, w = problem(MLPClassifier)
    clf = make(MLPClassifier)
    clf.partial_fit(X, y, classes=[0, 1, 2], sample_weight=w)
    rep = make(MLPClassifier).partial_fit(np.repeat(X, w, 0), np.repeat(y, w), classes=[0, 1, 2])
    np.testing.assert_allclose(clf.predict_proba(X), rep.predict_proba(X), rtol=1e-9)
    assert clf.score(X, y, sample_weight=w) == accuracy_score(y, clf.predict(X), sample_weight=w)
    Xr, yr, wr = problem(NeuralNetRegressor)
    reg = make(NeuralNetRegressor).partial_fit(Xr, yr, sample_weight=wr)
    assert reg.score(Xr, yr, sample_weight=wr) == pytest.approx(
        r2_score(yr, reg.predict(Xr), sample_weight=wr)
    )


def test_early_stopping_splits_the_weights():
    X, y, w = problem(MLPClassifier, n=150)
    clf = MLPClassifier((8,), early_stopping=True, random_state=0, max_iter=15)
    clf.fit(X, y, sample_weight=w + 1)
    assert len(clf.validation_scores_) == clf.n_iter_
    clf.fit(X, y, sample_weight=2.0)  # a scalar weighs every sample alike, as in scikit-learn
    assert clf.n_iter_ >= 1


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "weights,match",
    [
        (np.ones(5), r"sample_weight.shape == \(5,\), expected \(60,\)"),
        (np.ones((60, 2)), "1D array or scalar"),
        (np.r_[np.nan, np.ones(59)], "NaN"),
        (np.r_[np.inf, np.ones(59)], "infinity"),
        (np.r_[-1.0, np.ones(59)], "Negative values"),
        (np.zeros(60), "at least one non-zero"),
        (np.array(["a"] * 60), "could not convert"),
    ],
    ids=["length", "2d", "nan", "inf", "negative", "all-zero", "strings"],
)
def test_bad_weights_raise(cls, weights, match):
    X, y, _ = problem(cls)
    with pytest.raises(ValueError, match=match):
        make(cls).fit(X, y, sample_weight=weights)


def test_weights_leaving_one_class_raise():
    X, y, _ = problem(MLPClassifier)
    with pytest.raises(ValueError, match="at least 2 classes with a non-zero sample_weight"):
        make(MLPClassifier).fit(X, y, sample_weight=(y == 1).astype(float))


# ---- meta-estimators ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_advertised_to_meta_estimators(cls):
    est = make(cls)
    assert has_fit_parameter(est, "sample_weight")
    assert "sample_weight" in inspect.signature(est.partial_fit).parameters
    assert "sample_weight" in inspect.signature(est.score).parameters
    assert callable(getattr(est, "set_fit_request", None))
    assert callable(getattr(est, "set_score_request", None))
    assert callable(getattr(est, "set_partial_fit_request", None))


def test_grid_search_and_adaboost_pass_weights():
    X, y, w = problem(MLPClassifier, n=90)
    grid = GridSearchCV(make(MLPClassifier), {"alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X, y, sample_weight=w)  # legacy routing: fit params go to every fold's fit
    assert grid.best_params_["alpha"] in (1e-4, 1e-2)
    boost = AdaBoostClassifier(make(MLPClassifier), n_estimators=2, random_state=0).fit(X, y)
    assert boost.score(X, y) > 0.5


def test_metadata_routing_sends_weights_to_fit_and_score():
    X, y, w = problem(MLPClassifier, n=90)
    w = w + 0.5
    cv = KFold(3, shuffle=True, random_state=0)
    expected = [
        make(MLPClassifier)
        .fit(X[train], y[train], sample_weight=w[train])
        .score(X[test], y[test], sample_weight=w[test])
        for train, test in cv.split(X)
    ]
    with sklearn.config_context(enable_metadata_routing=True):
        clf = make(MLPClassifier).set_fit_request(sample_weight=True)
        clf.set_score_request(sample_weight=True)
        scores = cross_val_score(clf, X, y, cv=cv, params={"sample_weight": w})
        np.testing.assert_allclose(scores, expected)
        pipe = make_pipeline(StandardScaler(), make(NeuralNetClassifier))
        pipe[-1].set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        pipe[0].set_fit_request(sample_weight=False)
        grid = GridSearchCV(pipe, {"neuralnetclassifier__lr": [0.01, 0.05]}, cv=cv)
        grid.fit(X, y, sample_weight=w)
        assert grid.best_score_ > 0.5
        unrequested = make(MLPClassifier)  # routing on, weights not requested: an error
        with warnings.catch_warnings(), pytest.raises(ValueError, match="sample_weight"):
            warnings.simplefilter("ignore")
            cross_val_score(unrequested, X, y, cv=cv, params={"sample_weight": w})
