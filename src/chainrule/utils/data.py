"""``chainrule.utils.data``: :mod:`chainrule.data` under PyTorch's ``torch.utils.data`` path.

:class:`DataLoader` here adds PyTorch's ``collate_fn`` and ``num_workers`` to
:class:`chainrule.data.DataLoader`; :func:`random_split` and :func:`default_collate` are
PyTorch's functions. ``Dataset``, ``TensorDataset`` and ``Subset`` are chainrule's own.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from chainrule.data import loader as _loader
from chainrule.data.dataset import Dataset, Subset, TensorDataset
from chainrule.errors import DataError
from chainrule.random import get_generator
from chainrule.tensor import Tensor

__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
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
    if isinstance(first, (tuple, list)):
        sizes = {len(s) for s in samples}
        if len(sizes) != 1:
            raise DataError(f"default_collate: samples have different numbers of fields {sizes}")
        return [default_collate(list(field)) for field in zip(*samples)]
    if isinstance(first, float):
        return Tensor._make(np.asarray(samples, dtype=np.float64), False)
    if isinstance(first, (bool, int, np.integer, np.floating, np.bool_)):
        return Tensor._make(np.asarray(samples), False)
    if isinstance(first, (Tensor, np.ndarray)):
        return Tensor._make(np.stack([np.asarray(s) for s in samples]), False)
    raise DataError(
        f"default_collate cannot batch samples of type {type(first).__name__}; pass "
        f"collate_fn= to the DataLoader"
    )


class DataLoader(_loader.DataLoader):
    """:class:`chainrule.data.DataLoader` with PyTorch's ``collate_fn`` and ``num_workers``.

    Args:
        dataset: a :class:`Dataset` (or a tuple of arrays).
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
        if sampler is not None or batch_sampler is not None:
            raise NotImplementedError(
                "DataLoader(sampler=..., batch_sampler=...) is not supported yet; use "
                "shuffle=True, or a Subset of the dataset in the order you want"
            )
        if not isinstance(num_workers, int) or num_workers < 0:
            raise DataError(f"DataLoader: num_workers must be an integer >= 0, got {num_workers}")
        self.single = batch_size is None
        super().__init__(
            dataset,
            batch_size=1 if batch_size is None else batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            generator=generator,
        )
        self.collate_fn = collate_fn
        self.num_workers = num_workers

    def _batches(self):
        """Index arrays of this epoch's batches (advancing the epoch as the parent does)."""
        n = len(self.dataset)
        order = self._order(n)
        self.epoch += 1
        self._resume = False
        for b in range(len(self)):
            lo = b * self.batch_size
            hi = min(lo + self.batch_size, n)
            yield np.arange(lo, hi) if order is None else order[lo:hi]

    def _load(self, indices):
        if self.single:
            return self.dataset[int(indices[0])]
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in indices])
        return _loader._to_tensors(_loader.fetch_batch(self.dataset, indices))

    def __iter__(self):
        if self.collate_fn is None and self.num_workers == 0 and not self.single:
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
        subsets.append(Subset(dataset, order[start : start + int(length)]))
        start += int(length)
    return subsets
