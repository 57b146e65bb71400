"""Ready-made architectures: the multi-layer perceptrons and small CNNs the command line trains."""

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


def image_classifier_widths(size) -> tuple[int, ...]:
    """The convolution widths ``chainrule train`` picks for a folder of ``size`` images: 16
    and 32 channels, then 64 for each further halving that keeps the last map above 8 × 8
    (five blocks at most), and fewer blocks for images under 4 × 4."""
    side = min(size)
    widths = [w for k, w in enumerate((16, 32)) if side >> (k + 1) >= 1]
    while len(widths) < 5 and side >> len(widths) > 8:
        widths.append(64)
    return tuple(widths)


def image_classifier(
    channels: int, size, out_features: int, widths=(16, 32), dropout=0.2, activation="relu"
):
    """A small CNN for ``(N, C, H, W)`` images (what ``chainrule train FOLDER`` builds): per
    width, Conv 3×3 (padding 1) → BatchNorm2d → activation (ReLU) → MaxPool 2; then Flatten →
    Dropout → Linear.

    Args:
        channels: input channels (1 grayscale, 3 RGB).
        size: ``(height, width)`` of the images.
        out_features: outputs (1 for two classes with BCE, else the number of classes).
        widths: output channels of each block; each block halves the height and width.
        dropout: the dropout probability before the last layer (0 for none).
        activation: the activation's name (the keys of :data:`chainrule.registry.ACTIVATIONS`).

    Example:
        >>> from chainrule.models import image_classifier
        >>> image_classifier(1, (8, 8), 2, widths=(4,))[-1]
        Linear(in_features=64, out_features=2, bias=True)
    """
    from chainrule import nn

    height, width = (int(v) for v in size)
    if not widths:
        raise ValueError("a CNN needs at least one convolution width, e.g. 16,32")
    if any(not isinstance(w, int) or w <= 0 for w in widths):
        raise ValueError(f"convolution widths must be positive integers, got {list(widths)}")
    if min(height, width) >> len(widths) < 1:
        raise ValueError(
            f"{len(widths)} pooling steps halve {height}×{width} images to nothing; give at most "
            f"{max(min(height, width).bit_length() - 1, 0)} widths, or larger images"
        )
    layers, previous = [], channels
    for w in widths:
        layers += [nn.Conv2d(previous, w, 3, padding=1), nn.BatchNorm2d(w)]
        layers.append(activation_module(activation))
        layers.append(nn.MaxPool2d(2))
        previous, height, width = w, height // 2, width // 2
    layers.append(nn.Flatten())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(previous * height * width, out_features))
    return nn.Sequential(*layers)
