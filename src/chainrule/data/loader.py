"""DataLoader: a dataset served in (shuffled) batches of tensors, resumable mid-epoch."""

from __future__ import annotations

import copy

import numpy as np

from chainrule.data.dataset import Dataset, TensorDataset, _field_array, fetch_batch
from chainrule.errors import DataError
from chainrule.random import Generator, default_generator, get_generator
from chainrule.tensor import Tensor


def _to_tensors(batch):
    if isinstance(batch, dict):
        return {key: Tensor._make(np.asarray(a), False) for key, a in batch.items()}
    if isinstance(batch, tuple):  # a list, as PyTorch's default_collate makes of samples' tuples
        return [Tensor._make(np.asarray(a), False) for a in batch]
    return Tensor._make(np.asarray(batch), False)


class DataLoader:
    """Iterate over a dataset in batches, optionally reshuffled every epoch.

    Each batch is a tuple of tensors, one per field of the dataset (``(x, y)`` for
    ``TensorDataset(X, y)``). Batches keep each array's dtype exactly: float64 features give
    float64 tensors, int64 labels int64 tensors; convert the arrays first (``X.astype(
    np.float32)``) for float32 batches. An array-backed dataset (one with ``__getitems__``,
    such as :class:`TensorDataset`) is sliced once per batch with the batch's index array;
    other datasets are read sample by sample and stacked.

    Shuffling draws one permutation per epoch from ``generator`` (the default generator
    when ``None``, so ``cr.manual_seed`` makes it reproducible). :meth:`state_dict` captures
    the position inside the epoch and the generator, so an interrupted epoch resumes with
    exactly the batches that were still to come.

    Args:
        dataset: a :class:`Dataset`, a tuple of arrays (wrapped in :class:`TensorDataset`),
            or a list of sample tuples such as ``list(zip(X, y))``.
        batch_size: samples per batch (the last one may be smaller).
        shuffle: reshuffle the samples at the start of every epoch.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        generator: the :class:`chainrule.Generator` to shuffle with.
        sampler: an iterable of sample indices with ``len()`` that decides the order instead
            of ``shuffle`` (e.g. ``chainrule.distributed.DistributedSampler``).

    Example:
        >>> import numpy as np
        >>> loader = DataLoader(TensorDataset(np.arange(10.0), np.arange(10)), batch_size=4)
        >>> len(loader), [x.shape for x, y in loader]
        (3, [(4,), (4,), (2,)])
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Generator | None = None,
        sampler=None,
        **torch_options,
    ):
        if torch_options:  # num_workers=4, pin_memory=True: a PyTorch script's loader
            raise TypeError(
                f"chainrule.data.DataLoader got {', '.join(sorted(torch_options))}; "
                f"chainrule.utils.data.DataLoader (torch.utils.data's) takes PyTorch's "
                f"arguments (num_workers, collate_fn, pin_memory, batch_sampler, ...)"
            )
        if isinstance(dataset, list) and dataset and all(type(s) is tuple for s in dataset):
            dataset = _from_samples(dataset)  # list(zip(X, y)): one tuple per sample
        elif isinstance(dataset, (tuple, list)):
            dataset = TensorDataset(*dataset)
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise DataError(
                f"DataLoader needs a Dataset (len() and indexing) or a tuple of arrays, got "
                f"{type(dataset).__name__}"
            )
        is_int = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
        if not is_int or batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be an integer >= 1, got {batch_size!r}")
        if generator is not None and not isinstance(generator, Generator):
            raise DataError(
                f"DataLoader: generator must be a chainrule.Generator (e.g. cr.Generator(0)), "
                f"got {type(generator).__name__}"
            )
        if sampler is not None and shuffle:
            raise DataError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self._order_sampler = sampler  # what decides the order (subclasses may show another)
        self.dataset: Dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.epoch = 0  # epochs started so far
        self._position = 0  # batches handed out in the current epoch
        self._in_epoch = False
        self._order_state = None  # generator state the current epoch's permutation came from
        self._resume = False

    def __len__(self) -> int:
        n = len(self.dataset) if self._order_sampler is None else len(self._order_sampler)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self, n: int) -> np.ndarray | None:
        """This epoch's sample order (``None``: the natural order)."""
        sampler = self._order_sampler
        if sampler is not None:
            return np.fromiter(sampler, dtype=np.int64, count=len(sampler))
        if not self.shuffle:
            return None
        if self._resume and self._order_state is not None:
            # Redraw the interrupted epoch's permutation from a private copy of the state,
            # leaving the (possibly shared) generator where the checkpoint put it.
            rng = get_generator(self.generator)
            replay = np.random.Generator(type(rng.bit_generator)())
            replay.bit_generator.state = copy.deepcopy(self._order_state)
            return replay.permutation(n)
        rng = get_generator(self.generator)
        self._order_state = copy.deepcopy(rng.bit_generator.state)
        return rng.permutation(n)

    def __iter__(self):
        n = len(self.dataset) if self._order_sampler is None else len(self._order_sampler)
        order = self._order(n)
        start = self._position if self._resume else 0
        if not self._resume:
            self.epoch += 1
        self._resume = False
        self._in_epoch = True
        self._position = start
        batches = len(self)
        for b in range(start, batches):
            lo = b * self.batch_size
            hi = min(lo + self.batch_size, n)
            indices = np.arange(lo, hi) if order is None else order[lo:hi]
            batch = self._fetch(indices)
            self._position = b + 1
            yield batch
        self._in_epoch = False
        self._position = 0

    def _fetch(self, indices):
        """The batch of the samples at ``indices`` (tensors, per field or per key)."""
        return _to_tensors(fetch_batch(self.dataset, indices))

    def state_dict(self) -> dict:
        """Where the loader stands: epoch, batches already served, shuffle and generator state.

        JSON-serialisable. Taken mid-epoch (between two batches), :meth:`load_state_dict`
        followed by ``iter(loader)`` serves exactly the batches the interrupted epoch had left,
        and later epochs shuffle exactly as the uninterrupted run would have.
        """
        gen_state = (self.generator or default_generator).state_as_dict() if self.shuffle else None
        return {
            "epoch": self.epoch,
            "position": self._position if self._in_epoch else 0,
            "in_epoch": self._in_epoch,
            "order_state": copy.deepcopy(self._order_state) if self._in_epoch else None,
            "generator": gen_state,
            "batch_size": self.batch_size,
            "dataset_size": len(self.dataset),
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next ``iter(loader)`` continues from it.

        The generator's state is set to the one saved (for the default generator, that is the
        state it had when :meth:`state_dict` was called). Refuses a state taken with another
        batch size, dataset size, shuffle or drop_last setting, which would serve other batches.
        """
        try:
            for key in ("batch_size", "dataset_size", "shuffle", "drop_last"):
                mine = len(self.dataset) if key == "dataset_size" else getattr(self, key)
                if state[key] != mine:
                    raise DataError(
                        f"DataLoader.load_state_dict: the state has {key}={state[key]!r} but this "
                        f"loader has {key}={mine!r}; resume with the same data and settings"
                    )
            epoch, position = int(state["epoch"]), int(state["position"])
            in_epoch = bool(state["in_epoch"])
        except DataError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"DataLoader.load_state_dict: not a loader state ({err!r})") from err
        if not 0 <= position <= len(self):
            raise DataError(f"DataLoader.load_state_dict: position {position} out of range")
        if state.get("generator") is not None:
            generator = self.generator or default_generator
            generator.set_state_from_dict(copy.deepcopy(state["generator"]))
        self.epoch = epoch
        self._order_state = copy.deepcopy(state.get("order_state"))
        self._in_epoch = False
        self._resume = in_epoch
        self._position = position if in_epoch else 0

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _from_samples(samples: list) -> TensorDataset:
    """A list of ``(x, y)`` tuples, one per sample, as PyTorch reads a list: each field stacked
    into one array (a tuple of arrays, or a list of arrays, is read as the fields themselves)."""
    widths = {len(sample) for sample in samples}
    if len(widths) != 1:
        raise DataError(
            f"DataLoader got a list of sample tuples of different lengths {sorted(widths)}; "
            f"every sample needs the same fields, e.g. list(zip(X, y))"
        )
    try:
        fields = [_field_array(values) for values in zip(*samples)]
    except ValueError as error:
        raise DataError(
            f"DataLoader: the samples' fields differ in shape ({error}); pass the fields as "
            f"arrays instead: DataLoader((X, y), ...)"
        ) from None
    return TensorDataset(*fields)
