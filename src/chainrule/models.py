"""Ready-made architectures: the multi-layer perceptrons the command line trains."""

from __future__ import annotations

ACTIVATION_MODULES = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "softplus": "Softplus",
}


def activation_module(name: str):
    """A fresh activation module from its name (``"relu"`` → ``nn.ReLU()``)."""
    from chainrule import nn

    if name not in ACTIVATION_MODULES:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATION_MODULES)}"
        )
    return getattr(nn, ACTIVATION_MODULES[name])()


def mlp(
    in_features: int,
    hidden: list[int] | tuple[int, ...] = (32,),
    out_features: int = 1,
    activation: str = "relu",
    output_activation: str | None = None,
    dtype=None,
):
    """A multi-layer perceptron: Linear → activation → … → Linear (→ output activation).

    Args:
        in_features: inputs per example.
        hidden: neurons in each hidden layer, e.g. ``[64, 32]``; empty for a linear model.
        out_features: outputs per example (1 for regression or binary logits, C for C classes).
        activation: hidden activation name (``"relu"``, ``"tanh"``, ``"sigmoid"``, ...).
        output_activation: optional activation after the last layer (``"sigmoid"``).

    Example:
        >>> from chainrule.models import mlp
        >>> mlp(2, [1], 1, activation="sigmoid", output_activation="sigmoid")
        Sequential(
          (0): Linear(in_features=2, out_features=1, bias=True)
          (1): Sigmoid()
          (2): Linear(in_features=1, out_features=1, bias=True)
          (3): Sigmoid()
        )
    """
    from chainrule import nn

    for n in (in_features, out_features, *hidden):
        if not isinstance(n, int) or n <= 0:
            raise ValueError(f"layer sizes must be positive integers, got {n!r}")
    layers = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h, dtype=dtype), activation_module(activation)]
        width = h
    layers.append(nn.Linear(width, out_features, dtype=dtype))
    if output_activation:
        layers.append(activation_module(output_activation))
    return nn.Sequential(*layers)
