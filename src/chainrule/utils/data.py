"""``chainrule.utils.data``: :mod:`chainrule.data` under PyTorch's ``torch.utils.data`` path.

:class:`DataLoader` here adds PyTorch's ``collate_fn`` and ``num_workers`` to
:class:`chainrule.data.DataLoader`; :func:`random_split` and :func:`default_collate` are
PyTorch's functions. ``Dataset``, ``TensorDataset``, ``Subset`` and ``ConcatDataset`` are
chainrule's own.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from chainrule.creation import tensor
from chainrule.data import loader as _loader
from chainrule.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, stack_samples
from chainrule.distributed.sampler import DistributedSampler
from chainrule.errors import ArgumentTypeError, DataError, ShapeError
from chainrule.random import get_generator
from chainrule.tensor import Tensor
from chainrule.utils.iterable_data import (
    ChainDataset,
    IterableDataset,
    check_iterable_options,
    get_worker_info,
    stream_batches,
)
from chainrule.utils.stack_dataset import StackDataset

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "DistributedSampler",
    "StackDataset",
    "get_worker_info",
    "ConcatDataset",
    "DataLoader",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "random_split",
]


def default_collate(samples):
    """Stack a list of samples into a batch, field by field, as PyTorch's ``default_collate``.

    Tensors and arrays are stacked along a new first axis, numbers become a 1-D tensor
    (Python floats as float64, as in PyTorch), and tuples, lists and dicts are collated per
    field.

    Example:
        >>> import chainrule as cr
        >>> x, y = default_collate([(cr.zeros(2), 0), (cr.ones(2), 1)])
        >>> x.shape, y.tolist()
        ((2, 2), [0, 1])
    """
    if not samples:
        raise DataError("default_collate got an empty list of samples")
    first = samples[0]
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (str, bytes)):
        return samples  # PyTorch keeps strings as they came (a list, or a tuple of a field)
    if isinstance(first, (tuple, list)):
        sizes = {len(s) for s in samples}
        if len(sizes) != 1:
            raise ShapeError(
                f"default_collate: each element in list of batch should be of equal size, got "
                f"sizes {sorted(sizes)}; pad them in a collate_fn"
            )
        fields = [default_collate(field) for field in zip(*samples)]
        if hasattr(first, "_fields"):  # a namedtuple stays one, as PyTorch's
            return type(first)(*fields)
        return fields
    if isinstance(first, float):
        return Tensor._make(np.asarray(samples, dtype=np.float64), False)
    if isinstance(first, (bool, int)):  # torch.tensor(batch): floats among ints give float32
        return tensor(list(samples))
    if isinstance(first, np.ndarray) and first.dtype.kind in "SaUO":
        raise ArgumentTypeError(
            f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
            f"lists; found a NumPy array of dtype {first.dtype}; pass collate_fn= to the "
            f"DataLoader"
        )
    if isinstance(first, (np.integer, np.floating, np.bool_)):
        return Tensor._make(np.asarray(samples), False)
    if isinstance(first, (Tensor, np.ndarray)):
        return Tensor._make(stack_samples([np.asarray(s) for s in samples]), False)
    raise ArgumentTypeError(  # a TypeError, as PyTorch's
        f"default_collate cannot batch samples of type {type(first).__name__}; pass "
        f"collate_fn= to the DataLoader"
    )


def default_convert(sample):
    """What PyTorch's loader does to a sample when ``batch_size=None``: NumPy arrays (and
    NumPy numbers) become tensors, tuples become lists, field by field; the rest stays."""
    if isinstance(sample, np.ndarray) and sample.dtype.kind not in "USO":
        return Tensor._make(sample, False)
    if isinstance(sample, np.generic) and not isinstance(sample, (np.str_, np.bytes_)):
        return Tensor._make(np.asarray(sample), False)
    if isinstance(sample, dict):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, (tuple, list)) and not hasattr(sample, "_fields"):
        return [default_convert(value) for value in sample]
    return sample


class _Samples(Dataset):
    """A list or tuple used as a dataset, one element per sample (PyTorch's reading)."""

    def __init__(self, samples):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):
        return self.samples[index]


class DataLoader(_loader.DataLoader):
    """:class:`chainrule.data.DataLoader` with PyTorch's ``collate_fn`` and ``num_workers``.

    Args:
        dataset: a :class:`Dataset`, or a list or tuple whose elements are the samples (as
            PyTorch reads it: ``DataLoader(list(zip(X, y)))``; ``chainrule.data.DataLoader``
            reads a tuple of arrays as columns instead).
        batch_size: samples per batch; ``None`` serves single samples, as PyTorch does.
        shuffle: reshuffle every epoch (seeded by ``chainrule.manual_seed``).
        drop_last: skip a last, smaller batch.
        collate_fn: turns a list of samples into a batch; when given, samples are read one by
            one and passed to it (PyTorch's behaviour).
        num_workers: how many batches are prepared ahead, in that many threads (chainrule's
            equivalent of PyTorch's worker processes: the batches and their order are the
            same; a dataset whose ``__getitem__`` releases the GIL, such as file reading or
            NumPy work, loads in parallel). ``0`` reads in the main thread.
        generator: the :class:`chainrule.Generator` to shuffle with.
        sampler: an iterable of indices (e.g. :class:`SubsetRandomSampler`) giving each epoch's
            order; batch_sampler: an iterable of index lists, one per batch.
        pin_memory, persistent_workers, prefetch_factor, timeout, worker_init_fn: accepted
            for PyTorch scripts and ignored (there is no GPU memory to pin or process to start).

    Example:
        >>> import numpy as np
        >>> data = TensorDataset(np.arange(10.0))
        >>> [len(b[0]) for b in DataLoader(data, batch_size=4, drop_last=True, num_workers=2)]
        [4, 4]
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ):
        stream = dataset if isinstance(dataset, IterableDataset) else None
        if stream is not None:
            check_iterable_options(shuffle, sampler, batch_sampler)
            dataset, shuffle = _Samples([]), False  # a placeholder for the indexed loader
        if (sampler is not None or batch_sampler is not None) and shuffle:
            raise ValueError(
                "DataLoader: sampler/batch_sampler and shuffle=True exclude each other"
            )
        if batch_sampler is not None and (batch_size != 1 or drop_last or sampler is not None):
            raise ValueError(
                "DataLoader: batch_sampler decides the batches; leave batch_size, drop_last "
                "and sampler at their defaults"
            )
        if not isinstance(num_workers, int) or num_workers < 0:
            raise DataError(f"DataLoader: num_workers must be an integer >= 0, got {num_workers}")
        self.single = batch_size is None
        if isinstance(dataset, (list, tuple)):
            dataset = _Samples(dataset)
        super().__init__(
            dataset,
            batch_size=1 if batch_size is None else batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            generator=generator,
        )
        if stream is not None:
            self.dataset = stream
        self._stream = stream
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self._order_sampler, self._batch_order = sampler, batch_sampler
        self.sampler, self.batch_sampler = self._torch_samplers(sampler, batch_sampler)

    def _torch_samplers(self, sampler, batch_sampler):
        """``loader.sampler`` and ``loader.batch_sampler`` as PyTorch sets them (for ``len()``
        and ``isinstance``); a shuffling loader still draws its own permutation."""
        if self._stream is not None or batch_sampler is not None:
            return sampler, batch_sampler
        if sampler is None and self.shuffle:
            sampler = RandomSampler(self.dataset, generator=self.generator)
        elif sampler is None:
            sampler = SequentialSampler(self.dataset)
        if self.single:
            return sampler, None
        return sampler, BatchSampler(sampler, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        if self._stream is not None:
            n = len(self._stream)  # TypeError when the stream has no __len__, as PyTorch
            if self.single:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self._batch_order is not None:
            return len(self._batch_order)
        if self._order_sampler is not None:
            n = len(self._order_sampler)
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return super().__len__()

    def _batches(self):
        """Index arrays of this epoch's batches (advancing the epoch as the parent does)."""
        self.epoch += 1
        self._resume = False
        if self._batch_order is not None:
            for indices in self._batch_order:
                yield np.asarray(list(indices), dtype=np.int64)
            return
        if self._order_sampler is not None:
            order = np.fromiter(iter(self._order_sampler), dtype=np.int64)
            n = len(order)
        else:
            n = len(self.dataset)
            order = self._order(n)
        count = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        for b in range(count):
            lo = b * self.batch_size
            hi = min(lo + self.batch_size, n)
            yield np.arange(lo, hi) if order is None else order[lo:hi]

    def _load(self, indices):
        if self.single:
            return default_convert(self.dataset[int(indices[0])])
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in indices])
        return self._fetch(indices)

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is None:  # sample by sample, as PyTorch collates
            return default_collate([self.dataset[int(i)] for i in indices])
        batch = getitems(indices)
        if isinstance(batch, list):  # PyTorch's __getitems__ contract: a list of samples
            return default_collate(batch)
        return _loader._to_tensors(batch)  # chainrule's array-backed datasets: field arrays

    def _iter_stream(self):
        self.epoch += 1
        for batch in stream_batches(self._stream, self.batch_size, self.drop_last, self.single):
            if self.single:
                yield default_convert(batch)
            else:
                yield (self.collate_fn or default_collate)(batch)

    def __iter__(self):
        if self._stream is not None:
            yield from self._iter_stream()
            return
        custom = self._order_sampler is not None or self._batch_order is not None
        custom = custom or not hasattr(self.dataset, "__getitems__")
        if self.collate_fn is None and self.num_workers == 0 and not self.single and not custom:
            yield from super().__iter__()  # the fast, resumable path
            return
        if self.num_workers == 0:
            for indices in self._batches():
                yield self._load(indices)
            return
        ahead = 2 * self.num_workers
        with ThreadPoolExecutor(self.num_workers) as pool:
            pending = []
            for indices in self._batches():
                pending.append(pool.submit(self._load, indices))
                if len(pending) >= ahead:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()


class Sampler:
    """Base class of samplers: an iterable of dataset indices with a length."""

    def __init__(self, data_source=None):
        self.data_source = data_source

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        return len(self.data_source)


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1."""

    def __iter__(self):
        return iter(range(len(self.data_source)))


class RandomSampler(Sampler):
    """A fresh random order every epoch (or ``num_samples`` draws with replacement; without
    it, ``num_samples`` beyond the data's length take permutations one after another).

    Example:
        >>> import numpy as np
        >>> sorted(RandomSampler(range(5)))
        [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        super().__init__(data_source)
        self.replacement = bool(replacement)
        self.num_samples = len(data_source) if num_samples is None else int(num_samples)
        if self.num_samples <= 0:
            raise ValueError(
                f"RandomSampler: num_samples should be a positive integer, got "
                f"num_samples={self.num_samples}"
                + (" (an empty dataset cannot be shuffled)" if num_samples is None else "")
            )
        self.generator = generator

    def __iter__(self):
        rng = get_generator(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        # more samples than the data holds: whole permutations one after another, as PyTorch
        rounds = -(-self.num_samples // n) if n else 0
        order = np.concatenate([rng.permutation(n) for _ in range(rounds)] or [np.arange(0)])
        return iter(order[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order every epoch (a train/validation split)."""

    def __init__(self, indices, generator=None):
        super().__init__(None)
        self.indices = list(indices)
        self.generator = generator

    def __iter__(self):
        order = get_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (PyTorch's
    sampler for unbalanced classes: one weight per sample, e.g. ``1 / count[y[i]]``).

    With ``replacement=False`` each index comes at most once; indices of zero weight come
    only after all the others, as PyTorch's ``multinomial`` gives them.

    Example:
        >>> sampler = WeightedRandomSampler([0.0, 1.0, 3.0], 5)
        >>> len(list(sampler)), 0 in list(sampler)
        (5, False)
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        super().__init__(None)
        is_int = isinstance(num_samples, (int, np.integer)) and not isinstance(num_samples, bool)
        if not is_int or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        weights = np.asarray(weights.detach() if isinstance(weights, Tensor) else weights)
        weights = weights.astype(np.float64)
        if weights.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape "
                f"{tuple(weights.shape)}"
            )
        self.weights = Tensor._make(weights, False)
        self.num_samples, self.replacement, self.generator = (
            int(num_samples),
            replacement,
            generator,
        )

    def __iter__(self):
        w = np.asarray(self.weights)
        if (w < 0).any() or not np.isfinite(w).all():
            raise RuntimeError(
                "WeightedRandomSampler: invalid multinomial distribution (encountering a "
                "probability entry < 0, inf or nan); weights must be finite and >= 0"
            )
        if w.sum() <= 0:
            raise RuntimeError(
                "WeightedRandomSampler: invalid multinomial distribution (sum of probabilities "
                "<= 0); give at least one sample a positive weight"
            )
        rng = get_generator(self.generator)
        if self.replacement:
            return iter(rng.choice(len(w), self.num_samples, p=w / w.sum()).tolist())
        if self.num_samples > len(w):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {self.num_samples} samples without "
                f"replacement from {len(w)} weights; lower num_samples or set replacement=True"
            )
        # PyTorch's draw without replacement: largest w / Exp(1) first, zero weights last
        e = rng.exponential(size=len(w))
        keys = np.where(w > 0, w / e, -e)
        return iter(np.argsort(-keys, kind="stable")[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        super().__init__(None)
        is_int = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
        if not is_int or batch_size <= 0:
            raise ValueError(
                f"BatchSampler: batch_size should be a positive integer value, but got "
                f"batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last}"
            )
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def random_split(dataset, lengths, generator=None) -> list:
    """Split ``dataset`` into non-overlapping :class:`Subset` s of the given lengths.

    ``lengths`` are counts that add up to ``len(dataset)``, or fractions that add up to 1
    (the remainder of rounding goes one by one to the first subsets, as PyTorch does). The
    permutation comes from ``generator`` (the default generator, seeded by
    ``chainrule.manual_seed``, when ``None``).

    Example:
        >>> import numpy as np
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2])
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(lengths) != n:
        raise DataError(
            f"random_split: lengths {lengths} must be counts adding up to the dataset's "
            f"{n} samples, or fractions adding up to 1"
        )
    order = get_generator(generator).permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start : start + int(length)].tolist()))
        start += int(length)
    return subsets
