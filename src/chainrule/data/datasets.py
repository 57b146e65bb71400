"""Built-in datasets: small, offline and seeded, each returned as NumPy arrays ``(X, y)``.

Every function returns ``X`` as float64 of shape ``(n, features)`` and ``y`` as int64 class
labels of shape ``(n,)`` (float64 targets for :func:`linear_regression`). Random datasets take a
``seed``; the same seed gives the same arrays on every run, and no global random state is used.

Example:
    >>> import chainrule as cr
    >>> X, y = cr.datasets.moons(n=100, seed=0)
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((100, 2), dtype('float64'), (100,), dtype('int64'))
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

from chainrule.data.images import mnist_sample, shapes
from chainrule.errors import DataError

__all__ = [
    "NAMES",
    "blobs",
    "circles",
    "digits",
    "linear_regression",
    "mnist_sample",
    "shapes",
    "load",
    "moons",
    "seed_example",
    "spirals",
    "xor",
]


def _check_n(n: int, least: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise DataError(f"{name}(n={n!r}): n must be an integer >= {least}")
    return int(n)


def _check_nonnegative(value: float, what: str, name: str) -> float:
    if not np.isfinite(value) or value < 0:
        raise DataError(f"{name}({what}={value!r}): {what} must be a finite number >= 0")
    return float(value)


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray):
    """Mix the classes so that a plain slice of the arrays holds every class."""
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order])


def _split_counts(n: int, parts: int) -> list[int]:
    """``n`` items shared out as evenly as possible, the first parts getting the extras."""
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four points of exclusive-or: the classic problem no single neuron can solve.

    Shape:
        X: (4, 2) float64, the corners of the unit square; y: (4,) int64, ``x0 XOR x1``.

    Example:
        >>> X, y = xor()
        >>> y.tolist()
        [0, 1, 1, 0]
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def seed_example(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two round Gaussian clusters, the dataset of the seed network (2 → 1 sigmoid → 1 sigmoid).

    Class 0 is centred at (-1, -1) and class 1 at (1, 1), both with standard deviation 0.5,
    so one straight line (the diagonal ``x0 + x1 = 0``) separates almost every point: a single
    hidden sigmoid neuron can learn it, and its output neuron only has to sharpen the result.
    About 1 point in 300 lies on the wrong side of the line.

    Args:
        n: number of points (``n // 2`` of class 0, the rest class 1), at least 2.
        seed: seed of the random draws.

    Shape:
        X: (n, 2) float64; y: (n,) int64 in {0, 1}; rows in random order.
    """
    name = "seed_example"
    n = _check_n(n, 2, name)
    rng = np.random.default_rng(seed)
    n0, n1 = n // 2, n - n // 2
    centres = np.array([[-1.0, -1.0], [1.0, 1.0]])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n1])
    X = centres[y] + 0.5 * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def moons(n: int = 500, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: a curved boundary that a straight line cannot draw.

    Class 0 is the upper arc ``(cos t, sin t)`` for t in [0, π]; class 1 the lower arc
    ``(1 - cos t, 0.5 - sin t)``, shifted so that each arc reaches into the other's hollow.
    The angles are evenly spaced; Gaussian noise of standard deviation ``noise`` is added to
    both coordinates.

    Args:
        n: number of points (``n // 2`` in class 0), at least 2.
        noise: standard deviation of the noise.
        seed: seed of the noise and of the row order.

    Shape:
        X: (n, 2) float64, roughly within [-1.5, 2.5] x [-1, 1.5]; y: (n,) int64 in {0, 1}.
    """
    name = "moons"
    n = _check_n(n, 2, name)
    noise = _check_nonnegative(noise, "noise", name)
    rng = np.random.default_rng(seed)
    n0, n1 = n // 2, n - n // 2
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n1])
    return _shuffled(rng, X, y)


def circles(
    n: int = 500, noise: float = 0.1, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one: a boundary no straight line can draw.

    Class 0 lies on the unit circle, class 1 on a circle of radius ``factor``; the angles are
    evenly spaced and Gaussian noise of standard deviation ``noise`` is added to both
    coordinates.

    Args:
        n: number of points (``n // 2`` on the outer circle), at least 2.
        noise: standard deviation of the noise.
        factor: radius of the inner circle, in (0, 1).
        seed: seed of the noise and of the row order.

    Shape:
        X: (n, 2) float64, centred on the origin; y: (n,) int64 in {0, 1} (1 = inner circle).
    """
    name = "circles"
    n = _check_n(n, 2, name)
    noise = _check_nonnegative(noise, "noise", name)
    if not 0.0 < factor < 1.0:
        raise DataError(f"circles(factor={factor!r}): factor must lie strictly between 0 and 1")
    rng = np.random.default_rng(seed)
    n0, n1 = n // 2, n - n // 2
    t0 = np.linspace(0.0, 2.0 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2.0 * np.pi, n1, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.column_stack([np.cos(t1), np.sin(t1)])
    X = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n1])
    return _shuffled(rng, X, y)


def spirals(
    n: int = 500, noise: float = 0.2, classes: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: a hard problem for small networks.

    Arm ``k`` runs from the centre outwards, radius r from 0.05 to 1 while the angle turns
    by 1.5 revolutions (``3π·r``), rotated by ``2πk / classes``. Gaussian noise of standard
    deviation ``noise`` is added to each point's angle (in radians), so points near the
    centre move less than points on the rim.

    Args:
        n: number of points, shared as evenly as possible among the arms.
        noise: standard deviation of the angular noise, in radians.
        classes: number of arms (classes), at least 2.
        seed: seed of the noise and of the row order.

    Shape:
        X: (n, 2) float64 inside the unit disc; y: (n,) int64 in ``range(classes)``.
    """
    name = "spirals"
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise DataError(f"spirals(classes={classes!r}): classes must be an integer >= 2")
    n = _check_n(n, classes, name)
    noise = _check_nonnegative(noise, "noise", name)
    rng = np.random.default_rng(seed)
    counts = _split_counts(n, classes)
    radius = np.concatenate([np.linspace(0.05, 1.0, m) for m in counts])
    y = np.repeat(np.arange(classes, dtype=np.int64), counts)
    angle = 3.0 * np.pi * radius + 2.0 * np.pi * y / classes
    angle = angle + noise * rng.standard_normal(n)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return _shuffled(rng, X, y)


def blobs(
    n: int = 500, centers=3, features: int = 2, std: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one per class: the easiest multi-class problem.

    Args:
        n: number of points, shared as evenly as possible among the clusters.
        centers: the number of clusters (their centres drawn uniformly in the box
            [-10, 10]^features), or an array of shape (clusters, features) of centres.
        features: number of features (ignored when ``centers`` is an array).
        std: standard deviation of every cluster.
        seed: seed of the centres, the points and the row order.

    Shape:
        X: (n, features) float64; y: (n,) int64, the index of each point's cluster.
    """
    name = "blobs"
    std = _check_nonnegative(std, "std", name)
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise DataError(f"blobs(centers={centers!r}): need at least one cluster")
        if isinstance(features, bool) or not isinstance(features, (int, np.integer)):
            raise DataError(f"blobs(features={features!r}): features must be an integer >= 1")
        if features < 1:
            raise DataError(f"blobs(features={features!r}): features must be an integer >= 1")
        centres = rng.uniform(-10.0, 10.0, size=(int(centers), int(features)))
    else:
        centres = np.asarray(centers, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[0] < 1 or centres.shape[1] < 1:
            raise DataError(
                f"blobs(centers=...): expected an int or an array of shape (clusters, features),"
                f" got shape {centres.shape}"
            )
    n = _check_n(n, len(centres), name)
    counts = _split_counts(n, len(centres))
    y = np.repeat(np.arange(len(centres), dtype=np.int64), counts)
    X = centres[y] + std * rng.standard_normal((n, centres.shape[1]))
    return _shuffled(rng, X, y)


def linear_regression(
    n: int = 200, features: int = 1, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Points on a random hyperplane plus noise: the simplest regression problem.

    ``X`` is drawn uniformly from [-1, 1]; the true weights from a standard normal, the bias
    from a normal of standard deviation 0.5 (all from ``seed``), and
    ``y = X @ w + b + noise * N(0, 1)``. A single ``Linear(features, 1)`` layer can fit it to
    the noise level.

    Args:
        n: number of points, at least 2.
        features: number of input features, at least 1.
        noise: standard deviation of the noise added to ``y``.
        seed: seed of the weights, the inputs and the noise.

    Shape:
        X: (n, features) float64; y: (n,) float64 targets (reshape to (n, 1) for a model
        whose output has shape (n, 1)).
    """
    name = "linear_regression"
    n = _check_n(n, 2, name)
    if isinstance(features, bool) or not isinstance(features, (int, np.integer)) or features < 1:
        raise DataError(f"{name}(features={features!r}): features must be an integer >= 1")
    noise = _check_nonnegative(noise, "noise", name)
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal(features)
    bias = 0.5 * rng.standard_normal()
    X = rng.uniform(-1.0, 1.0, size=(n, features))
    y = X @ weight + bias + noise * rng.standard_normal(n)
    return X, y


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    source = resources.files("chainrule.data").joinpath("files", "digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    X = np.ascontiguousarray(table[:, :64])
    y = table[:, 64].astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def digits(images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 8×8 handwritten digits: 1,797 real images of the digits 0-9, shipped with chainrule.

    Each row is one image, 64 pixel intensities read row by row, integers 0..16 stored as
    float64 (divide by 16 to scale them to [0, 1]). The data is the test part of the UCI
    "Optical Recognition of Handwritten Digits" set by E. Alpaydin and C. Kaynak, under
    CC BY 4.0 (see ``chainrule/data/files/LICENSE-digits.txt``). It is read from the package,
    never downloaded, and the rows are in the file's order.

    Args:
        images: return the images as (1797, 1, 8, 8), NCHW for a CNN, instead of rows.

    Shape:
        X: (1797, 64) float64 in [0, 16]; y: (1797,) int64 in 0..9 (about 180 per digit).
    """
    X, y = _digits_arrays()
    return (X.reshape(-1, 1, 8, 8) if images else X).copy(), y.copy()


_DATASETS = {
    "xor": xor,
    "seed_example": seed_example,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "blobs": blobs,
    "linear_regression": linear_regression,
    "digits": digits,
}

NAMES: tuple[str, ...] = tuple(_DATASETS)
"""The names :func:`load` knows, e.g. for ``chainrule train --dataset NAME``."""


def load(name: str, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """A built-in dataset by name (``"moons"``, ``"seed-example"``, ...); keywords pass through.

    Example:
        >>> X, y = load("xor")
        >>> X.shape
        (4, 2)
    """
    key = str(name).strip().lower().replace("-", "_")
    if key not in _DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(NAMES)}")
    try:
        return _DATASETS[key](**kwargs)
    except TypeError as err:  # a keyword the dataset does not take
        raise DataError(f"dataset {key!r}: {err}") from err
