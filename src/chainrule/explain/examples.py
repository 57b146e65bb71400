"""The built-in worked examples, reproduced by the engine: ``seed()``, ``mazur()``, ``scalar()``.

Each returns a :class:`~chainrule.explain.report.Report`; the CLI prints them with
``chainrule explain --example seed|mazur|scalar``, and ``docs/backpropagation.md`` is generated
from them.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.autograd.inplace import steps_unseen
from chainrule.creation import tensor
from chainrule.explain.api import explain, explain_graph
from chainrule.ops import linear, log, relu, sigmoid
from chainrule.optim import SGD


class RawMLP:
    """A small fully connected network made of raw tensors and the functional ops.

    Parameters are named as ``nn.Sequential`` names them (``0.weight``, ``0.bias``, ``2.weight``,
    ...). ``shared_bias=True`` adds one bias per layer, shared by its neurons (as in Mazur's
    worked example); ``train_bias=False`` freezes the biases.
    """

    def __init__(
        self,
        weights,
        biases,
        activation=sigmoid,
        shared_bias=False,
        train_bias=True,
        dtype="float64",
    ):
        self.layers = []
        for w, b in zip(weights, biases):
            weight = tensor(w, requires_grad=True, dtype=dtype)
            bias = tensor(np.atleast_1d(b), requires_grad=train_bias, dtype=dtype)
            self.layers.append((weight, bias))
        self.activation = activation
        self.shared_bias = shared_bias

    def named_parameters(self):
        for n, (weight, bias) in enumerate(self.layers):
            yield f"{2 * n}.weight", weight
            yield f"{2 * n}.bias", bias

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def __call__(self, x):
        for weight, bias in self.layers:
            if self.shared_bias:
                x = self.activation(linear(x, weight) + bias)
            else:
                x = self.activation(linear(x, weight, bias))
        return x


def half_squared_error(output, target):
    """E = Σ ½(t − o)², the loss of Mazur's worked example."""
    return (0.5 * (target - output) ** 2).sum()


half_squared_error.formula = "E = Σ ½(t − o)²"
half_squared_error.derivative = "−(t − o)"


def binary_cross_entropy(output, target):
    """E = −mean[t·ln(o) + (1 − t)·ln(1 − o)], written with the engine's primitive ops."""
    return -(target * log(output) + (1 - target) * log(1 - output)).mean()


binary_cross_entropy.formula = "E = −1/n · Σ [t·ln(o) + (1 − t)·ln(1 − o)]"
binary_cross_entropy.derivative = "−(t/o − (1 − t)/(1 − o))/n"

# ---- Mazur, "A Step by Step Backpropagation Example" (2015) ----------------------------------
MAZUR_X = [0.05, 0.10]
MAZUR_T = [0.01, 0.99]
MAZUR_W1 = [[0.15, 0.20], [0.25, 0.30]]  # w1 w2 / w3 w4, rows are neurons h1, h2
MAZUR_W2 = [[0.40, 0.45], [0.50, 0.55]]  # w5 w6 / w7 w8, rows are neurons o1, o2
MAZUR_B = [0.35, 0.60]
MAZUR_LR = 0.5


def mazur_network() -> RawMLP:
    """The 2-2-2 sigmoid network of Mazur's example: shared biases 0.35 and 0.60, not trained."""
    return RawMLP([MAZUR_W1, MAZUR_W2], MAZUR_B, shared_bias=True, train_bias=False)


def mazur(param=("w5", "w1"), update_order: str = "simultaneous", names="classic"):
    """Mazur's 2-2-2 worked example, explained: E = 0.298371109, ∂E/∂w5 = 0.082167041, ...

    Args:
        param: parameter(s) to spell out (classic names w1…w8).
        update_order: ``"simultaneous"`` (E after one step 0.291027774) or ``"sequential"``
            (the published 0.291027924).
    """
    return explain(
        mazur_network(),
        MAZUR_X,
        MAZUR_T,
        half_squared_error,
        lr=MAZUR_LR,
        param=param,
        names=names,
        update_order=update_order,
        title="Mazur's 2-2-2 network, one step of backpropagation",
    )


def train_steps(model, x, y, loss_fn, lr: float, steps: int, update_order="simultaneous"):
    """Plain gradient descent (``optim.SGD``) on one sample; returns (loss, output) after it.

    ``update_order="sequential"`` updates the layers of a :class:`RawMLP` from the output back,
    each lower layer's gradient taken from a backward pass that already sees the updated layers
    above it (the activations are those of the step's forward pass: the step is in place).
    """
    x = tensor(np.atleast_2d(x), dtype="float64")
    y = tensor(np.atleast_2d(y), dtype="float64")
    params = model.parameters()
    trained = [p for p in params if p.requires_grad]
    per_layer = [
        SGD([p for p in (weight, bias) if p.requires_grad], lr=lr)
        for weight, bias in reversed(model.layers)
    ]
    everything = SGD(trained, lr=lr)
    for _ in range(steps):
        everything.zero_grad()
        loss = loss_fn(model(x), y)
        if update_order == "sequential":
            with steps_unseen():  # each backward reads the layers stepped above, on purpose
                for layer in per_layer:
                    loss.backward(retain_graph=True)
                    layer.step()
                    everything.zero_grad()
        else:
            loss.backward()
            everything.step()
    with no_grad():
        out = model(x)
        loss = loss_fn(out, y)
    return float(loss.item()), np.asarray(out.array).reshape(-1)


# ---- the seed network: 2 → 1 sigmoid → 1 sigmoid, binary cross-entropy ------------------------
SEED_X = [0.5, 1.0]
SEED_T = [1.0]
SEED_W1 = [[0.4, -0.6]]
SEED_B1 = [0.1]
SEED_W2 = [[0.9]]
SEED_B2 = [-0.3]
SEED_LR = 0.5


def seed_network() -> RawMLP:
    """2 inputs → 1 sigmoid hidden neuron → 1 sigmoid output, with fixed documented weights."""
    return RawMLP([SEED_W1, SEED_W2], [SEED_B1, SEED_B2])


def seed(param=None, names="classic"):
    """The seed article's network: two inputs, one hidden sigmoid neuron, one sigmoid output,
    binary cross-entropy, one example, every step and one update."""
    return explain(
        seed_network(),
        SEED_X,
        SEED_T,
        binary_cross_entropy,
        lr=SEED_LR,
        param=param,
        names=names,
        title="The seed network: 2 → 1 → 1, sigmoid, binary cross-entropy",
    )


# ---- a scalar expression, micrograd style ----------------------------------------------------
SCALAR_A = -3.0
SCALAR_B = 2.5


def scalar_expression(a, b):
    """E from a and b through + × ** relu, with a and b (and d, f) used several times.

    Returns every named node, in the order they are made.
    """
    nodes = {"a": a, "b": b}
    nodes["c"] = a * b
    nodes["e"] = b**2
    nodes["d"] = nodes["c"] + nodes["e"]
    nodes["s"] = b - a
    nodes["f"] = relu(nodes["s"])
    nodes["h"] = nodes["d"] + a
    nodes["g"] = relu(nodes["h"])
    nodes["m"] = nodes["d"] * nodes["f"]
    nodes["n"] = nodes["f"] ** 2
    nodes["k"] = nodes["n"] / 2
    nodes["o"] = nodes["m"] + nodes["g"]
    nodes["E"] = nodes["o"] + nodes["k"]
    for name, t in nodes.items():
        t.name = name
    return nodes


def scalar(param=None, lr: float = 0.01):
    """A micrograd-style scalar expression (a = −3, b = 2.5), every node and gradient."""
    a = tensor(SCALAR_A, requires_grad=True, dtype="float64")
    b = tensor(SCALAR_B, requires_grad=True, dtype="float64")
    nodes = scalar_expression(a, b)

    def recompute(values):
        with no_grad():
            again = scalar_expression(
                tensor(values["a"], dtype="float64"), tensor(values["b"], dtype="float64")
            )
        return again["E"].item()

    return explain_graph(
        nodes["E"],
        {"a": a, "b": b},
        lr=lr,
        param=param,
        recompute=recompute,
        title="A scalar expression, micrograd style",
    )
