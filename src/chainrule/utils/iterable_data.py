"""PyTorch's ``IterableDataset``: a stream of samples read in order, with no indexing."""

from __future__ import annotations

from chainrule.data.dataset import Dataset


class IterableDataset(Dataset):
    """A dataset that is a stream: subclass it and define ``__iter__`` yielding samples.

    :class:`chainrule.utils.data.DataLoader` reads it in order, ``batch_size`` samples to a
    batch, collated as any other samples; ``shuffle``, ``sampler`` and ``batch_sampler`` are
    refused as PyTorch refuses them, and ``len(loader)`` needs the dataset's own ``__len__``.
    The stream is read once per epoch in the main thread, whatever ``num_workers`` says (so
    no sample comes twice, where PyTorch's worker processes each replay the stream unless
    the dataset splits it with ``get_worker_info``).

    Example:
        >>> from chainrule.utils.data import DataLoader
        >>> class Count(IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(5))
        >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other) -> ChainDataset:
        """``a + b``: the stream of ``a`` then that of ``b`` (PyTorch's ``ChainDataset``)."""
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several :class:`IterableDataset` streams read one after another (``a + b``).

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(ChainDataset([Count(2), Count(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset, got {type(dataset).__name__}; "
                    f"join indexed datasets with ConcatDataset"
                )
            yield from dataset

    def __len__(self) -> int:
        return sum(len(dataset) for dataset in self.datasets)


def get_worker_info():
    """``None``: there is no worker process (PyTorch's answer in the main process).

    chainrule's loader reads every dataset in this process (a stream in the main thread), so
    an :class:`IterableDataset` that splits its stream by worker reads all of it, once.
    """
    return None


def check_iterable_options(shuffle, sampler, batch_sampler) -> None:
    """PyTorch's refusals of options that need indexing, for an :class:`IterableDataset`."""
    for name, value, given in (
        ("shuffle", shuffle, shuffle not in (False, None)),
        ("sampler", sampler, sampler is not None),
        ("batch_sampler", batch_sampler, batch_sampler is not None),
    ):
        if given:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                f"{name}={value}; an IterableDataset is read in its own order (shuffle inside "
                f"its __iter__)"
            )


def stream_batches(dataset, batch_size: int, drop_last: bool, single: bool):
    """Lists of ``batch_size`` samples from the stream (one sample each when ``single``)."""
    batch = []
    for sample in dataset:
        if single:
            yield sample
            continue
        batch.append(sample)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch and not drop_last:
        yield batch
