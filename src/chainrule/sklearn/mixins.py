"""The classifier and regressor halves of the estimators: how targets are encoded, scored
and predicted."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
)

from chainrule.sklearn.losses import loss_fn

__all__ = ["NetClassifierMixin", "NetRegressorMixin"]


def _sorted_labels(y) -> np.ndarray:
    """``np.unique(y)``, with labels that cannot be compared (a None among strings: a missing
    label) named instead of NumPy's '<' not supported."""
    try:
        return np.unique(y)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in np.asarray(y, dtype=object).ravel()})
        missing = " (None is a missing label: drop those rows or give them a class)"
        raise ValueError(
            f"y mixes labels of types {', '.join(kinds)} that cannot be sorted into classes_"
            f"{missing if 'NoneType' in kinds else ''}"
        ) from None


class NetClassifierMixin:
    """Targets as class indices (or 0/1 columns), probabilities from the network's logits."""

    _is_classifier = True
    _binary_single_output = True  # one logit for two classes (MLPClassifier, like sklearn)

    def _encode_targets(self, y, first: bool, classes):
        if y.dtype == object:
            _sorted_labels(y)  # before scikit-learn's checks sort them with no word of why
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput":  # else it fails inside cross-entropy, unexplained
            raise ValueError(
                f"{type(self).__name__} got a multiclass-multioutput y of shape {y.shape} (a "
                f"column of class labels per output), which one network here does not fit; "
                f"wrap it in sklearn.multioutput.MultiOutputClassifier (one estimator per "
                f"column), or give a 0/1 indicator y for multilabel classification"
            )
        if first and classes is None:
            self._multilabel = kind == "multilabel-indicator"
            self.classes_ = np.arange(y.shape[1]) if self._multilabel else _sorted_labels(y)
        elif first:
            self._multilabel = kind == "multilabel-indicator"
            self.classes_ = np.unique(np.asarray(classes))
        if self._multilabel:
            if kind != "multilabel-indicator" or y.shape[1] != len(self.classes_):
                raise ValueError(f"expected a {len(self.classes_)}-column label indicator y")
            self.n_outputs_ = len(self.classes_)
            self._loss = loss_fn("bce")
            return y.astype(np.float64)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"Expected only labels in classes_ = {list(self.classes_)} but found "
                f"{list(unseen)}; give every class to the first partial_fit(..., classes=...)"
            )
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {self.classes_[0]!r}"
            )
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2 and self._binary_single_output:
            self.n_outputs_ = 1
            self._loss = loss_fn("bce")
            return index.astype(np.float64)
        self.n_outputs_ = len(self.classes_)
        self._loss = loss_fn("ce")
        return index.astype(np.int64)

    def _score_arrays(self, X, targets, sample_weight=None) -> float:
        proba = self._proba_from_raw(self._raw_arrays(X))
        if self._multilabel:
            return accuracy_score(targets, (proba > 0.5).astype(int), sample_weight=sample_weight)
        return accuracy_score(
            targets.astype(np.int64), proba.argmax(axis=1), sample_weight=sample_weight
        )

    def _raw_arrays(self, X) -> np.ndarray:
        import chainrule as cr

        return cr.predict(self.model_, X, batch_size=1024).astype(np.float64, copy=False)

    def _proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        if self._multilabel:
            return expit(raw)
        if raw.shape[1] == 1:
            p = expit(raw[:, 0])
            return np.stack([1 - p, p], axis=1)
        return softmax(raw, axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Shape: (n_samples, n_features) → (n_samples, n_classes).
        """
        return self._proba_from_raw(self._raw(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """ln of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample (a 0/1 indicator row for multilabel y)."""
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(int)
        return self.classes_[proba.argmax(axis=1)]

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass over ``(X, y)``; the first call needs ``classes`` (every label there is).

        ``sample_weight`` as in :meth:`fit`. ``classes`` stays the third positional argument
        (as in ``SGDClassifier``; scikit-learn's MLP puts ``sample_weight`` there): pass
        ``sample_weight=`` by name.
        """
        if _check_partial_fit_first_call(self, classes):
            for name in ("model_", "_optimizer"):
                self.__dict__.pop(name, None)
            self._pending_classes = self.classes_
            del self.classes_
        classes = getattr(self, "_pending_classes", None)
        self.__dict__.pop("_pending_classes", None)
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)``; returns self.

        Args:
            X: array-like (n_samples, n_features).
            y: class labels (n_samples,) of any type, or a 0/1 indicator (n_samples, n_labels).
            sample_weight: one weight >= 0 per sample (a scalar weighs all alike). Each batch's
                loss is the weighted mean of its samples' losses (see docs/sklearn.md).
        """
        self.__dict__.pop("_pending_classes", None)
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NetRegressorMixin:
    _is_classifier = False

    def _encode_targets(self, y, first: bool, classes):
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(f"y has {y.shape} values per sample; the model has {self.n_outputs_}")
        self._loss = loss_fn("mse")
        return y.astype(np.float64).reshape(len(y), -1)

    def _score_arrays(self, X, targets, sample_weight=None) -> float:
        import chainrule as cr

        predicted = self._inverse_link(cr.predict(self.model_, X, batch_size=1024))
        return r2_score(targets, predicted, sample_weight=sample_weight)

    def _inverse_link(self, out: np.ndarray) -> np.ndarray:
        """The prediction from the network's output (the identity; exp for a log link)."""
        return out

    def predict(self, X) -> np.ndarray:
        """Predicted targets: shape (n_samples,) for a 1-D y, else (n_samples, n_outputs)."""
        out = self._inverse_link(self._raw(X))
        return out.ravel() if self._y_1d else out

    def partial_fit(self, X, y, sample_weight=None):
        """One pass over ``(X, y)`` (the first call initialises the network)."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)``; returns self. ``y`` is (n_samples,) or (n_samples, n_outputs).

        ``sample_weight``: one weight >= 0 per sample; each batch's loss is the weighted mean
        of its samples' losses (see docs/sklearn.md).
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
