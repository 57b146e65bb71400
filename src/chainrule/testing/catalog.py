"""A gradient check for every built-in op: what ``chainrule gradcheck`` runs.

Each entry names the op, the function under test and how to draw its inputs (float64, away
from kinks such as |x| at 0 where a derivative does not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chainrule.tensor import Tensor


@dataclass(frozen=True)
class OpCheck:
    name: str
    fn: Callable
    shapes: tuple  # one shape per differentiable input
    positive: bool = False  # draw inputs from (0.5, 2) for log, sqrt, pow

    def inputs(self, seed: int = 0) -> list[Tensor]:
        rng = np.random.default_rng(seed)
        tensors = []
        for shape in self.shapes:
            values = rng.uniform(0.5, 2.0, shape) if self.positive else rng.standard_normal(shape)
            if not self.positive:
                values = values + np.sign(values) * 0.05  # keep clear of 0 (|x|, relu kinks)
            tensors.append(Tensor(values, dtype="float64", requires_grad=True))
        return tensors


def _labels(n, classes, seed=1):
    return np.random.default_rng(seed).integers(0, classes, n)


def builtin_checks() -> list[OpCheck]:
    from chainrule import functional as F
    from chainrule import ops

    targets01 = np.array([[0.0], [1.0], [1.0], [0.0]])
    regression = np.random.default_rng(2).standard_normal((4, 3))
    return [
        OpCheck("add", lambda a, b: a + b, ((4, 3), (3,))),
        OpCheck("sub", lambda a, b: a - b, ((4, 3), (4, 1))),
        OpCheck("mul", lambda a, b: a * b, ((4, 3), (1, 3))),
        OpCheck("div", lambda a, b: a / b, ((4, 3), (3,)), positive=True),
        OpCheck("neg", lambda a: -a, ((4, 3),)),
        OpCheck("pow (scalar exponent)", lambda a: a**3, ((4, 3),)),
        OpCheck("pow (tensor exponent)", lambda a, b: a**b, ((4, 3), (3,)), positive=True),
        OpCheck("exp", ops.exp, ((4, 3),)),
        OpCheck("log", ops.log, ((4, 3),), positive=True),
        OpCheck("sqrt", ops.sqrt, ((4, 3),), positive=True),
        OpCheck("abs", ops.abs, ((4, 3),)),
        OpCheck("clip", lambda a: ops.clip(a, -0.5, 0.5), ((4, 3),)),
        OpCheck("maximum", ops.maximum, ((4, 3), (3,))),
        OpCheck("minimum", ops.minimum, ((4, 3), (4, 1))),
        OpCheck("where", lambda a, b: ops.where(a.array > 0, a, b), ((4, 3), (4, 3))),
        OpCheck("sum", lambda a: a.sum(axis=0), ((4, 3),)),
        OpCheck("mean", lambda a: a.mean(axis=(0, 2)), ((2, 3, 4),)),
        OpCheck("max", lambda a: a.max(axis=1), ((4, 3),)),
        OpCheck("min", lambda a: a.min(), ((4, 3),)),
        OpCheck("var", lambda a: a.var(axis=0), ((4, 3),)),
        OpCheck("std", lambda a: a.std(axis=1, keepdims=True), ((4, 3),)),
        OpCheck("logsumexp", lambda a: a.logsumexp(axis=1), ((4, 3),)),
        OpCheck("reshape", lambda a: a.reshape(3, 4), ((4, 3),)),
        OpCheck("transpose", lambda a: a.T, ((4, 3),)),
        OpCheck("permute", lambda a: a.permute(2, 0, 1), ((2, 3, 4),)),
        OpCheck("expand", lambda a: a.expand(4, 3), ((1, 3),)),
        OpCheck("index", lambda a: a[np.array([0, 2, 2]), 1:], ((4, 3),)),
        OpCheck("cat", lambda a, b: ops.cat([a, b], axis=0), ((4, 3), (2, 3))),
        OpCheck("stack", lambda a, b: ops.stack([a, b], axis=1), ((4, 3), (4, 3))),
        OpCheck("pad", lambda a: ops.pad(a, ((1, 0), (0, 2))), ((4, 3),)),
        OpCheck("matmul", ops.matmul, ((4, 3), (3, 2))),
        OpCheck("matmul (batched)", ops.matmul, ((2, 4, 3), (3, 2))),
        OpCheck("linear", ops.linear, ((4, 3), (2, 3), (2,))),
        OpCheck("sigmoid", F.sigmoid, ((4, 3),)),
        OpCheck("tanh", F.tanh, ((4, 3),)),
        OpCheck("relu", F.relu, ((4, 3),)),
        OpCheck("leaky_relu", F.leaky_relu, ((4, 3),)),
        OpCheck("elu", F.elu, ((4, 3),)),
        OpCheck("gelu", F.gelu, ((4, 3),)),
        OpCheck("gelu (tanh)", lambda a: F.gelu(a, approximate="tanh"), ((4, 3),)),
        OpCheck("softplus", F.softplus, ((4, 3),)),
        OpCheck("silu", F.silu, ((4, 3),)),
        OpCheck("log_sigmoid", F.log_sigmoid, ((4, 3),)),
        OpCheck("softmax", F.softmax, ((4, 3),)),
        OpCheck("log_softmax", F.log_softmax, ((4, 3),)),
        OpCheck("mse_loss", lambda a: F.mse_loss(a, regression), ((4, 3),)),
        OpCheck("l1_loss", lambda a: F.l1_loss(a, regression), ((4, 3),)),
        OpCheck("huber_loss", lambda a: F.huber_loss(a, regression), ((4, 3),)),
        OpCheck(
            "binary_cross_entropy",
            lambda a: F.binary_cross_entropy(F.sigmoid(a), targets01),
            ((4, 1),),
        ),
        OpCheck(
            "binary_cross_entropy_with_logits",
            lambda a: F.binary_cross_entropy_with_logits(a, targets01),
            ((4, 1),),
        ),
        OpCheck("cross_entropy", lambda a: F.cross_entropy(a, _labels(4, 3)), ((4, 3),)),
        OpCheck(
            "cross_entropy (smoothed)",
            lambda a: F.cross_entropy(a, _labels(4, 3), label_smoothing=0.1),
            ((4, 3),),
        ),
        OpCheck("nll_loss", lambda a: F.nll_loss(F.log_softmax(a), _labels(4, 3)), ((4, 3),)),
    ]
