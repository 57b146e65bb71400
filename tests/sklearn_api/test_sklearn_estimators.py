"""chainrule.sklearn: scikit-learn's own estimator checks, model selection, and parity with
sklearn.neural_network at equal settings."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.sklearn import (  # noqa: E402
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,
    NeuralNetRegressor,
)


class _SmallNet:
    """A picklable factory, Linear → ReLU → Linear, whose repr names it: scikit-learn builds
    the test ids from the estimator's repr, and a function's repr holds its address, which
    differs between pytest-xdist's workers (they must collect the same ids)."""

    def __call__(self, n_in, n_out, hidden=16):
        return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))

    def __repr__(self):
        return "small_net"


small_net = _SmallNet()


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def expected_failures(estimator):
    """small_net is float32: weighted and repeated rows agree to float32 rounding (~1e-6),
    the check asks for 1e-7. A float64 network passes it (test_sklearn_sample_weight.py)."""
    if isinstance(estimator, (NeuralNetClassifier, NeuralNetRegressor)):
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "float32 network: equivalent only to float32 rounding (~1e-6 > rtol 1e-7)"
            )
        }
    return {}


# scikit-learn's own checks, on the default MLPs and on wrapped networks. Two checks are
# skipped by scikit-learn itself (see docs/sklearn.md): check_array_api_input (no Array API
# support) and check_classifiers_multilabel_output_format_decision_function (no
# decision_function, as sklearn's MLPClassifier).
@parametrize_with_checks(
    [
        MLPClassifier(),
        MLPRegressor(),
        NeuralNetClassifier(small_net, lr=0.01, max_iter=50),
        NeuralNetRegressor(small_net, lr=0.01, max_iter=50),
    ],
    expected_failed_checks=expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def scaled(load):
    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ---- same behaviour as sklearn.neural_network -------------------------------------------------
@pytest.mark.parametrize(
    "solver,learning_rate",
    [("adam", "constant"), ("sgd", "constant"), ("sgd", "invscaling"), ("sgd", "adaptive")],
)
def test_full_batch_training_follows_sklearn(solver, learning_rate):
    """Same initial weights from random_state, same loss, same updates: the curves agree."""
    X, y = scaled(load_iris)
    settings = dict(
        hidden_layer_sizes=(8,),
        batch_size=len(X),
        shuffle=False,
        random_state=0,
        max_iter=20,
        solver=solver,
        learning_rate=learning_rate,
        alpha=0.01,
        learning_rate_init=0.01,
    )
    ours, theirs = MLPClassifier(**settings).fit(X, y), SkMLPClassifier(**settings).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize(
    "cls,sk_cls", [(MLPClassifier, SkMLPClassifier), (MLPRegressor, SkMLPRegressor)]
)
def test_adam_follows_sklearn_where_gradients_are_tiny(cls, sk_cls):
    """Unscaled iris, a small ReLU layer: dead units see only the L2 gradient (~1e-7), where
    scikit-learn's ε (added before the bias correction) and PyTorch's (after) give steps that
    differ by a sizeable part of the learning rate; the weights must still be scikit-learn's."""
    X, y = load_iris(return_X_y=True)
    settings = dict(
        hidden_layer_sizes=(5,), batch_size=1000, shuffle=False, random_state=1, max_iter=20
    )
    settings["tol"] = 0.0
    ours, theirs = cls(**settings).fit(X, y), sk_cls(**settings).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["multilabel", "multioutput"])
def test_several_outputs_follow_sklearn(task, solver, weighted):
    """scikit-learn trains every output with ŷ − y (the loss summed over the outputs, not
    averaged: SGD steps were k times too small), reports the multilabel log-loss summed and
    the squared error averaged over them."""
    if task == "multilabel":
        X, y = scaled(load_iris)
        Y, cls, sk_cls = np.eye(3, dtype=int)[y], MLPClassifier, SkMLPClassifier
    else:
        X, y = scaled(load_diabetes)
        y = (y - y.mean()) / y.std()
        Y, cls, sk_cls = np.c_[y, -y / 2, y**2], MLPRegressor, SkMLPRegressor
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X)) if weighted else None
    settings = dict(
        hidden_layer_sizes=(6,),
        batch_size=64,  # a last, smaller batch: its L2 term is α·W/(its size), as sklearn's
        shuffle=False,
        random_state=0,
        max_iter=8,
        tol=0.0,
        solver=solver,
        learning_rate_init=0.05,
    )
    ours = cls(**settings).fit(X, Y, sample_weight=w)
    theirs = sk_cls(**settings).fit(X, Y, sample_weight=w)
    # the curve's penalty is the epoch's starting weights' (docs/sklearn.md): ~1e-7 off
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("outputs", [1, 2])
def test_poisson_regressor_follows_sklearn(outputs, weighted):
    """loss="poisson" (scikit-learn >= 1.7): exponential output, half Poisson deviance."""
    X, y = scaled(load_diabetes)
    Y = y / 100 if outputs == 1 else np.c_[y / 100, y / 200]
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X)) if weighted else None
    settings = dict(
        hidden_layer_sizes=(6,),
        loss="poisson",
        batch_size=64,
        shuffle=False,
        random_state=0,
        max_iter=5,
        tol=0.0,
        learning_rate_init=0.01,
    )
    ours = MLPRegressor(**settings).fit(X, Y, sample_weight=w)
    theirs = SkMLPRegressor(**settings).fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert abs(ours.score(X, Y) - theirs.score(X, Y)) < 1e-6
    assert MLPRegressor((3,)).get_params()["loss"] == "squared_error"  # keyword, not first
    with pytest.raises(ValueError, match=r"loss='poisson' needs y >= 0"):
        MLPRegressor(**settings).fit(X, y / 100 - 3)
    with pytest.raises(ValueError, match="'squared_error' or 'poisson'"):
        MLPRegressor(loss="huber").fit(X, y)


def test_out_activation_names_scikit_learns():
    X, y = scaled(load_iris)
    for target, expected in [(y, "softmax"), (y == 0, "logistic"), (np.eye(3)[y], "logistic")]:
        clf = MLPClassifier((3,), max_iter=2).fit(X, target)
        assert clf.out_activation_ == expected
    assert MLPRegressor((3,), max_iter=2).fit(X, y).out_activation_ == "identity"


def test_regressor_follows_sklearn():
    X, y = scaled(load_diabetes)
    settings = dict(
        hidden_layer_sizes=(8,),
        batch_size=len(X),
        shuffle=False,
        random_state=1,
        max_iter=10,
        learning_rate_init=0.05,
    )
    ours, theirs = MLPRegressor(**settings).fit(X, y), SkMLPRegressor(**settings).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("load", [load_iris, load_wine, load_breast_cancer, load_digits])
def test_accuracy_within_one_point_of_sklearn(load):
    X, y = scaled(load)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scores = {}
    for cls in (MLPClassifier, SkMLPClassifier):
        runs = [
            cls(hidden_layer_sizes=(32,), max_iter=100, random_state=seed)
            .fit(X_train, y_train)
            .score(X_test, y_test)
            for seed in range(3)
        ]
        scores[cls] = np.mean(runs)
    assert scores[MLPClassifier] > 0.8
    assert abs(scores[MLPClassifier] - scores[SkMLPClassifier]) <= 0.01


# ---- model selection ----------------------------------------------------------------------
def test_pipeline_gridsearch_cross_val_score():
    X, y = load_iris(return_X_y=True)
    mlp = MLPClassifier(max_iter=100, learning_rate_init=0.01, random_state=0)
    pipe = make_pipeline(StandardScaler(), mlp)
    grid = GridSearchCV(
        pipe,
        {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)], "mlpclassifier__alpha": [1e-4]},
        cv=3,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] in [(4,), (16,)]
    assert grid.score(X, y) > 0.85
    scores = cross_val_score(
        NeuralNetClassifier(small_net, lr=0.01, max_iter=60, random_state=0), X, y, cv=3
    )
    assert scores.shape == (3,) and scores.mean() > 0.8


# ---- the fitted attributes and the API ------------------------------------------------------
def test_attributes_with_string_labels_and_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = MLPClassifier((8,), max_iter=30, random_state=0).fit(frame, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.n_features_in_ == 4 and list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert len(clf.loss_curve_) == clf.n_iter_ == 30 and clf.loss_ == clf.loss_curve_[-1]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert [c.shape for c in clf.coefs_] == [(4, 8), (8, 3)]
    assert set(clf.predict(frame)) <= set(clf.classes_)
    proba = clf.predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(frame), np.log(proba))
    assert isinstance(clf.model_, nn.Module)


def test_early_stopping_and_convergence():
    X, y = scaled(load_breast_cancer)
    clf = MLPClassifier(
        (16,), early_stopping=True, n_iter_no_change=3, max_iter=500, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)


def test_partial_fit_and_warm_start():
    X, y = scaled(load_iris)
    clf = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:10], y[:10])
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    clf.partial_fit(X[50:], y[50:])
    # n_iter_ counts the epochs of the last call, as scikit-learn >= 1.3; the curve goes on
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2 and clf.t_ == len(X)
    assert list(clf.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :2], y)
    for est in (
        MLPClassifier(early_stopping=True),
        NeuralNetClassifier(small_net, early_stopping=True),
    ):
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
            est.partial_fit(X, y, classes=[0, 1, 2])  # as scikit-learn; it was ignored
    reg = MLPRegressor((8,), max_iter=5, warm_start=True, random_state=0)
    Xd, yd = scaled(load_diabetes)
    reg.fit(Xd, yd)
    first = reg.coefs_[0].copy()
    with pytest.warns(ConvergenceWarning):
        reg.fit(Xd, yd)
    assert reg.n_iter_ == 5 and len(reg.loss_curve_) == 10
    assert not np.allclose(first, reg.coefs_[0])
    reg.set_params(max_iter=7)  # warm start: up to max_iter more epochs, as scikit-learn
    reg.fit(Xd, yd)
    theirs = SkMLPRegressor(
        hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0
    ).fit(Xd, yd)
    theirs.fit(Xd, yd)
    theirs.set_params(max_iter=7)
    theirs.fit(Xd, yd)
    assert reg.n_iter_ == theirs.n_iter_ == 7
    assert len(reg.loss_curve_) == len(theirs.loss_curve_) == 17


def test_random_state_reproducible_and_clone():
    X, y = scaled(load_wine)
    a = MLPClassifier((8,), max_iter=20, random_state=3).fit(X, y)
    b = sklearn.base.clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = NeuralNetClassifier(small_net, module_params={"hidden": 4}, max_iter=5, random_state=3)
    d = sklearn.base.clone(c)
    np.testing.assert_array_equal(c.fit(X, y).predict_proba(X), d.fit(X, y).predict_proba(X))
    assert c.model_[0].out_features == 4
    assert c.get_params()["module_params"] == {"hidden": 4}


def test_multilabel_and_multioutput():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(int)
    clf = MLPClassifier((16,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == (120, 2) and clf.predict_proba(X).shape == (120, 2)
    assert clf.score(X, Y) > 0.8
    T = np.stack([X[:, 0] * 2, X[:, 1] - X[:, 3]], axis=1)
    reg = MLPRegressor((16,), max_iter=300, random_state=0, learning_rate_init=0.01).fit(X, T)
    assert reg.predict(X).shape == (120, 2) and reg.score(X, T) > 0.9


def test_clear_errors():
    X, y = scaled(load_iris)
    with pytest.raises(ValueError, match="lbfgs.*adam"):
        MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="'activation' parameter"):
        MLPClassifier(activation="swish").fit(X, y)
    with pytest.raises(ValueError, match="'hidden_layer_sizes'"):
        MLPClassifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="one class"):
        MLPClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="'module' parameter"):
        NeuralNetClassifier().fit(X, y)
    with pytest.raises(TypeError, match="must return an nn.Module"):
        NeuralNetRegressor(lambda n_in, n_out: "not a model").fit(X, y)
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)


def test_fitted_network_exports_to_onnx():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    X, y = scaled(load_iris)
    clf = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    proto = cr.onnx.export(nn.Sequential(clf.model_, nn.Softmax(dim=1)), None, X[:2])
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (proba,) = session.run(None, {"input": X})
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_quiet_by_default_and_sklearn_progress_lines(capsys):
    X, y = scaled(load_iris)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier((4,), max_iter=2).fit(X, y)
    assert capsys.readouterr().out == ""
    MLPClassifier((4,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2"]
    assert lines[1].startswith("Iteration 2, loss = ")
