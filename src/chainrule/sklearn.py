"""scikit-learn estimators trained by chainrule (``pip install "chainrule[sklearn]"``).

* :class:`MLPClassifier` and :class:`MLPRegressor` take scikit-learn's parameter names and
  behave as ``sklearn.neural_network``'s estimators do (Glorot-uniform initialisation, an L2
  penalty ``alpha`` on the weights, ``adam`` or ``sgd``, the same stopping rules and
  ``loss_curve_``), with the network, the optimizer and the training loop (``cr.fit``) from
  chainrule.
* :class:`NeuralNetClassifier` and :class:`NeuralNetRegressor` wrap any ``nn.Module``
  factory, so a custom chainrule network works in ``Pipeline``, ``GridSearchCV`` and
  ``cross_val_score``.

The fitted network is ``estimator.model_`` (an ``nn.Module``): ``cr.save`` it, explain it, or
export it with ``cr.onnx.export``.

Example:
    >>> from sklearn.datasets import load_iris
    >>> from chainrule.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

try:
    from scipy.special import expit, softmax
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import (
        _check_partial_fit_first_call,
        check_classification_targets,
        type_of_target,
    )
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        f'chainrule.sklearn needs scikit-learn: pip install "chainrule[sklearn]" ({err})'
    ) from None

from chainrule.train.callbacks import Callback

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]

_ACTIVATIONS = {"identity": "Identity", "logistic": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}
_OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")


# ---- the loss functions (scikit-learn's definitions) ----------------------------------------
class _HalfSquaredError:
    """½·mean((y − ŷ)²): scikit-learn's ``squared_error`` for the MLP, gradient (ŷ − y)/n."""

    def __init__(self):
        from chainrule import nn

        self.mse = nn.MSELoss()

    def __call__(self, out, target):
        return self.mse(out, target) * 0.5


def _loss_fn(kind: str):
    from chainrule import nn

    if kind == "ce":
        return nn.CrossEntropyLoss()
    if kind == "bce":
        return nn.BCEWithLogitsLoss()
    return _HalfSquaredError()


def _check(condition: bool, name: str, value, expected: str) -> None:
    if not condition:
        raise ValueError(f"The '{name}' parameter must be {expected}; got {value!r}.")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class _SklearnRules(Callback):
    """A ``cr.fit`` callback with scikit-learn's per-epoch bookkeeping and stopping rules."""

    def __init__(self, est, n_samples: int, batch_size: int, validation, incremental: bool):
        super().__init__()
        self.est = est
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.validation = validation
        self.incremental = incremental
        self.epochs = 0  # run by this call (n_iter_ keeps counting across warm starts)

    def on_epoch_begin(self, epoch, logs=None):
        # scikit-learn adds the L2 penalty of the weights the epoch starts from (exactly so
        # for one batch per epoch; with several it averages each batch's)
        self.penalty = self.est._penalty(self.batch_size)

    def on_epoch_end(self, epoch, logs=None):
        est = self.est
        loss = float(logs["loss"]) + self.penalty
        est.loss_ = loss
        est.loss_curve_.append(loss)
        est.n_iter_ += 1
        est.t_ += self.n_samples
        self.epochs += 1
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")  # scikit-learn's progress line
        if self.incremental:
            return
        est._update_no_improvement(self.validation)
        est._iteration_ends()
        if est._no_improvement_count > est.n_iter_no_change:
            if est._reduce_learning_rate():
                est._no_improvement_count = 0
            else:
                est._stopped = True
                self.stop_training = True


class _BaseNet(BaseEstimator):
    """What the four estimators share: validation, the training loop, prediction."""

    _is_classifier = False
    _warn_batch_clip = False  # scikit-learn's MLP warns when batch_size > n_samples

    # ---- hooks the estimators fill in ----------------------------------------------------
    def _build(self, n_features: int, n_outputs: int, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_optimizer(self, model, batch_size: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_params(self) -> None:
        _check(
            _is_int(self.max_iter) and self.max_iter >= 1, "max_iter", self.max_iter, "an int >= 1"
        )
        bs = self.batch_size
        _check(bs == "auto" or (_is_int(bs) and bs >= 1), "batch_size", bs, "'auto' or an int >= 1")
        _check(_is_real(self.tol) and self.tol >= 0, "tol", self.tol, "a number >= 0")
        _check(
            _is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1,
            "n_iter_no_change",
            self.n_iter_no_change,
            "an int >= 1",
        )
        vf = self.validation_fraction
        _check(_is_real(vf) and 0 < vf < 1, "validation_fraction", vf, "a number in (0, 1)")

    def _penalty(self, batch_size: int) -> float:
        return 0.0

    def _reduce_learning_rate(self) -> bool:
        return False

    def _iteration_ends(self) -> None:
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

    # ---- training --------------------------------------------------------------------------
    def _fit(self, X, y, incremental: bool, classes=None):
        import chainrule as cr
        from chainrule.random import default_generator

        self._check_params()
        first = not hasattr(self, "model_") or (not incremental and not self.warm_start)
        X, y = self._validate(X, y, reset=first)
        targets = self._encode_targets(y, first, classes)
        n, n_features = X.shape
        if first:
            self._random_state = check_random_state(self.random_state)
            self.model_ = self._build(n_features, self.n_outputs_, self._random_state)
            self.loss_curve_ = []
            self.n_iter_ = 0
            self.t_ = 0
            self._no_improvement_count = 0
            early = self.early_stopping and not incremental
            self.best_loss_ = None if early else math.inf
            self.validation_scores_ = [] if early else None
            self.best_validation_score_ = -math.inf if early else None
        validation = None
        if self.early_stopping and not incremental:
            stratify = targets if self._is_classifier and targets.ndim == 1 else None
            X, X_val, targets, y_val = train_test_split(
                X,
                targets,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if len(X_val) < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size "
                    "of your dataset."
                )
            validation = (X_val, y_val)
            self._best_state = None
        batch_size = self._batch_size(len(X))
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer(self.model_, batch_size)
            self._generator = cr.Generator(int(self._random_state.randint(2**31 - 1)))
        rules = _SklearnRules(self, len(X), batch_size, validation, incremental)
        self._stopped = False
        # chainrule's own generator drives dropout masks and any initialiser a factory uses:
        # seed it from random_state for the run and give the caller's state back afterwards
        saved = default_generator.get_state()
        default_generator.manual_seed(int(self._random_state.randint(2**31 - 1)))
        try:
            cr.fit(
                self.model_,
                (X, targets),
                self._loss,
                self._optimizer,
                epochs=1 if incremental else self.max_iter,
                batch_size=batch_size,
                metrics=(),
                callbacks=[rules],
                verbose=False,
                shuffle=self.shuffle,
                generator=self._generator,
            )
        finally:
            default_generator.set_state(saved)
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
                self._best_state = self.model_.state_dict()
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


class _ClassifierMixin:
    """Targets as class indices (or 0/1 columns), probabilities from the network's logits."""

    _is_classifier = True
    _binary_single_output = True  # one logit for two classes (MLPClassifier, like sklearn)

    def _encode_targets(self, y, first: bool, classes):
        check_classification_targets(y)
        kind = type_of_target(y)
        if first and classes is None:
            self._multilabel = kind == "multilabel-indicator"
            self.classes_ = np.arange(y.shape[1]) if self._multilabel else np.unique(y)
        elif first:
            self._multilabel = kind == "multilabel-indicator"
            self.classes_ = np.unique(np.asarray(classes))
        if self._multilabel:
            if kind != "multilabel-indicator" or y.shape[1] != len(self.classes_):
                raise ValueError(f"expected a {len(self.classes_)}-column label indicator y")
            self.n_outputs_ = len(self.classes_)
            self._loss = _loss_fn("bce")
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
            self._loss = _loss_fn("bce")
            return index.astype(np.float64)
        self.n_outputs_ = len(self.classes_)
        self._loss = _loss_fn("ce")
        return index.astype(np.int64)

    def _score_arrays(self, X, targets) -> float:
        proba = self._proba_from_raw(self._raw_arrays(X))
        if self._multilabel:
            return accuracy_score(targets, (proba > 0.5).astype(int))
        return accuracy_score(targets.astype(np.int64), proba.argmax(axis=1))

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

    def partial_fit(self, X, y, classes=None):
        """One pass over ``(X, y)``; the first call needs ``classes`` (every label there is)."""
        if _check_partial_fit_first_call(self, classes):
            for name in ("model_", "_optimizer"):
                self.__dict__.pop(name, None)
            self._pending_classes = self.classes_
            del self.classes_
        classes = getattr(self, "_pending_classes", None)
        self.__dict__.pop("_pending_classes", None)
        return self._fit(X, y, incremental=True, classes=classes)

    def fit(self, X, y):
        """Train on ``(X, y)``; returns self.

        Args:
            X: array-like (n_samples, n_features).
            y: class labels (n_samples,) of any type, or a 0/1 indicator (n_samples, n_labels).
        """
        self.__dict__.pop("_pending_classes", None)
        return self._fit(X, y, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class _RegressorMixin:
    _is_classifier = False

    def _encode_targets(self, y, first: bool, classes):
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(f"y has {y.shape} values per sample; the model has {self.n_outputs_}")
        self._loss = _loss_fn("mse")
        return y.astype(np.float64).reshape(len(y), -1)

    def _score_arrays(self, X, targets) -> float:
        import chainrule as cr

        return r2_score(targets, cr.predict(self.model_, X, batch_size=1024))

    def predict(self, X) -> np.ndarray:
        """Predicted targets: shape (n_samples,) for a 1-D y, else (n_samples, n_outputs)."""
        out = self._raw(X)
        return out.ravel() if self._y_1d else out

    def partial_fit(self, X, y):
        """One pass over ``(X, y)`` (the first call initialises the network)."""
        return self._fit(X, y, incremental=True)

    def fit(self, X, y):
        """Train on ``(X, y)``; returns self. ``y`` is (n_samples,) or (n_samples, n_outputs)."""
        return self._fit(X, y, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# ---- scikit-learn's MLP, trained by chainrule -----------------------------------------------
class _BaseMLP(_BaseNet):
    _warn_batch_clip = True

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if _is_int(sizes):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        ok = sizes is not None and all(_is_int(s) and s >= 1 for s in sizes)
        _check(ok, "hidden_layer_sizes", self.hidden_layer_sizes, "a tuple of ints >= 1")
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        super()._check_params()
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not available in chainrule's MLP (a full-batch quasi-Newton "
                "method); use solver='adam' (default) or 'sgd'"
            )
        _check(self.solver in ("adam", "sgd"), "solver", self.solver, "'adam' or 'sgd'")
        _check(
            self.activation in _ACTIVATIONS,
            "activation",
            self.activation,
            "'identity', 'logistic', 'tanh' or 'relu'",
        )
        _check(
            self.learning_rate in ("constant", "invscaling", "adaptive"),
            "learning_rate",
            self.learning_rate,
            "'constant', 'invscaling' or 'adaptive'",
        )
        for name in ("alpha", "power_t", "epsilon"):
            value = getattr(self, name)
            _check(_is_real(value) and value >= 0, name, value, "a number >= 0")
        lr = self.learning_rate_init
        _check(_is_real(lr) and lr > 0, "learning_rate_init", lr, "a number > 0")
        _check(
            _is_real(self.momentum) and 0 <= self.momentum <= 1,
            "momentum",
            self.momentum,
            "a number in [0, 1]",
        )
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            _check(_is_real(value) and 0 <= value < 1, name, value, "a number in [0, 1)")
        self._hidden()

    def _build(self, n_features: int, n_outputs: int, rng):
        from chainrule import nn

        sizes = [n_features, *self._hidden(), n_outputs]
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.Linear(fan_in, fan_out, dtype="float64")
            # scikit-learn's Glorot-uniform draw, weights then biases, from random_state
            bound = math.sqrt(factor / (fan_in + fan_out))
            linear.weight.array[...] = rng.uniform(-bound, bound, (fan_in, fan_out)).T
            linear.bias.array[...] = rng.uniform(-bound, bound, fan_out)
            layers.append(linear)
            if i < len(sizes) - 2 and self.activation != "identity":
                layers.append(getattr(nn, _ACTIVATIONS[self.activation])())
        self.n_layers_ = len(sizes)
        return nn.Sequential(*layers)

    def _make_optimizer(self, model, batch_size: int):
        from chainrule import optim

        weights = [m.weight for m in self._linears(model)]
        biases = [m.bias for m in self._linears(model)]
        # scikit-learn adds alpha·W / batch to the weights' gradient: L2 on weights, not biases
        groups = [
            {"params": weights, "weight_decay": self.alpha / batch_size},
            {"params": biases, "weight_decay": 0.0},
        ]
        if self.solver == "sgd":
            momentum = float(self.momentum)
            return optim.SGD(
                groups,
                lr=self.learning_rate_init,
                momentum=momentum,
                nesterov=bool(self.nesterovs_momentum) and momentum > 0,
            )
        return optim.Adam(
            groups, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon
        )

    @staticmethod
    def _linears(model):
        from chainrule import nn

        return [m for m in model.modules() if isinstance(m, nn.Linear)]

    def _penalty(self, batch_size: int) -> float:
        squares = sum(
            float(np.sum(np.asarray(m.weight.array) ** 2)) for m in self._linears(self.model_)
        )
        return 0.5 * self.alpha * squares / batch_size

    def _set_learning_rate(self, lr: float) -> None:
        """A new SGD step size, with scikit-learn's momentum semantics.

        scikit-learn keeps the velocity in parameter units (v ← μ·v − lr·g), chainrule's SGD
        (PyTorch's) in gradient units (b ← μ·b + g, step lr·b): v = −lr·b. Rescaling b by
        old/new lr when the rate changes keeps the two updates identical.
        """
        for group in self._optimizer.param_groups:
            old, group["lr"] = group["lr"], lr
            for param in group["params"]:
                buf = self._optimizer.state.get(param, {}).get("momentum_buffer")
                if buf is not None:
                    np.asarray(buf)[...] *= old / lr

    def _iteration_ends(self) -> None:
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._set_learning_rate(self.learning_rate_init / (self.t_ + 1) ** self.power_t)

    def _reduce_learning_rate(self) -> bool:
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            lr = self._optimizer.param_groups[0]["lr"]
            if lr > 1e-6:
                self._set_learning_rate(lr / 5.0)
                return True
        return False

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices as scikit-learn lays them out: (fan_in, fan_out) per layer."""
        check_is_fitted(self, "model_")
        return [np.asarray(m.weight.array).T.copy() for m in self._linears(self.model_)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        check_is_fitted(self, "model_")
        return [np.asarray(m.bias.array).copy() for m in self._linears(self.model_)]


class MLPClassifier(_ClassifierMixin, ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier: ``sklearn.neural_network.MLPClassifier`` on chainrule.

    Same parameters (``solver="lbfgs"`` excepted: a clear error), same model (Glorot-uniform
    weights drawn from ``random_state``, softmax or logistic output, L2 penalty ``alpha`` on
    the weights), same stopping rules (``tol``, ``n_iter_no_change``, ``early_stopping`` with
    ``validation_fraction``) and fitted attributes (``classes_``, ``loss_curve_``, ``n_iter_``,
    ``coefs_``, ``intercepts_``, ...). ``model_`` is the trained ``nn.Sequential``.

    Example:
        >>> from sklearn.datasets import load_wine
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> X, y = load_wine(return_X_y=True)
        >>> clf = make_pipeline(StandardScaler(), MLPClassifier((32,), random_state=0))
        >>> clf.fit(X, y).score(X, y) > 0.95
        True
    """


class MLPRegressor(_RegressorMixin, RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor`` on chainrule.

    The loss is scikit-learn's ``squared_error`` for the MLP, ½·mean((y − ŷ)²), plus the L2
    penalty; ``score`` is R². Parameters and attributes as :class:`MLPClassifier`.
    """


# ---- any chainrule network ------------------------------------------------------------------
class _BaseNeuralNet(_BaseNet):
    def __init__(
        self,
        module=None,
        *,
        module_params=None,
        optimizer="adam",
        lr=0.001,
        weight_decay=0.0,
        batch_size=32,
        max_iter=100,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        verbose=False,
    ):
        self.module = module
        self.module_params = module_params
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose

    def _check_params(self) -> None:
        super()._check_params()
        if not callable(self.module):
            raise ValueError(
                f"The 'module' parameter must be a callable module_factory(n_features, "
                f"n_outputs, **module_params) returning an nn.Module; got {self.module!r}"
            )
        _check(
            self.module_params is None or isinstance(self.module_params, dict),
            "module_params",
            self.module_params,
            "None or a dict",
        )
        _check(
            self.optimizer in _OPTIMIZERS or callable(self.optimizer),
            "optimizer",
            self.optimizer,
            f"one of {_OPTIMIZERS} or an optimizer class",
        )
        _check(_is_real(self.lr) and self.lr > 0, "lr", self.lr, "a number > 0")
        _check(
            _is_real(self.weight_decay) and self.weight_decay >= 0,
            "weight_decay",
            self.weight_decay,
            "a number >= 0",
        )

    def _build(self, n_features: int, n_outputs: int, rng):
        from chainrule.nn import Module
        from chainrule.random import default_generator

        saved = default_generator.get_state()
        default_generator.manual_seed(int(rng.randint(2**31 - 1)))  # the factory's initialisers
        try:
            model = self.module(n_features, n_outputs, **(self.module_params or {}))
        finally:
            default_generator.set_state(saved)
        if not isinstance(model, Module):
            raise TypeError(
                f"module({n_features}, {n_outputs}) returned {type(model).__name__}; it must "
                f"return an nn.Module"
            )
        return model

    def _make_optimizer(self, model, batch_size: int):
        from chainrule import optim

        if callable(self.optimizer):
            return self.optimizer(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        cls = {
            "adam": optim.Adam,
            "sgd": optim.SGD,
            "adamw": optim.AdamW,
            "rmsprop": optim.RMSprop,
        }[self.optimizer]
        return cls(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)


class NeuralNetClassifier(_ClassifierMixin, ClassifierMixin, _BaseNeuralNet):
    """Any chainrule network as a scikit-learn classifier.

    Args:
        module: ``module(n_features, n_outputs, **module_params)`` → ``nn.Module`` returning
            one logit per class (``n_outputs`` = number of classes, 2 for binary; the number
            of labels for a multilabel indicator y). A module-level function or class keeps
            the estimator picklable (``GridSearchCV(n_jobs=...)`` copes with lambdas too).
        module_params: keyword arguments for ``module``.
        optimizer: ``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"`` or an optimizer class.
        lr, weight_decay: the optimizer's settings.
        batch_size, max_iter, shuffle, random_state, tol, n_iter_no_change, early_stopping,
        validation_fraction, warm_start, verbose: as in :class:`MLPClassifier`.

    The loss is cross-entropy (binary cross-entropy per label for multilabel y).

    Example:
        >>> from chainrule import nn
        >>> def net(n_in, n_out, hidden=16):
        ...     return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = NeuralNetClassifier(net, lr=0.01, max_iter=100, random_state=0).fit(X, y)
        >>> clf.score(X, y) > 0.9
        True
    """

    _binary_single_output = False


class NeuralNetRegressor(_RegressorMixin, RegressorMixin, _BaseNeuralNet):
    """Any chainrule network as a scikit-learn regressor (loss ½·mean((y − ŷ)²), score R²).

    ``module(n_features, n_outputs, **module_params)`` builds the network; other parameters
    as :class:`NeuralNetClassifier`.
    """
