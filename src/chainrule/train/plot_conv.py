"""Pictures of a convolutional network: its learned kernels and the feature maps one image
produces (``cr.plot.conv_filters``, ``cr.plot.feature_maps``). Same conventions as
:mod:`chainrule.train.plot`: matplotlib's object API, atomic writes, ``path=None`` returns the
figure."""

from __future__ import annotations

import numpy as np

from chainrule.train.figure import figure as _figure
from chainrule.train.figure import save as _save

__all__ = ["conv_filters", "feature_maps"]


def _array(value) -> np.ndarray:
    return np.asarray(getattr(value, "array", value))


def conv_filters(layer, path=None, max_filters: int = 32, title: str | None = None):
    """The kernels of a convolution as a grid of small images, one row per output channel and
    one column per input channel (each kernel on its own grey scale).

    Args:
        layer: an ``nn.Conv2d`` (or its weight, shape (C_out, C_in, kH, kW)).
        path: where to write the image (PNG, SVG, ...); ``None`` returns the figure.
        max_filters: show at most this many output channels (and 16 input channels).
    """
    weight = _array(getattr(layer, "weight", layer))
    if weight.ndim != 4:
        raise ValueError(
            f"conv_filters needs a 4-D weight (C_out, C_in, kH, kW), got {weight.shape}"
        )
    weight = weight[:max_filters, :16]
    n_out, n_in = weight.shape[:2]
    if n_in == 1:  # one input channel: the kernels side by side, eight to a row
        cols = min(n_out, 8)
        rows = -(-n_out // cols)
        tiles = [((o // cols, o % cols), weight[o, 0], str(o)) for o in range(n_out)]
    else:  # one row per output channel, one column per input channel
        rows, cols = n_out, n_in
        tiles = [((o, c), weight[o, c], str(o) if c == 0 else None) for o in range(rows)
                 for c in range(cols)]  # fmt: skip
    fig = _figure(max(2.0, 0.6 * cols + 0.6), max(1.5, 0.6 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for (r, c), kernel, label in tiles:
        ax = axes[r, c]
        ax.set_axis_on()
        ax.imshow(kernel, cmap="gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if label is not None and n_in == 1:
            ax.set_title(label, fontsize="x-small", pad=2)
        elif label is not None:
            ax.set_ylabel(label, rotation=0, fontsize="x-small", labelpad=8)
    fig.suptitle(title or f"{n_out} learned kernels ({weight.shape[2]}×{weight.shape[3]})")
    return _save(fig, path)


def feature_maps(model, image, path=None, max_channels: int = 8, title: str | None = None):
    """What one image looks like after every image-shaped layer of a ``Sequential`` model: one
    row per layer whose output is (1, C, H, W), its first ``max_channels`` channels.

    Args:
        model: an ``nn.Sequential`` (its layers are run one by one, in evaluation mode).
        image: one image, (C, H, W) or (1, C, H, W).
        path: where to write the picture; ``None`` returns the figure.
    """
    import chainrule as cr

    children = list(getattr(model, "_modules", {}).items())
    if not children:
        raise ValueError("feature_maps runs the layers of an nn.Sequential one by one")
    x = _array(image)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"feature_maps takes one image (C, H, W), got shape {x.shape}")
    was_training = model.training
    model.eval()
    maps = []
    try:
        with cr.no_grad():
            out = cr.as_tensor(x.astype(np.float32) if x.dtype.kind != "f" else x)
            for name, layer in children:
                out = layer(out)
                values = out.array
                if values.ndim == 4:
                    maps.append((f"{name}: {type(layer).__name__}", values[0, :max_channels]))
    finally:
        model.train(was_training)
    if not maps:
        raise ValueError("no layer of this model produces image-shaped (N, C, H, W) outputs")
    cols = max(m.shape[0] for _, m in maps)
    fig = _figure(max(3.0, 1.1 * cols + 1.0), 1.1 * len(maps) + 0.6)
    axes = fig.subplots(len(maps), cols, squeeze=False)
    for r, (label, channels) in enumerate(maps):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < channels.shape[0]:
                ax.imshow(channels[c], cmap="viridis", interpolation="nearest")
            else:
                ax.set_axis_off()
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", fontsize="x-small")
    fig.suptitle(title or "feature maps of one image")
    return _save(fig, path)
