"""Ready-made architectures: the multi-layer perceptrons the command line trains."""

from __future__ import annotations


def activation_module(name: str):
    """A fresh activation module from its name (``"relu"`` → ``nn.ReLU()``); the names are
    those of :data:`chainrule.registry.ACTIVATIONS`."""
    from chainrule.registry import make_activation

    return make_activation(name)


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
        activation: hidden activation name (``"relu"``, ``"tanh"``, ``"sigmoid"``, ...: the keys
            of :data:`chainrule.registry.ACTIVATIONS`).
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


def image_cnn(in_features: int, out_features: int, channels: tuple[int, int] = (32, 64)):
    """A small CNN for square one-channel images given as flat rows (what ``chainrule train
    --model cnn`` builds): Unflatten → 2 × (Conv 3×3 → BatchNorm → ReLU) → MaxPool 2 →
    Flatten → Dropout 0.3 → Linear.

    Taking flat rows keeps the saved model usable by ``chainrule predict/evaluate`` on the same
    CSV or dataset columns.

    Args:
        in_features: pixels per image, a square number (64 for 8×8 digits, 784 for 28×28).
        out_features: outputs (classes).
        channels: the two convolutions' output channels.

    Example:
        >>> from chainrule.models import image_cnn
        >>> image_cnn(64, 10)[0]
        Unflatten(dim=1, unflattened_size=(1, 8, 8))
    """
    from chainrule import nn

    side = int(round(in_features**0.5))
    if side * side != in_features or side < 2:
        raise ValueError(
            f"a CNN needs square images: {in_features} features are not the pixels of an "
            f"n × n image (64 = 8 × 8 and 784 = 28 × 28 are)"
        )
    c1, c2 = channels
    pooled = side // 2
    return nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, c1, 3, padding=1),
        nn.BatchNorm2d(c1),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1),
        nn.BatchNorm2d(c2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(c2 * pooled * pooled, out_features),
    )
