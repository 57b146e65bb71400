"""What ``cr.fit(..., distributed=True)`` adds to the training loop (kept out of fit.py).

* the model is wrapped in :class:`DistributedDataParallel` (rank 0's weights everywhere);
* the training data is served through a :class:`DistributedSampler` (``batch_size`` is per
  rank, as in PyTorch: the global batch is ``batch_size × world_size``), the validation data
  split into disjoint contiguous shares;
* every rank checks at the start that the others train the same model on the same data with
  the same options, and at the first epoch that they start from the same epoch and weights;
* the epoch's loss and metrics, and the validation scores, are combined over all ranks, so
  every rank logs the same numbers (and callbacks such as early stopping agree);
* only rank 0 shows progress and runs the callbacks' file writing (``ModelCheckpoint``,
  ``CSVLogger``, ``BackupAndRestore``): the others run their other hooks, so their state
  stays the same as rank 0's.
"""

from __future__ import annotations

import hashlib

import numpy as np

import chainrule.distributed.comm as comm
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.sampler import DistributedSampler

__all__ = ["DistributedRun", "merge_metric"]


def _is_a(obj, names) -> bool:
    return any(c.__name__ in names for c in type(obj).__mro__)


def _dataset_digest(dataset) -> str | None:
    arrays = getattr(dataset, "arrays", None)
    if arrays is None:
        return None
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _params_digest(model) -> str:
    digest = hashlib.sha256()
    for _, t in model.state_dict().items():
        digest.update(np.ascontiguousarray(np.asarray(t)).tobytes())
    return digest.hexdigest()


def _optimizer_settings(optimizer) -> str:
    """The optimizer's class and hyperparameters (not its parameters), as text."""
    groups = [
        {k: v for k, v in g.items() if k != "params" and isinstance(v, (int, float, str, tuple))}
        for g in getattr(optimizer, "param_groups", [])
    ]
    return f"{type(optimizer).__name__}{groups}"


# ---- metrics --------------------------------------------------------------------------------
def _state_keys(metric) -> list[str]:
    """The attributes ``reset()`` sets: the metric's running state (the rest is settings)."""
    probe = object.__new__(type(metric))
    try:
        probe.reset()
        return sorted(vars(probe))
    except Exception:
        return sorted(k for k, v in vars(metric).items() if isinstance(v, (int, float, list)))


def _sum_arrays(values):
    arrays = [np.asarray(v) for v in values]
    if arrays[0].ndim == 0:
        return sum(values[1:], values[0])
    shape = tuple(max(s) for s in zip(*(a.shape for a in arrays)))
    total = np.zeros(shape, dtype=np.result_type(*arrays))
    for a in arrays:
        total[tuple(slice(0, n) for n in a.shape)] += a
    return total


def merge_metric(metric, states: list[dict]) -> None:
    """Set ``metric``'s state to the combination of every rank's ``states`` (in rank order).

    Counts and sums add up, confusion matrices add up (padded to the largest), flags are
    or-ed, lists of kept values are concatenated; :class:`R2Score` merges its running means
    and variances exactly. A metric class may define ``merge_states(states)`` to do its own.
    """
    if hasattr(metric, "merge_states"):
        metric.merge_states(states)
        return
    if _is_a(metric, ("R2Score",)):
        n, mean, m2, ss_res = 0, 0.0, 0.0, 0.0
        for s in states:
            if not s["n"]:
                continue
            total = n + s["n"]
            delta = np.asarray(s["mean"]) - mean
            mean = mean + delta * (s["n"] / total)
            m2 = m2 + s["m2"] + delta**2 * (n * s["n"] / total)
            ss_res = ss_res + s["ss_res"]
            n = total
        metric.n, metric.mean, metric.m2, metric.ss_res = n, mean, m2, ss_res
        return
    for key in states[0]:
        values = [s[key] for s in states]
        first = values[0]
        if isinstance(first, (bool, np.bool_)):
            merged = any(values)
        elif isinstance(first, list):
            merged = [item for v in values for item in v]
        elif isinstance(first, (int, float, np.number, np.ndarray)):
            merged = _sum_arrays(values)
        else:
            merged = first
        setattr(metric, key, merged)


def _reduce_stats(total: float, seen: int, metrics) -> tuple[float, int]:
    states = [{k: getattr(m, k) for k in _state_keys(m)} for m in metrics]
    everything = comm.allgather_object((total, seen, states))
    for i, metric in enumerate(metrics):
        merge_metric(metric, [rank_states[i] for _, _, rank_states in everything])
    return sum(t for t, _, _ in everything), sum(s for _, s, _ in everything)


# ---- callbacks ------------------------------------------------------------------------------
def _skip(*args, **kwargs):
    return None


def _restore_callback(patched: list):
    from chainrule.train.callbacks import Callback

    class RankZeroWrites(Callback):
        def on_train_end(self, logs=None):
            for cb in patched:
                cb.__dict__.pop("on_epoch_end", None)
            patched.clear()

    return RankZeroWrites()


# ---- the run --------------------------------------------------------------------------------
class DistributedRun:
    """Used by :func:`chainrule.fit` when ``distributed`` is on; see the module docstring."""

    def __init__(self, model):
        comm.init()
        self.rank = comm.rank()
        self.size = comm.world_size()
        if isinstance(model, DistributedDataParallel):
            self.ddp = model
        else:
            # fit's loop reads .grad only between backward and the step, so the averaged
            # gradients can stay in the buckets: no copy back (about 3 % of a step of case (c))
            self.ddp = DistributedDataParallel(model, gradient_as_bucket_view=True)
        self.sampler = None
        self._checked_start = False

    def loaders(self, train_loader, val_loader, shuffle: bool, generator, options: dict):
        """Loaders over each rank's share; refuses ranks with other data or options."""
        from chainrule.data.loader import DataLoader
        from chainrule.random import get_generator

        dataset = train_loader.dataset
        seed = 0
        if shuffle:
            seed = int(get_generator(generator).integers(2**31)) if self.rank == 0 else 0
            seed = comm.broadcast_object(seed)
        options = dict(options)
        if "opt" in options:
            options["optimizer"] = _optimizer_settings(options.pop("opt"))
        mine = {
            **options,
            "samples": len(dataset),
            "data_sha256": _dataset_digest(dataset),
            "validation_samples": None if val_loader is None else len(val_loader.dataset),
        }
        comm.check_same(
            "training setup",
            mine,
            lambda a, b: "; ".join(
                f"{k} is {b.get(k)!r} there but {a.get(k)!r} on rank 0"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ),
        )
        self.sampler = DistributedSampler(
            dataset, self.size, self.rank, shuffle=bool(shuffle), seed=seed
        )
        train = DataLoader(dataset, batch_size=train_loader.batch_size, sampler=self.sampler)
        val = None
        if val_loader is not None:
            n = len(val_loader.dataset)
            share = np.arange(self.rank * n // self.size, (self.rank + 1) * n // self.size)
            val = DataLoader(val_loader.dataset, batch_size=val_loader.batch_size, sampler=share)
        return train, val

    def callbacks(self, callbacks: list) -> list:
        """The callbacks, with file writing switched off on every rank but 0."""
        patched = []
        if self.rank != 0:
            for cb in callbacks:
                if getattr(cb, "writes_files", False):
                    cb.on_epoch_end = _skip
                    patched.append(cb)
        return [*callbacks, _restore_callback(patched)]

    def epoch_begin(self, epoch: int, model) -> None:
        if not self._checked_start:
            self._checked_start = True
            comm.check_same(
                "starting point (epoch and weights; a checkpoint that not every rank could read?)",
                (int(epoch), _params_digest(model)),
                lambda a, b: (
                    f"epoch {b[0] + 1} there, {a[0] + 1} on rank 0"
                    if a[0] != b[0]
                    else "the weights differ"
                ),
            )
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def after_backward(self) -> None:
        self.ddp.finish_gradient_synchronization()

    def epoch_logs(self, stats) -> dict:
        """The epoch's training logs, combined over ranks."""
        stats.total, stats.seen = _reduce_stats(stats.total, stats.seen, stats.metrics)
        return stats.logs()

    def reduce(self, total: float, seen: int, metrics) -> tuple[float, int]:
        """Validation sums and metrics, combined over ranks."""
        return _reduce_stats(total, seen, metrics)
