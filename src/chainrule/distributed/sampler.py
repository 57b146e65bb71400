"""DistributedSampler: each rank's disjoint share of a dataset, shuffled alike on every rank."""

from __future__ import annotations

import math

import numpy as np

import chainrule.distributed.comm as comm

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The sample indices of one rank: a disjoint ``1/num_replicas`` share of the dataset.

    PyTorch's ``torch.utils.data.DistributedSampler``, with the same arguments and layout:
    every epoch the ``N`` indices are permuted (with ``shuffle``) from a generator seeded with
    ``seed + epoch``, so every rank draws the same order without talking to the others; the
    order is padded at its end by repeating its first indices until it divides evenly (or cut,
    with ``drop_last``), and rank ``r`` takes every ``num_replicas``-th index from ``r``. Each
    rank therefore gets ``ceil(N / num_replicas)`` indices (``floor`` with ``drop_last``) and
    the shares are disjoint except for the padding. Call :meth:`set_epoch` at the start of
    each epoch, before iterating, or every epoch repeats epoch 0's order.

    The permutation comes from NumPy's PCG64 generator, not PyTorch's: the same seed gives a
    different (equally random) order than PyTorch; without ``shuffle`` the shares are equal.

    Args:
        dataset: anything with ``len()``.
        num_replicas: the number of ranks (default: :func:`chainrule.distributed.world_size`).
        rank: this rank (default: :func:`chainrule.distributed.rank`).
        shuffle: permute the indices every epoch.
        seed: the base seed; must be the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding.

    Example:
        >>> import numpy as np
        >>> from chainrule.data import DataLoader, TensorDataset
        >>> data = TensorDataset(np.arange(10.0), np.arange(10))
        >>> sampler = DistributedSampler(data, num_replicas=3, rank=1, shuffle=False)
        >>> list(sampler)
        [1, 4, 7, 0]
        >>> loader = DataLoader(data, batch_size=2, sampler=sampler)
        >>> sampler.set_epoch(0); [y.tolist() for _, y in loader]
        [[1, 4], [7, 0]]
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if num_replicas is None:
            num_replicas = comm.world_size()
        if rank is None:
            rank = comm.rank()
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (the seed becomes ``seed + epoch``) on the next pass."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.Generator(np.random.PCG64(self.seed + self.epoch)).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:
            reps = math.ceil((self.total_size - n) / max(n, 1))
            order = np.concatenate([order, np.tile(order, reps)[: self.total_size - n]])
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(rank={self.rank}, num_replicas={self.num_replicas}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})"
        )
