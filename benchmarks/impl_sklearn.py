"""scikit-learn's MLPClassifier on the digits job (case e) only."""

from __future__ import annotations

import time
import warnings

import numpy as np

name = "sklearn"


def fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg):
    """Same network, optimizer, batch and epochs; scikit-learn's own init and shuffling.

    ``alpha=0`` turns off its default L2 penalty and ``n_iter_no_change=epochs`` stops early
    stopping, so it runs exactly ``epochs`` passes like the others.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    epochs = len(orders)
    clf = MLPClassifier(
        hidden_layer_sizes=(cfg["hidden"],),
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=cfg["batch"],
        learning_rate_init=cfg["lr"],
        max_iter=epochs,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    return fit_s, float(np.mean(clf.predict(X_test) == y_test))
