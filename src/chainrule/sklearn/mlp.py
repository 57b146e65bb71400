"""scikit-learn's multi-layer perceptron (``sklearn.neural_network``), trained by chainrule."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from chainrule.sklearn.base import BaseNet
from chainrule.sklearn.checks import check, is_int, is_real
from chainrule.sklearn.losses import (
    HalfPoissonDeviance,
    HalfSquaredError,
    OutputSum,
    PenalizedLoss,
)
from chainrule.sklearn.mixins import NetClassifierMixin, NetRegressorMixin

__all__ = ["MLPClassifier", "MLPRegressor"]

ACTIVATIONS = {"identity": "Identity", "logistic": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}
LOSSES = {"squared_error": "identity", "poisson": "exp"}  # scikit-learn's out_activation_


class BaseMLP(BaseNet):
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
        if is_int(sizes):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        ok = sizes is not None and all(is_int(s) and s >= 1 for s in sizes)
        check(ok, "hidden_layer_sizes", self.hidden_layer_sizes, "a tuple of ints >= 1")
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        super()._check_params()
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not available in chainrule's MLP (a full-batch quasi-Newton "
                "method); use solver='adam' (default) or 'sgd'"
            )
        check(self.solver in ("adam", "sgd"), "solver", self.solver, "'adam' or 'sgd'")
        check(
            self.activation in ACTIVATIONS,
            "activation",
            self.activation,
            "'identity', 'logistic', 'tanh' or 'relu'",
        )
        check(
            self.learning_rate in ("constant", "invscaling", "adaptive"),
            "learning_rate",
            self.learning_rate,
            "'constant', 'invscaling' or 'adaptive'",
        )
        for name in ("alpha", "power_t", "epsilon"):
            value = getattr(self, name)
            check(is_real(value) and value >= 0, name, value, "a number >= 0")
        lr = self.learning_rate_init
        check(is_real(lr) and lr > 0, "learning_rate_init", lr, "a number > 0")
        check(
            is_real(self.momentum) and 0 <= self.momentum <= 1,
            "momentum",
            self.momentum,
            "a number in [0, 1]",
        )
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            check(is_real(value) and 0 <= value < 1, name, value, "a number in [0, 1)")
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
                layers.append(getattr(nn, ACTIVATIONS[self.activation])())
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

    def _set_weight_decay(self, batch_size: int, weighted: bool) -> None:
        # the L2 penalty: α·W/batch as weight decay, or (weighted) in the loss, α·W/Σw
        self._optimizer.param_groups[0]["weight_decay"] = (
            0.0 if weighted else self.alpha / batch_size
        )

    def _train_loss(self, weighted: bool):
        from chainrule.nn import BCEWithLogitsLoss

        loss = self._loss
        # per output column (softmax's cross-entropy is already one loss per sample)
        if isinstance(loss, (HalfSquaredError, HalfPoissonDeviance, BCEWithLogitsLoss)):
            loss = OutputSum(loss, report_mean=isinstance(loss, HalfSquaredError))
        if not weighted:
            return loss
        weights = [m.weight for m in self._linears(self.model_)]
        return PenalizedLoss(loss, self.alpha, weights)

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

    def _batch_begins(self, size: int, weighted: bool) -> None:
        if not weighted:  # α·W/batch with this batch's size: a last, smaller batch too
            self._optimizer.param_groups[0]["weight_decay"] = self.alpha / size
        if self.solver != "adam":
            return
        # scikit-learn adds ε to √v before Adam's bias correction, chainrule's Adam (PyTorch's)
        # after it; ε/√(1 − β₂ᵗ) at step t makes the updates the same. The difference is not
        # of the order of ε: where the gradient is tiny (a dead ReLU under the L2 penalty),
        # it is a sizeable part of the step.
        first = self._optimizer.param_groups[0]["params"][0]
        t = self._optimizer.state.get(first, {}).get("step", 0) + 1
        eps = self.epsilon / math.sqrt(1.0 - self.beta_2**t)
        for group in self._optimizer.param_groups:
            group["eps"] = eps

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


class MLPClassifier(NetClassifierMixin, ClassifierMixin, BaseMLP):
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

    @property
    def out_activation_(self) -> str:
        """The output's activation, as scikit-learn names it: "softmax" for several classes,
        "logistic" for two or for multilabel targets."""
        check_is_fitted(self, "model_")
        return "softmax" if self.n_outputs_ > 1 and not self._multilabel else "logistic"


class MLPRegressor(NetRegressorMixin, RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor`` on chainrule.

    ``loss="squared_error"`` (default): ½·mean((y − ŷ)²) with an identity output;
    ``loss="poisson"``: the half Poisson deviance with an exponential output (the network
    gives log ŷ; ``predict`` returns ŷ; y must be >= 0). Plus the L2 penalty; ``score`` is R².
    Other parameters and attributes as :class:`MLPClassifier`. ``loss`` is keyword-only here
    (scikit-learn >= 1.7 puts it first), so ``MLPRegressor((32,))`` keeps its meaning.
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
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
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
        )
        self.loss = loss

    def _check_params(self) -> None:
        super()._check_params()
        check(self.loss in LOSSES, "loss", self.loss, "'squared_error' or 'poisson'")

    def _encode_targets(self, y, first: bool, classes):
        targets = super()._encode_targets(y, first, classes)
        if self.loss == "poisson":
            if np.any(targets < 0):
                raise ValueError(
                    f"loss='poisson' needs y >= 0 (it models counts or rates), but y has "
                    f"{int(np.sum(targets < 0))} negative value(s), the smallest "
                    f"{float(targets.min())}; use loss='squared_error' for such targets"
                )
            self._loss = HalfPoissonDeviance()
        return targets

    def _inverse_link(self, out: np.ndarray) -> np.ndarray:
        return np.exp(out) if self.loss == "poisson" else out

    @property
    def out_activation_(self) -> str:
        """The output's activation, as scikit-learn names it: "identity" or "exp" (poisson)."""
        check_is_fitted(self, "model_")
        return LOSSES[self.loss]
