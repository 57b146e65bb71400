"""Cheap image augmentations on NCHW batches: random crop with padding, horizontal flip,
normalisation, and a dataset wrapper that applies them to every batch a DataLoader draws.

Every transform works on a whole batch (N, C, H, W) at once with NumPy indexing, never a loop
over images, and draws its randomness from a :class:`chainrule.Generator` (default: the global
one, so ``cr.manual_seed`` makes augmentation reproducible).
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule.errors import DataError, ShapeError
from chainrule.random import Generator, get_generator

__all__ = [
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "TransformDataset",
    "normalize",
    "random_crop",
    "random_horizontal_flip",
]


def _images(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ShapeError(f"{name} expects a batch of images (N, C, H, W), got shape {x.shape}")
    return x


def _crop_size(size) -> tuple[int, int]:
    """``size`` as (h, w): one int (NumPy's too) for a square, or a pair, as torchvision's."""
    sizes = [size] if np.ndim(size) == 0 and not isinstance(size, str) else size
    try:
        h, w = (operator.index(s) for s in (sizes * 2 if len(sizes) == 1 else sizes))
    except (TypeError, ValueError):
        raise ShapeError(
            f"random_crop: size must be an int or a pair (h, w) of ints, got {size!r}"
        ) from None
    return h, w


def random_crop(x, size, padding: int = 0, generator: Generator | None = None) -> np.ndarray:
    """Pad every image by ``padding`` zeros on each side, then cut a ``size`` window at a random
    position, independently per image.

    Args:
        x: images (N, C, H, W).
        size: output (h, w), or one int for a square.
        padding: zeros added on each side first (4 with size 32 is CIFAR's classic recipe).
        generator: source of the positions.

    Returns:
        (N, C, h, w) array of ``x``'s dtype.
    """
    x = _images(x, "random_crop")
    h, w = _crop_size(size)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise DataError(f"random_crop: padding must be an integer >= 0, got {padding!r}")
    n, c, height, width = x.shape
    if padding:
        padded = np.zeros((n, c, height + 2 * padding, width + 2 * padding), x.dtype)
        padded[:, :, padding : padding + height, padding : padding + width] = x
        x = padded
    if not (1 <= h <= x.shape[2] and 1 <= w <= x.shape[3]):
        raise ShapeError(
            f"random_crop: a {(h, w)} crop does not fit images of {x.shape[2:]} (after padding)"
        )
    rng = get_generator(generator)
    top = rng.integers(0, x.shape[2] - h + 1, n)
    left = rng.integers(0, x.shape[3] - w + 1, n)
    rows = (top[:, None] + np.arange(h))[:, None, :, None]  # (N, 1, h, 1)
    cols = (left[:, None] + np.arange(w))[:, None, None, :]  # (N, 1, 1, w)
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, :, None, None]
    return x[batch, channel, rows, cols]


def random_horizontal_flip(x, p: float = 0.5, generator: Generator | None = None) -> np.ndarray:
    """Mirror each image left-right with probability ``p`` (a new array; ``x`` is untouched)."""
    x = _images(x, "random_horizontal_flip")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise DataError(f"random_horizontal_flip: p must be in [0, 1], got {p!r}")
    flip = get_generator(generator).random(len(x)) < p
    out = x.copy()
    out[flip] = x[flip, :, :, ::-1]
    return out


def normalize(x, mean, std) -> np.ndarray:
    """(x − mean) / std per channel, as ``torchvision.transforms.Normalize``.

    Args:
        x: images (N, C, H, W).
        mean, std: one number, or one per channel.
    """
    x = _images(x, "normalize")
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    mean = np.asarray(mean, dtype).reshape(-1)
    std = np.asarray(std, dtype).reshape(-1)
    for name, values in (("mean", mean), ("std", std)):
        if values.size not in (1, x.shape[1]):
            raise ShapeError(
                f"normalize: {name} has {values.size} values for {x.shape[1]} channels; give "
                f"one, or one per channel"
            )
    if np.any(std == 0) or not np.all(np.isfinite(std)):
        raise DataError(f"normalize: std must be finite and non-zero, got {std.tolist()}")
    return (x.astype(dtype, copy=False) - mean[:, None, None]) / std[:, None, None]


class RandomCrop:
    """:func:`random_crop` as a callable batch transform."""

    def __init__(self, size, padding: int = 0, generator: Generator | None = None):
        self.size, self.padding, self.generator = size, padding, generator

    def __call__(self, x):
        return random_crop(x, self.size, self.padding, self.generator)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """:func:`random_horizontal_flip` as a callable batch transform."""

    def __init__(self, p: float = 0.5, generator: Generator | None = None):
        self.p, self.generator = p, generator

    def __call__(self, x):
        return random_horizontal_flip(x, self.p, self.generator)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Normalize:
    """:func:`normalize` as a callable batch transform."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, x):
        return normalize(x, self.mean, self.std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Compose:
    """Apply transforms in order: ``Compose([RandomCrop(28, 2), Normalize(0.13, 0.31)])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {t!r}")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"


class TransformDataset:
    """Images and labels whose image batches pass through ``transform`` each time they are
    drawn, so a :class:`~chainrule.data.DataLoader` (or ``cr.fit``) sees fresh augmentations
    every epoch.

    Args:
        X: images (N, C, H, W).
        y: labels (N,) (or any per-sample targets).
        transform: a batch transform, e.g. ``Compose([RandomCrop(8, 1), Normalize(0.3, 0.4)])``.

    Example:
        >>> import numpy as np
        >>> data = TransformDataset(np.ones((4, 1, 8, 8)), np.arange(4), RandomCrop(8, 1))
        >>> [a.shape for a in data.__getitems__(np.arange(2))]
        [(2, 1, 8, 8), (2,)]
    """

    def __init__(self, X, y, transform):
        self.X, self.y = _images(X, "TransformDataset"), np.asarray(y)
        if len(self.X) != len(self.y):
            raise ShapeError(
                f"TransformDataset: {len(self.X)} images but {len(self.y)} labels; give one "
                f"label per image"
            )
        if not callable(transform):
            raise TypeError(f"TransformDataset: transform must be callable, got {transform!r}")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.X)

    def __getitems__(self, indices):
        return self.transform(self.X[indices]), self.y[indices]

    def __getitem__(self, index):
        x, y = self.__getitems__(np.asarray([index]))
        return x[0], y[0]
