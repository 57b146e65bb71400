"""What every chainrule estimator shares: parameter checks, input validation, the training loop
(``cr.fit`` with scikit-learn's stopping rules) and raw prediction."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from chainrule.sklearn.checks import check, is_int, is_real
from chainrule.sklearn.rules import SklearnRules

__all__ = ["BaseNet"]


class BaseNet(BaseEstimator):
    """What the four estimators share: validation, the training loop, prediction."""

    _is_classifier = False
    _warn_batch_clip = False  # scikit-learn's MLP warns when batch_size > n_samples

    # ---- hooks the estimators fill in ----------------------------------------------------
    def _build(self, n_features: int, n_outputs: int, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_optimizer(self, model, batch_size: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_params(self) -> None:
        check(
            is_int(self.max_iter) and self.max_iter >= 1, "max_iter", self.max_iter, "an int >= 1"
        )
        bs = self.batch_size
        check(bs == "auto" or (is_int(bs) and bs >= 1), "batch_size", bs, "'auto' or an int >= 1")
        check(is_real(self.tol) and self.tol >= 0, "tol", self.tol, "a number >= 0")
        check(
            is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1,
            "n_iter_no_change",
            self.n_iter_no_change,
            "an int >= 1",
        )
        vf = self.validation_fraction
        check(is_real(vf) and 0 < vf < 1, "validation_fraction", vf, "a number in (0, 1)")

    def _penalty(self, batch_size: int) -> float:
        return 0.0

    def _train_loss(self, weighted: bool):
        """The loss ``cr.fit`` minimises: the targets' loss (weighted by ``cr.fit``)."""
        return self._loss

    def _reduce_learning_rate(self) -> bool:
        return False

    def _set_weight_decay(self, batch_size: int, weighted: bool) -> None:
        pass

    def _iteration_ends(self) -> None:
        pass

    def _batch_begins(self, size: int, weighted: bool) -> None:
        pass

    # ---- input checks ----------------------------------------------------------------------
    def _validate(self, X, y, reset: bool):
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=not self._is_classifier,
            dtype=(np.float64, np.float32),
            order="C",
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector: one target, as scikit-learn does
        return X, y

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n and self._warn_batch_clip:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=3,
            )
        return min(self.batch_size, n)

    def _sample_weight(self, sample_weight, X, targets, incremental: bool):
        """scikit-learn's checks of ``sample_weight`` (length, 1-D, numbers, finite, not all
        zero), plus: no negative weight, and two classes left with weight > 0 in ``fit``."""
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if self._is_classifier and not self._multilabel and not incremental:
            kept = np.unique(targets[sample_weight > 0])
            if len(kept) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes with a "
                    f"non-zero sample_weight, but only class {self.classes_[int(kept[0])]!r} "
                    f"has any"
                )
        return sample_weight

    def _hold_out(self, X, targets, sample_weight):
        """``(X, targets, sample_weight)`` to train on and the ``(X, targets, sample_weight)``
        held out for ``early_stopping``; the weights are split with their rows (as
        scikit-learn does) and weight the validation score."""
        stratify = targets if self._is_classifier and targets.ndim == 1 else None
        weights = () if sample_weight is None else (sample_weight,)
        X, X_val, targets, y_val, *split = train_test_split(
            X,
            targets,
            *weights,
            random_state=self._random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        if len(X_val) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        sample_weight, w_val = split if split else (None, None)
        return X, targets, sample_weight, (X_val, y_val, w_val)

    # ---- training --------------------------------------------------------------------------
    def _fit(self, X, y, incremental: bool, classes=None, sample_weight=None):
        import chainrule as cr
        from chainrule.random import default_generator

        self._check_params()
        if incremental and self.early_stopping:  # it was silently ignored
            raise ValueError(
                "partial_fit does not support early_stopping=True (it holds out a validation "
                "split of one fit call); use fit, or set early_stopping=False"
            )
        first = not hasattr(self, "model_") or (not incremental and not self.warm_start)
        X, y = self._validate(X, y, reset=first)
        targets = self._encode_targets(y, first, classes)
        sample_weight = self._sample_weight(sample_weight, X, targets, incremental)
        n, n_features = X.shape
        if first:
            self._random_state = check_random_state(self.random_state)
            self.model_ = self._build(n_features, self.n_outputs_, self._random_state)
            self.loss_curve_ = []
            self.t_ = 0
            self._no_improvement_count = 0
            early = self.early_stopping and not incremental
            self.best_loss_ = None if early else math.inf
            self.validation_scores_ = [] if early else None
            self.best_validation_score_ = -math.inf if early else None
        # epochs of this call, as scikit-learn >= 1.3 counts them (loss_curve_ and t_ go on
        # across warm starts and partial_fit calls)
        self.n_iter_ = 0
        validation = None
        if self.early_stopping and not incremental:
            X, targets, sample_weight, validation = self._hold_out(X, targets, sample_weight)
            self._best_state = None
        batch_size = self._batch_size(len(X))
        weighted = sample_weight is not None
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer(self.model_, batch_size)
            self._generator = cr.Generator(int(self._random_state.randint(2**31 - 1)))
        self._set_weight_decay(batch_size, weighted)
        rules = SklearnRules(self, len(X), batch_size, validation, incremental, weighted)
        self._stopped = False
        # chainrule's own generator drives dropout masks and any initialiser a factory uses:
        # seed it from random_state for the run and give the caller's state back afterwards
        saved = default_generator.state_as_dict()
        default_generator.manual_seed(int(self._random_state.randint(2**31 - 1)))
        train_loss = self._train_loss(weighted)
        try:
            with warnings.catch_warnings():
                # scikit-learn's MLP trains on targets as given, without a word: so do these
                warnings.filterwarnings("ignore", "fit: the regression targets are not scaled")
                cr.fit(
                    self.model_,
                    (X, targets),
                    train_loss,
                    self._optimizer,
                    epochs=1 if incremental else self.max_iter,
                    batch_size=batch_size,
                    metrics=(),
                    callbacks=[rules],
                    verbose=False,
                    shuffle=self.shuffle,
                    generator=self._generator,
                    sample_weight=sample_weight,
                )
        finally:
            default_generator.set_state_from_dict(saved)
        if validation is not None and self._best_state is not None:
            self.model_.load_state_dict(self._best_state)  # the best validation score's weights
        if not incremental and not self._stopped and rules.epochs >= self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                f"optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _update_no_improvement(self, validation) -> None:
        tol = self.tol
        if validation is not None:
            score = self._score_arrays(*validation)
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                # a snapshot: state_dict()'s entries share the parameters' memory
                self._best_state = copy.deepcopy(self.model_.state_dict())
        else:
            if self.loss_curve_[-1] > self.best_loss_ - tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # ---- prediction ------------------------------------------------------------------------
    def _raw(self, X) -> np.ndarray:
        import chainrule as cr

        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return cr.predict(self.model_, X, batch_size=1024).astype(np.float64, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # chainrule computes on dense NumPy arrays
        return tags
