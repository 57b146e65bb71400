"""train_test_split: hold out part of the data, keeping class proportions when asked."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DataError, ShapeError
from chainrule.random import Generator
from chainrule.tensor import Tensor


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, Generator):
        return seed.numpy
    if seed is None:
        from chainrule.random import default_generator

        return default_generator.numpy
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise DataError(
            f"train_test_split: seed must be an int, a chainrule.Generator or None, got {seed!r}"
        )
    return np.random.default_rng(int(seed))


def _test_count(test_size, n: int) -> int:
    where = f"train_test_split(test_size={test_size!r}) of {n} samples"
    if isinstance(test_size, bool):
        raise DataError(f"{where}: test_size must be a fraction in (0, 1) or a count")
    if isinstance(test_size, (int, np.integer)):
        count = int(test_size)
    elif isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise DataError(
                f"{where}: a fractional test_size must lie strictly between 0 and 1 (e.g. 0.2)"
            )
        count = int(np.ceil(test_size * n))
    else:
        raise DataError(f"{where}: test_size must be a fraction in (0, 1) or a count")
    if not 1 <= count <= n - 1:
        raise DataError(
            f"{where}: the test part would hold {count} samples and the training part "
            f"{n - count}; each needs at least one"
        )
    return count


def _stratified(labels: np.ndarray, n_test: int, rng: np.random.Generator):
    """Test indices taking from each class in proportion to its size (largest remainders)."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    lonely = classes[counts < 2]
    if lonely.size:
        raise DataError(
            f"train_test_split(stratify=...): class {lonely[0].item()!r} has only 1 sample; every "
            f"class needs at least 2 (one for training, one for testing) to stratify"
        )
    n = len(labels)
    if not len(classes) <= n_test <= n - len(classes):
        raise DataError(
            f"train_test_split(stratify=...): a test part of {n_test} samples cannot hold all "
            f"{len(classes)} classes and leave them all in the training part; choose a "
            f"test_size between {len(classes)} and {n - len(classes)} samples"
        )
    exact = counts * (n_test / n)
    take = np.clip(np.floor(exact).astype(np.int64), 1, counts - 1)
    # Hand out (or take back) the remaining samples by largest remainder, in a fixed order.
    remainder = exact - take
    while take.sum() < n_test:
        room = np.where(take < counts - 1, remainder, -np.inf)
        k = int(np.argmax(room))
        take[k] += 1
        remainder[k] -= 1.0
    while take.sum() > n_test:
        room = np.where(take > 1, remainder, np.inf)
        k = int(np.argmin(room))
        take[k] -= 1
        remainder[k] += 1.0
    test = [rng.permutation(np.flatnonzero(inverse == k))[: take[k]] for k in range(len(classes))]
    return np.concatenate(test)


def _take(array, indices):
    if isinstance(array, Tensor):
        return Tensor._make(array.array[indices], False)
    return array[indices]


def train_test_split(*arrays, test_size=0.25, stratify=None, seed=0, shuffle: bool = True) -> list:
    """Split arrays (same first dimension) into a training and a test part.

    Args:
        *arrays: NumPy arrays or tensors with one row per sample (e.g. ``X, y``).
        test_size: fraction of the samples in the test part (rounded up), or their count.
        stratify: class labels (usually ``y``); each class then keeps its proportion in
            both parts (within one sample).
        seed: an int (a fresh ``numpy.random.default_rng(seed)``), a
            :class:`chainrule.Generator`, or ``None`` for the default generator.
        shuffle: pick the test samples at random; ``False`` takes the last ones in order.

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``, two entries per input, of its type.

    Example:
        >>> import numpy as np
        >>> X, y = np.arange(20.0).reshape(10, 2), np.array([0] * 5 + [1] * 5)
        >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, stratify=y)
        >>> X_tr.shape, np.bincount(y_te).tolist()
        ((6, 2), [2, 2])
    """
    if not arrays:
        raise DataError("train_test_split needs at least one array")
    if any(np.ndim(a) == 0 for a in arrays):
        raise ShapeError("train_test_split: every array needs a first dimension (its samples)")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise ShapeError(
            f"train_test_split: arrays must have the same first dimension; got shapes {shapes}"
        )
    arrays = [a if isinstance(a, (np.ndarray, Tensor)) else np.asarray(a) for a in arrays]
    n = lengths[0]
    n_test = _test_count(test_size, n)
    if stratify is not None:
        if not shuffle:
            raise DataError(
                "train_test_split: stratify needs shuffle=True (a stratified split picks "
                "samples of every class at random)"
            )
        labels = stratify.array if isinstance(stratify, Tensor) else np.asarray(stratify)
        if labels.shape[:1] != (n,):
            raise ShapeError(
                f"train_test_split: stratify must have one label per sample ({n}), got shape "
                f"{labels.shape}"
            )
        if labels.ndim > 1:
            labels = np.unique(labels.reshape(n, -1), axis=0, return_inverse=True)[1].reshape(-1)
        rng = _rng(seed)
        test = _stratified(labels, n_test, rng)
        is_test = np.zeros(n, dtype=bool)
        is_test[test] = True
        train = rng.permutation(np.flatnonzero(~is_test))
        test = rng.permutation(test)
    elif shuffle:
        order = _rng(seed).permutation(n)
        train, test = order[n_test:], order[:n_test]
    else:
        train, test = np.arange(n - n_test), np.arange(n - n_test, n)
    parts = []
    for a in arrays:
        parts += [_take(a, train), _take(a, test)]
    return parts
