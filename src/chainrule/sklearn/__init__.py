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

try:  # one clear message when scikit-learn is missing, before any submodule imports it
    import scipy.special  # noqa: F401
    import sklearn.base  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        f'chainrule.sklearn needs scikit-learn: pip install "chainrule[sklearn]" ({err})'
    ) from None

from chainrule.sklearn.mlp import MLPClassifier, MLPRegressor
from chainrule.sklearn.neural_net import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]
