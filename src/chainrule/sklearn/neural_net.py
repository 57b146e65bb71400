"""Any chainrule network (an ``nn.Module`` factory) as a scikit-learn estimator."""

from __future__ import annotations

from sklearn.base import ClassifierMixin, RegressorMixin

from chainrule.nn.module import Module
from chainrule.sklearn.base import BaseNet
from chainrule.sklearn.checks import check, is_real
from chainrule.sklearn.mixins import NetClassifierMixin, NetRegressorMixin

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")


class BaseNeuralNet(BaseNet):
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
        if isinstance(self.module, Module):  # callable too: it would be run on (3, 2)
            first_line = repr(self.module).splitlines()[0]
            raise ValueError(
                f"The 'module' parameter must build the network, not be one: got the "
                f"{type(self.module).__name__} instance {first_line}. Pass its class "
                f"or a function, module=lambda n_features, n_outputs: ..., so that each fit "
                f"(and each clone in a cross-validation) starts from a new network"
            )
        if not callable(self.module):
            raise ValueError(
                f"The 'module' parameter must be a callable module_factory(n_features, "
                f"n_outputs, **module_params) returning an nn.Module; got {self.module!r}"
            )
        check(
            self.module_params is None or isinstance(self.module_params, dict),
            "module_params",
            self.module_params,
            "None or a dict",
        )
        check(
            self.optimizer in OPTIMIZERS or callable(self.optimizer),
            "optimizer",
            self.optimizer,
            f"one of {OPTIMIZERS} or an optimizer class",
        )
        check(is_real(self.lr) and self.lr > 0, "lr", self.lr, "a number > 0")
        check(
            is_real(self.weight_decay) and self.weight_decay >= 0,
            "weight_decay",
            self.weight_decay,
            "a number >= 0",
        )

    def _build(self, n_features: int, n_outputs: int, rng):
        from chainrule.nn import Module
        from chainrule.random import default_generator

        saved = default_generator.state_as_dict()
        default_generator.manual_seed(int(rng.randint(2**31 - 1)))  # the factory's initialisers
        try:
            model = self.module(n_features, n_outputs, **(self.module_params or {}))
        finally:
            default_generator.set_state_from_dict(saved)
        if not isinstance(model, Module):
            raise TypeError(
                f"module({n_features}, {n_outputs}) returned {type(model).__name__}; it must "
                f"return an nn.Module"
            )
        _check_output_width(model, n_features, n_outputs)
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


def _check_output_width(model, n_features: int, n_outputs: int) -> None:
    """Refuse a network whose output is not n_outputs wide.

    One logit for a binary y would otherwise be read as a probability target of the same
    shape: cross-entropy over one column is 0, so nothing trains and no error is raised.
    """
    import numpy as np

    import chainrule as cr
    from chainrule.train.batches import input_dtype

    dtype = input_dtype(model)  # what cr.fit feeds it: X as given (float64) when None
    dtype = np.float64 if dtype is None else dtype
    was_training = model.training
    model.eval()  # no dropout draw, no batch-norm update from the probe
    try:
        with cr.no_grad():
            out = model(cr.tensor(np.zeros((1, n_features)), dtype=dtype))
    finally:
        model.train(was_training)
    width = out.shape[-1] if len(out.shape) == 2 else None
    if width != n_outputs:
        raise ValueError(
            f"module({n_features}, {n_outputs}) built a network whose output for one sample has "
            f"shape {tuple(out.shape)}; it must be (1, {n_outputs}): one column per class "
            f"(2 for a binary y) for a classifier, per target for a regressor. Build the last "
            f"layer from the n_outputs argument"
        )


class NeuralNetClassifier(NetClassifierMixin, ClassifierMixin, BaseNeuralNet):
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


class NeuralNetRegressor(NetRegressorMixin, RegressorMixin, BaseNeuralNet):
    """Any chainrule network as a scikit-learn regressor (loss ½·mean((y − ŷ)²), score R²).

    ``module(n_features, n_outputs, **module_params)`` builds the network; other parameters
    as :class:`NeuralNetClassifier`.
    """
