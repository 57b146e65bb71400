"""The benchmark cases: network shapes, data and initial weights shared by every implementation.

Each MLP case is trained by three implementations that do the same arithmetic from the same
starting weights on the same batches: chainrule (public API, as a user writes it), PyTorch
(CPU) and a hand-written NumPy step with no autograd, the ceiling an engine can approach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MLPCase:
    """One training-step benchmark: a multilayer perceptron trained with plain SGD.

    ``sizes`` lists the layer widths from input to output, ``hidden`` names the activation
    between linear layers and ``loss`` is ``"bce"`` (one logit, sigmoid folded into
    binary cross-entropy), ``"bce_prob"`` (a sigmoid output layer, then binary cross-entropy on
    its probabilities: the seed's own formulation) or ``"ce"`` (softmax cross-entropy over
    ``sizes[-1]`` classes).
    """

    key: str
    title: str
    sizes: tuple[int, ...]
    hidden: str
    loss: str
    batch: int
    lr: float = 0.1
    seconds: float = 0.6  # measured time per subprocess (full run)

    @property
    def description(self) -> str:
        arrows = " → ".join(str(n) for n in self.sizes)
        loss = "sigmoid output, BCELoss" if self.loss == "bce_prob" else self.loss.upper()
        return f"{arrows}, {self.hidden}, {loss}, batch {self.batch}, SGD"


MLP_CASES = {
    "a": MLPCase("a", "tiny (seed network)", (2, 1, 1), "sigmoid", "bce", batch=1),
    # the seed network as the seed writes it: nn.Sigmoid() output and nn.BCELoss()
    "a2": MLPCase("a2", "tiny, seed's own loss", (2, 1, 1), "sigmoid", "bce_prob", batch=1),
    "b": MLPCase("b", "small", (2, 16, 16, 1), "tanh", "bce", batch=32),
    "c": MLPCase("c", "MNIST-sized", (784, 256, 128, 10), "relu", "ce", batch=128, seconds=1.0),
    "d": MLPCase("d", "wide", (784, 1024, 1024, 10), "relu", "ce", batch=256, seconds=1.5),
}

# The per-op case: a chain of this many multiplications of a small float32 vector.
PER_OP_CHAIN = 100
PER_OP_SIZE = 16

# The digits job (case e).
DIGITS = {"hidden": 64, "lr": 1e-3, "batch": 200, "epochs": 50, "test_size": 0.25}

# Scaling of case (c): batch sizes at width 256, and widths (784 → w → w/2 → 10) at batch 128.
SCALING_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SCALING_WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
QUICK_SCALING_BATCHES = (1, 32, 256)
QUICK_SCALING_WIDTHS = (64, 256)


def scaled_case(batch: int = 128, width: int = 256) -> MLPCase:
    """Case (c) with another batch size or hidden width (784 → width → width/2 → 10)."""
    return MLPCase(
        "c", "MNIST-sized", (784, width, max(width // 2, 1), 10), "relu", "ce", batch=batch
    )


def init_params(sizes, seed: int = 0, dtype=np.float32) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch's default Linear init, U(−1/√fan_in, 1/√fan_in), from a fixed seed.

    Returns one ``(weight (out, in), bias (out,))`` pair per layer; every implementation copies
    these, so all of them start from the same point.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(dtype)
        bias = rng.uniform(-bound, bound, size=(fan_out,)).astype(dtype)
        params.append((weight, bias))
    return params


def make_batches(case: MLPCase, n_batches: int = 16, seed: int = 1):
    """``n_batches`` random ``(x, y)`` batches: x float32 (batch, in), y as the loss wants it.

    For BCE, y is float32 (batch, 1) with 0/1 values; for CE, y is int64 (batch,) class labels.
    The step loop cycles through them, so data creation stays out of the timing.
    """
    rng = np.random.default_rng(seed)
    n_in, n_out = case.sizes[0], case.sizes[-1]
    batches = []
    for _ in range(n_batches):
        x = rng.standard_normal((case.batch, n_in)).astype(np.float32)
        if case.loss in ("bce", "bce_prob"):
            y = (rng.random((case.batch, 1)) < 0.5).astype(np.float32)
        else:
            y = rng.integers(0, n_out, size=case.batch).astype(np.int64)
        batches.append((x, y))
    return batches


def load_digits():
    """The digits data set as float32 features scaled to [0, 1] and int64 labels.

    Uses ``chainrule.datasets.digits()`` when it exists, else scikit-learn's copy of the same
    8×8 images; the ``source`` string says which.
    """
    try:
        from chainrule.data.datasets import digits

        X, y = digits()
        source = "chainrule.datasets.digits()"
    except (ImportError, AttributeError):
        from sklearn.datasets import load_digits as sk_load_digits

        X, y = sk_load_digits(return_X_y=True)
        source = "sklearn.datasets.load_digits()"
    X = np.asarray(X, dtype=np.float64)
    X = (X / max(float(X.max()), 1.0)).astype(np.float32)
    return X, np.asarray(y, dtype=np.int64), source


def digits_split(X, y, test_size: float = 0.25, seed: int = 0):
    """A stratified-free, seeded train/test split (the same indices for every implementation)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = int(round(len(X) * test_size))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def epoch_orders(n: int, epochs: int, seed: int = 0) -> list[np.ndarray]:
    """The shuffled sample order of every epoch, shared by chainrule and PyTorch."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]
