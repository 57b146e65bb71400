"""Datasets: indexable collections of samples, and the array-backed kind that batches fast."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.errors import DataError, ShapeError
from chainrule.tensor import Tensor


class Dataset:
    """A collection of samples: ``len(ds)`` and ``ds[i]`` (a sample, or a tuple of fields).

    Subclass it and define ``__len__`` and ``__getitem__``. A subclass that can fetch many
    samples at once may also define ``__getitems__(indices)`` returning a tuple of arrays, one
    per field, each with ``len(indices)`` rows; :class:`DataLoader` then fetches a whole batch
    with one call instead of one call per sample.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 5
        ...     def __getitem__(self, i):
        ...         return float(i), float(i * i)
        >>> Squares()[3]
        (3.0, 9.0)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other) -> ConcatDataset:
        """``a + b``: the samples of ``a`` then those of ``b`` (PyTorch's ``ConcatDataset``)."""
        return ConcatDataset([self, other])


def _as_array(value, position: int) -> np.ndarray:
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    _dtype.check_kind(array.dtype, f"TensorDataset (array {position})")
    if array.ndim == 0:
        raise ShapeError(
            f"TensorDataset: array {position} is a scalar; every array needs a first dimension "
            f"that counts the samples"
        )
    return array


class TensorDataset(Dataset):
    """Samples stored as rows of arrays or tensors that share their first dimension.

    The arrays are kept as given (no copy, no dtype change); ``ds[i]`` is a tuple of tensors,
    one per array, and :class:`DataLoader` slices all rows of a batch at once.

    Args:
        *arrays: NumPy arrays, tensors or nested lists, all with the same length.

    Shape:
        arrays[k]: (n, ...) for every k.

    Example:
        >>> import numpy as np
        >>> ds = TensorDataset(np.zeros((10, 3)), np.arange(10))
        >>> len(ds), [t.shape for t in ds[2]]
        (10, [(3,), ()])
    """

    def __init__(self, *arrays):
        if not arrays:
            raise DataError("TensorDataset needs at least one array")
        self.arrays = tuple(_as_array(a, k) for k, a in enumerate(arrays))
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ShapeError(
                f"TensorDataset: arrays must have the same first dimension (one row per "
                f"sample); got shapes {shapes}"
            )

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The arrays as tensors sharing their memory (as ``torch``'s ``TensorDataset``)."""
        return tuple(Tensor._make(a, False) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(Tensor._make(np.asarray(a[index]), False) for a in self.arrays)

    def __getitems__(self, indices) -> tuple[np.ndarray, ...]:
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (batches stay fast).

    Example:
        >>> import numpy as np
        >>> len(Subset(TensorDataset(np.arange(10)), [1, 3, 5]))
        3
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices  # kept as given (a list from random_split), as PyTorch keeps it
        index = indices.array if isinstance(indices, Tensor) else indices
        self._index = np.asarray(index, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self._index.size and (self._index.min() < -n or self._index.max() >= n):
            raise DataError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index):
        return self.dataset[int(self._index[index])]

    def __getitems__(self, indices):
        picked = self._index[indices]
        if getattr(self.dataset, "__getitems__", None) is None:
            return [self.dataset[int(i)] for i in picked]  # PyTorch's: a list of samples
        return self.dataset.__getitems__(picked)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another, as ``torch``'s ``ConcatDataset``.

    Args:
        datasets: the datasets, in order (at least one).

    Example:
        >>> import numpy as np
        >>> both = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(5))])
        >>> len(both), both[4][0].item(), both.cumulative_sizes
        (8, 1, [3, 8])
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise DataError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def _field_array(values) -> np.ndarray:
    return stack_samples([v.array if isinstance(v, Tensor) else np.asarray(v) for v in values])


def stack_samples(arrays: list) -> np.ndarray:
    """The samples' arrays stacked on a new first axis; samples of different shapes (text of
    different lengths, say) raise a ``ShapeError`` (a ``RuntimeError``, as PyTorch's)."""
    shapes = [a.shape for a in arrays]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ShapeError(
                f"stack expects each tensor to be equal size, but got {list(shapes[0])} at "
                f"entry 0 and {list(shape)} at entry {i}: the samples of a batch must have "
                f"one shape; pad them in a collate_fn (e.g. nn.utils.rnn.pad_sequence) or "
                f"use batch_size=1"
            )
    return np.stack(arrays)


def fetch_batch(dataset, indices: np.ndarray):
    """The samples at ``indices`` as arrays: one array per field (a tuple), per key (a dict),
    or one array.

    Array-backed datasets (those with ``__getitems__``) answer in one call; any other dataset
    is asked sample by sample and the samples are stacked, as is a ``__getitems__`` that
    returns a list of samples (PyTorch's contract).
    """
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is None:
        return stack_fields([dataset[int(i)] for i in indices])
    batch = getitems(indices)
    return stack_fields(batch) if isinstance(batch, list) else batch


def stack_fields(samples: list):
    """A list of samples as arrays: one per field (a tuple), per key (a dict), or one."""
    if samples and isinstance(samples[0], dict):  # one batch per key, as PyTorch's collate
        return {key: _field_array([s[key] for s in samples]) for key in samples[0]}
    if samples and isinstance(samples[0], (tuple, list)):
        return tuple(_field_array(field) for field in zip(*samples))
    return _field_array(samples)
