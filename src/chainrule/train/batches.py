"""From what the user passes to ``fit``/``evaluate``/``predict`` to batches the model takes.

Pairs of arrays, Datasets and DataLoaders become one DataLoader; each batch becomes an input
tensor in the model's parameter dtype and a target array shaped for the loss.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.errors import DataError, ShapeError
from chainrule.tensor import Tensor

__all__ = [
    "arrays_of",
    "as_input",
    "data_hash",
    "fit_target",
    "input_dtype",
    "loader_for",
    "param_dtype",
    "plain",
    "features",
    "regression_targets",
    "split_batch",
    "split_weighted",
    "split_validation",
    "target_array",
]


def param_dtype(model) -> np.dtype:
    for p in model.parameters():
        if p.array.dtype.kind == "f":
            return p.array.dtype
    return np.dtype(np.float32)


def _first_module(model):
    """The first leaf module, depth first in registration order (a ``Sequential``'s first
    layer)."""
    children = getattr(model, "_modules", None)
    while children:
        model = next(iter(children.values()))
        children = getattr(model, "_modules", None)
    return model


def input_dtype(model) -> np.dtype | None:
    """The dtype ``fit``/``evaluate``/``predict`` give the model's input: its parameters' float
    dtype, or ``None`` (inputs kept as they are) when its first layer looks up integer ids
    (an ``nn.Embedding``)."""
    from chainrule.nn.embedding import Embedding

    return None if isinstance(_first_module(model), Embedding) else param_dtype(model)


def plain(value, what: str) -> np.ndarray:
    if hasattr(value, "toarray") and hasattr(value, "nnz"):  # scipy.sparse: IndexError below
        raise TypeError(
            f"fit: {what} is a sparse matrix ({type(value).__name__}); chainrule computes on "
            f"dense arrays: pass .toarray()"
        )
    try:
        array = value.array if isinstance(value, Tensor) else np.asarray(value)
    except ValueError as err:  # NumPy's "inhomogeneous shape": lists of unequal rows
        raise ShapeError(
            f"fit: {what} is not rectangular (rows of different lengths?): {err}"
        ) from None
    if array.dtype.kind == "O" and array.ndim == 0:  # a generator, a set: not rows
        raise TypeError(
            f"fit: {what} is a {type(value).__name__}, not rows of data; pass a NumPy array, "
            f"a list of rows, a Tensor or a pandas DataFrame"
        )
    if array.dtype.kind == "O":  # pandas' nullable columns, or text
        from chainrule.train.object_arrays import numbers_of

        array = numbers_of(value, array, what)
    if array.dtype.kind not in "fiub":
        labels = ""
        if array.dtype.kind in "US" and array.ndim == 1:  # text class labels: say how to code
            labels = (
                f" (for class labels such as {str(array[0])!r}: classes, y = np.unique(y, "
                f"return_inverse=True) gives 0..k-1, and classes[prediction] the text back)"
            )
        raise DataError(
            f"fit: {what} has dtype {array.dtype}; chainrule trains on numbers (convert strings "
            f"or objects first, e.g. with cr.data.load_csv){labels}"
        )
    if array.ndim == 0:
        raise ShapeError(f"fit: {what} is a scalar; it needs one row per sample")
    return array


def features(X: np.ndarray, dtype: np.dtype | None, what: str = "X") -> np.ndarray:
    """Features in ``dtype`` (see :func:`input_dtype`): float, integer and bool features
    converted; ``None`` keeps them (integer ids for an ``nn.Embedding``). A finite value the
    conversion makes infinite (1e39 into float32) is a ``DataError`` naming it: it was
    reported as an ``inf`` the user's array does not hold."""
    if dtype is None or X.dtype == dtype:
        return X
    with np.errstate(over="ignore"):
        out = X.astype(dtype, copy=False)
    if X.dtype.kind == "f" and out.dtype.itemsize < X.dtype.itemsize and np.isinf(out).any():
        grown = np.isinf(out) & np.isfinite(X)
        if grown.any():
            where = tuple(map(int, np.unravel_index(int(np.argmax(grown)), X.shape)))
            at = f"row {where[0]}, column {where[1]}" if X.ndim == 2 else f"index {where}"
            limit = float(np.finfo(dtype).max)
            raise DataError(
                f"{what} holds {X[where]:.4g} at {at}, beyond {dtype}'s range "
                f"(±{limit:.3g}) of the model's parameters ({int(grown.sum())} value(s)); "
                f"standardise the features (subtract the mean, divide by the standard "
                f"deviation), or train a float64 model (model.double())"
            )
    return out


def _is_pair(data) -> bool:
    return isinstance(data, (tuple, list)) and len(data) == 2


def arrays_of(data, what: str):
    """``(X, y)`` arrays when ``data`` is a pair of arrays or a TensorDataset of two, else None."""
    from chainrule.data.dataset import TensorDataset

    if _is_pair(data):
        X, y = plain(data[0], f"{what} X"), plain(data[1], f"{what} y")
    elif isinstance(data, TensorDataset) and len(data.arrays) == 2:
        X, y = data.arrays
    else:
        return None
    if len(X) != len(y):
        raise ShapeError(
            f"fit: {what} has {len(X)} rows of features but {len(y)} targets; they must match"
        )
    return X, y


def _not_empty(loader, samples: int, what: str, owner: str) -> None:
    """Refuse data without a batch: an epoch over it would log NaN and train nothing."""
    if samples == 0:
        raise DataError(f"{owner}: {what} is empty (0 samples); pass data with at least one row")
    if len(loader) == 0:
        raise DataError(
            f"{owner}: {what} gives no batch: its DataLoader drops the last incomplete batch "
            f"(drop_last=True) and {samples} samples are fewer than batch_size="
            f"{loader.batch_size}; lower batch_size or set drop_last=False"
        )


def loader_for(data, batch_size, shuffle, generator, dtype, what, owner="fit", weights=None):
    """A DataLoader over ``data`` (pair of arrays, Dataset or DataLoader) and its sample count;
    empty data is refused (``DataError``, a ``ValueError``). ``weights`` (checked, one per row
    of a pair of arrays) ride along as a third field of each batch, shuffled with the rows."""
    from chainrule.data.dataset import TensorDataset
    from chainrule.data.loader import DataLoader

    if isinstance(data, DataLoader):
        _not_empty(data, len(data.dataset), what, owner)
        return data, len(data.dataset)
    arrays = arrays_of(data, what)
    if arrays is not None:
        X, y = arrays
        extra = () if weights is None else (weights,)
        dataset = TensorDataset(features(X, dtype, f"{owner}: {what} X"), y, *extra)
    elif weights is not None:
        raise TypeError(
            f"{owner}: sample_weight goes with (X, y) arrays; a Dataset or DataLoader gives "
            f"its weights as a third field of each sample, (x, y, w)"
        )
    elif (
        hasattr(data, "__len__")
        and hasattr(data, "__getitem__")
        and not isinstance(data, (tuple, list, dict, np.ndarray))
    ):
        dataset = data
    else:
        raise TypeError(
            f"{owner}: {what} must be a pair (X, y) of arrays or tensors, a Dataset or a "
            f"DataLoader; got {type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
            + (
                " (an iterator is read once, and fit reads its data every epoch: collect the "
                "batches into arrays, X = np.concatenate([x for x, _ in batches]), or write a "
                "Dataset whose __getitem__ returns one (x, y) sample)"
                if hasattr(data, "__next__")
                else ""
            )
        )
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
    _not_empty(loader, len(dataset), what, owner)
    return loader, len(dataset)


def data_hash(*datasets) -> str | None:
    """SHA-256 of the training (and validation) arrays, to refuse resuming on other data."""
    import hashlib

    digest = hashlib.sha256()
    for data in datasets:
        if data is None:
            continue
        arrays = (data,) if isinstance(data, np.ndarray) else arrays_of(data, "data")
        if arrays is None:
            return None
        for a in arrays:
            a = np.ascontiguousarray(a)
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(a.tobytes())
    return digest.hexdigest()


def split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise DataError(
        f"fit: each batch must be a pair (inputs, targets) or a triple (inputs, targets, "
        f"sample weights); the data gave "
        f"{type(batch).__name__}"
        + (f" of {len(batch)} items" if isinstance(batch, (tuple, list)) else "")
    )


def split_weighted(batch, owner: str = "fit", index: int | None = None):
    """``(inputs, targets, weights or None)`` of a batch of two or three fields, as Keras reads
    ``(x, y, sample_weight)``; the weights are checked (one finite weight >= 0 per sample)."""
    if isinstance(batch, (tuple, list)) and len(batch) == 3:
        from chainrule.train.weighting import check_batch_weight

        n = len(target_array(batch[1]))
        return batch[0], batch[1], check_batch_weight(batch[2], n, owner, index)
    return (*split_batch(batch), None)


def as_input(x, dtype: np.dtype | None) -> Tensor:
    """One input batch as a tensor in ``dtype`` (``None``: as it is), as :func:`features`."""
    array = x.array if isinstance(x, Tensor) else np.asarray(x)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return Tensor._make(array, False)


def target_array(y) -> np.ndarray:
    return y.array if isinstance(y, Tensor) else np.asarray(y)


def fit_target(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(N,)`` targets become ``(N, 1)`` for a model with one output (binary, regression)."""
    if y.ndim == out.ndim - 1 and out.shape[-1] == 1 and out.shape[:-1] == y.shape:
        return y.reshape(*y.shape, 1)
    return y


def regression_targets(loader) -> bool:
    """Whether the targets are continuous (floats that are not all whole numbers).

    Looks at the whole target array of array-backed data, else at the first sample.
    """
    dataset = loader.dataset
    arrays = getattr(dataset, "arrays", None)
    if arrays is not None and len(arrays) >= 2:
        y = arrays[1]
    elif len(dataset):
        sample = dataset[0]
        if not isinstance(sample, (tuple, list)) or len(sample) not in (2, 3):
            return False
        y = target_array(sample[1])
    else:
        return False
    return y.dtype.kind == "f" and not np.array_equal(y, np.round(y))


def split_validation(data, validation_split: float, weights=None, values: bool = False):
    """``(training part, validation part)``: the last ``validation_split`` of the rows held out,
    before any shuffling (as Keras does). With ``weights``, also ``(training weights,
    validation weights)``. ``values``: the loss is a regression's, so whole-number targets
    are amounts, not classes to look for in both parts."""
    arrays = arrays_of(data, "data")
    if arrays is None:
        raise TypeError(
            "fit: validation_split needs (X, y) arrays; for a Dataset or DataLoader, pass "
            "validation_data (e.g. from cr.data.train_test_split)"
        )
    X, y = arrays
    split_at = int(len(X) * (1.0 - validation_split))
    if split_at < 1 or split_at >= len(X):
        raise ValueError(
            f"fit: validation_split={validation_split} of {len(X)} samples leaves "
            f"{split_at} for training and {len(X) - split_at} for validation; both need >= 1"
        )
    parts = (X[:split_at], y[:split_at]), (X[split_at:], y[split_at:])
    _warn_if_sorted_by_class(y, split_at, validation_split, values)
    if weights is None:
        return parts
    return (*parts, (weights[:split_at], weights[split_at:]))


def _by_chance(labels: np.ndarray, split_at: int, missing, held) -> bool:
    """Whether rows in random order give such a split 1 time in 100 or more: every held-out
    row of one class (Σ shareₖ^m over classes, m rows held out), or every row of a class held
    out ((m/n)^count for each class the training part lacks)."""
    classes, counts = np.unique(labels, return_counts=True)
    n, m = len(labels), len(labels) - split_at
    if len(missing):
        count = dict(zip(classes.tolist(), counts.tolist()))
        return all((m / n) ** count[c] >= 0.01 for c in missing.tolist())
    return len(held) == 1 and float(((counts / n) ** m).sum()) >= 0.01


def _warn_if_sorted_by_class(y, split_at: int, validation_split: float, values: bool) -> None:
    """Warn when the held-out rows are not a sample of the classes: data sorted by class (an
    image folder, the MNIST sample) gives a validation part of the last class(es) only, and a
    validation accuracy that says nothing."""
    labels = np.asarray(y.array if isinstance(y, Tensor) else y)
    if labels.ndim > 1 and labels.shape[1:] != (1,) * (labels.ndim - 1):
        return  # one-hot or multi-output targets
    labels = labels.reshape(-1)
    if labels.dtype.kind == "f" or values:
        if not np.isin(labels, (0, 1)).all():
            return  # a regression target
    elif labels.dtype.kind not in "iub":
        return
    train, held = np.unique(labels[:split_at]), np.unique(labels[split_at:])
    missing = np.setdiff1d(held, train)
    if _by_chance(labels, split_at, missing, held):
        return  # a random order does this often: a validation row or two, a class of one row
    if len(missing) or (len(held) == 1 and len(train) > 1):
        what = (
            f"hold class(es) {', '.join(str(v) for v in missing[:5])} that the training rows lack"
            if len(missing)
            else f"hold only class {held[0]}"
        )
        warnings.warn(
            f"fit: the last {validation_split:g} of the rows (validation_split) {what}: the rows "
            f"look sorted by class. Shuffle them first, or split with "
            f"cr.data.train_test_split(X, y, stratify=y) and pass validation_data=",
            UserWarning,
            stacklevel=6,  # the caller of cr.fit (fit → _prepare → _loaders → split_validation)
        )


def skip_shuffles(loader, seeded, epochs: int) -> None:
    """Draw the shuffles of ``epochs`` skipped epochs from ``seeded``, the private generator of
    ``fit(seed=...)``: with ``initial_epoch=k`` the resumed run then shuffles epoch k as the
    uninterrupted run did (seeded afresh, it would shuffle it as epoch 0). A backup that was
    restored has set the generator's state itself, and a user's DataLoader keeps its own."""
    if seeded is None or loader.generator is not seeded or not loader.shuffle:
        return
    for _ in range(max(epochs, 0)):
        seeded.numpy.permutation(len(loader.dataset))  # what DataLoader draws each epoch
