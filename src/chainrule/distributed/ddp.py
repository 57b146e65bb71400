"""DistributedDataParallel: one model per rank, gradients averaged across ranks after backward.

How the gradients travel (the design, measured in ``docs/distributed.md``):

* **Buckets.** The parameters that need gradients are grouped, in the reverse of their
  registration order (roughly the order backward produces their gradients), into buckets of at
  most ``bucket_cap_mb`` megabytes (the first one at most 1 MB, as in PyTorch), one dtype per
  bucket. Each bucket owns one flat buffer holding every parameter's slice, and the whole
  bucket travels in one ``MPI_Iallreduce``: a few large messages, not one per tensor.
* **Hooks, registered once.** At wrap time each parameter gets a post-accumulate-grad hook
  (``Tensor.register_post_accumulate_grad_hook``, as PyTorch's reducer does), which the engine
  calls once per backward pass, right after it has added that parameter's gradient to
  ``.grad``. A forward pass through the wrapper arms the hooks for its backward (a pass under
  ``no_sync()`` disarms them, so those gradients stay local); a hook copies ``.grad`` divided
  by the number of ranks into the parameter's slice (the division rides on the copy, so the
  summed bucket already holds the mean) and, when a bucket is full, starts its non-blocking
  allreduce while backward goes on through the earlier layers. The hooks hold the DDP weakly
  and are removed when the DDP is garbage-collected; with a single process none is registered.
* **Wait.** The hook of the last parameter to get its gradient waits for every bucket, then
  copies the means into ``p.grad_array`` (with ``gradient_as_bucket_view``, ``.grad`` becomes
  the bucket's slice instead: no copy): when ``loss.backward()`` returns, the gradients are
  averaged, and ``optimizer.step()`` needs nothing more. When some parameters got no gradient
  (unused in this forward pass), call :meth:`finish_gradient_synchronization` before the step
  (``cr.fit`` does); they contribute their ``.grad`` so far (or zero). As in PyTorch, run one
  backward per forward pass of the wrapper: the first backward after it is the one averaged.
* **Shared memory.** When every rank runs on this machine, the buckets live in an MPI
  shared-memory window and are summed there after the last gradient (``shm.py``), several
  times faster than the allreduce on one machine; otherwise they travel as above.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

import chainrule.distributed.comm as comm
import chainrule.distributed.shm as shm
from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.nn.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


def _hook_for(reducer_ref, index: int):
    """The post-accumulate-grad hook of parameter ``index``: it holds its DDP only weakly, so a
    dropped DDP is collected (and its hooks removed) even while the model lives on."""

    def hook(_param) -> None:
        reducer = reducer_ref()
        if reducer is not None and reducer.active:
            reducer.ready(index)

    return hook


def _remove_hooks(handles: list) -> None:
    for handle in handles:
        handle.remove()


class _Bucket:
    def __init__(self, indices: list, params: list):
        self.indices = indices
        self.dtype = np.asarray(params[indices[0]].array).dtype
        self.shapes = [np.asarray(params[i].array).shape for i in indices]
        self.size = sum(int(np.prod(shape)) for shape in self.shapes)
        self.bind(np.zeros(self.size, dtype=self.dtype))
        self.pending = len(indices)
        self.request = None

    def bind(self, flat: np.ndarray) -> None:
        """Use ``flat`` as the bucket's buffer (a plain array, or shared memory)."""
        self.flat = flat
        self.views = {}  # each parameter's part of the flat buffer, in the parameter's shape
        start = 0
        for i, shape in zip(self.indices, self.shapes):
            size = int(np.prod(shape))
            self.views[i] = flat[start : start + size].reshape(shape)
            start += size


class _Reducer:
    def __init__(
        self,
        params: list,
        names: list,
        bucket_bytes: int,
        overlap: bool,
        as_view: bool = False,
        shared_memory: bool = True,
    ):
        self.params = params
        self.names = names
        self.overlap = overlap
        self.as_view = as_view
        self.world = comm.world_size()
        self.buckets: list[_Bucket] = []
        current: list = []
        size = 0
        cap = min(_FIRST_BUCKET_BYTES, bucket_bytes)
        for i in reversed(range(len(params))):
            array = np.asarray(params[i].array)
            dtype_changes = current and np.asarray(params[current[0]].array).dtype != array.dtype
            if current and (size + array.nbytes > cap or dtype_changes):
                self.buckets.append(_Bucket(current, params))
                current, size, cap = [], 0, bucket_bytes
            current.append(i)
            size += array.nbytes
        if current:
            self.buckets.append(_Bucket(current, params))
        self.shared = self._shared_buffers(shared_memory)
        self.bucket_of = {i: b for b in self.buckets for i in b.indices}
        self.views = [self.bucket_of[i].views[i] for i in range(len(params))]
        self._reset()
        # One post-accumulate-grad hook per parameter for the DDP's lifetime (PyTorch's reducer
        # does the same), removed when the reducer is collected; none for a world of one.
        me = weakref.ref(self)
        handles = [
            p.register_post_accumulate_grad_hook(_hook_for(me, i))
            for i, p in enumerate(params if self.world > 1 else ())
        ]
        self.hooks = weakref.finalize(self, _remove_hooks, handles)

    def _shared_buffers(self, wanted: bool):
        """The buckets moved into MPI shared memory when every rank is on this machine."""
        if self.world == 1 or not self.buckets or not shm.available(wanted):
            return None
        try:
            shared = shm.SharedBuffers([(b.size, b.dtype) for b in self.buckets])
        except MemoryError:
            return None  # every rank falls back to MPI_Iallreduce together
        for bucket, flat in zip(self.buckets, shared.arrays):
            bucket.bind(flat)
        return shared

    def _reset(self) -> None:
        self.ready_count = 0
        self.is_ready = [False] * len(self.params)
        self.active = False
        self.next_bucket = 0  # buckets start in order, so every rank issues them alike
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.request = None

    def _refuse_unfinished(self) -> None:
        if self.active and 0 < self.ready_count < len(self.params):
            missing = [self.names[i] for i, r in enumerate(self.is_ready) if not r]
            raise comm.DistributedError(
                "DistributedDataParallel: the previous backward() left parameters without a "
                f"gradient ({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}), so "
                "their averaging never finished; call ddp.finish_gradient_synchronization() "
                "after backward() when some parameters are unused, before optimizer.step()"
            )

    def prepare(self) -> None:
        """A synchronized forward pass begins: the hooks of its backward take part."""
        self._refuse_unfinished()
        self._reset()
        self.active = True

    def stand_down(self) -> None:
        """A forward pass under ``no_sync()``: the hooks of its backward leave ``.grad`` alone.

        A synchronized forward pass whose backward never came is forgotten (its gradients, if
        its backward comes later, stay local, as before).
        """
        self._refuse_unfinished()
        self.active = False

    def ready(self, index: int) -> None:
        """Parameter ``index`` has its whole gradient of this pass in ``.grad``: take it.

        ``.grad`` already holds what accumulated before (e.g. under ``no_sync()``) plus this
        pass, so the total is what gets averaged. It is divided by the number of ranks on its
        way into the bucket, so the sum over ranks is the mean and the way back to ``.grad`` is
        a plain copy (or, with ``gradient_as_bucket_view``, nothing).
        """
        if self.is_ready[index]:
            raise comm.DistributedError(
                f"DistributedDataParallel: parameter {self.names[index]!r} got two gradients in "
                "one round (backward() ran twice after one forward pass of the wrapper); run "
                "one backward per forward pass, or sum the losses before one backward"
            )
        self.is_ready[index] = True
        self.ready_count += 1
        np.divide(self.params[index].grad_array, self.world, out=self.views[index])
        self.bucket_of[index].pending -= 1
        if self.ready_count < len(self.params):
            self._start_ready_buckets()
        else:
            self._finish()  # the last gradient: finish every bucket, write every mean

    def _start_ready_buckets(self) -> None:
        if self.shared is not None or (not self.overlap and self.ready_count < len(self.params)):
            return  # shared memory: every bucket is summed at the end, in one pass
        while self.next_bucket < len(self.buckets):
            bucket = self.buckets[self.next_bucket]
            if bucket.pending:
                break
            bucket.request = comm.start_allreduce_sum(bucket.flat)
            self.next_bucket += 1
        for bucket in self.buckets[: self.next_bucket]:
            if bucket.request is not None and comm.test(bucket.request):
                bucket.request = None  # finished: nudge MPI's progress while backward runs

    def _finish(self) -> None:
        for i, done in enumerate(self.is_ready):
            if not done:  # unused in this pass: its gradient so far (or zero) joins the mean
                grad = self.params[i].grad_array
                if grad is None:
                    self.views[i][...] = 0
                else:
                    np.divide(grad, self.world, out=self.views[i])
                self.bucket_of[i].pending -= 1
        self.ready_count = len(self.params)
        self._start_ready_buckets()
        if self.shared is not None:
            self.shared.sum(range(len(self.buckets)))
        for bucket in self.buckets:
            if bucket.request is not None:
                comm.wait(bucket.request, "the gradient allreduce")
                bucket.request = None
        # The buckets hold the means (each rank divided its part on the way in).
        for i, param in enumerate(self.params):
            mean = self.views[i]
            current = param.grad_array
            if current is None and not self.is_ready[i] and not mean.any():
                continue  # unused on every rank: stays None, as in PyTorch
            if self.as_view:
                param.grad_array = mean
            elif current is None:
                param.grad_array = mean.copy()
            else:
                np.copyto(current, mean)
        self.active = False

    def finish(self) -> None:
        if self.active:
            self._finish()


class DistributedDataParallel(Module):
    """Train one copy of ``module`` per rank on different data, as one model: PyTorch's DDP.

    At wrap time every rank's parameters and buffers are replaced by rank 0's (after checking
    that all ranks built the same model: a difference stops every rank with a message naming
    it). Calling the wrapper calls ``module``; ``backward()`` on its output then leaves in each
    parameter's ``.grad`` the mean of that gradient over all ranks, so the same
    ``optimizer.step()`` keeps every copy bit-identical. With the same global batch split
    across ranks the result equals one process training on the whole batch (up to rounding).

    Gradients travel in buckets of at most ``bucket_cap_mb`` MB, each one fused flat buffer
    summed by one non-blocking ``MPI_Iallreduce`` started as soon as its gradients are ready.
    Under a single process (no MPI) the wrapper changes nothing.

    Args:
        module: the model (an ``nn.Module``).
        bucket_cap_mb: the largest bucket, in megabytes (PyTorch's default 25; the first
            bucket, holding the last layers' gradients, at most 1 MB).
        broadcast_buffers: copy rank 0's buffers (e.g. batch-norm running statistics) to every
            rank before each forward pass in training mode, as PyTorch does.
        overlap: start each bucket's allreduce during backward (``False``: all of them after
            backward, for measuring what the overlap gains).
        gradient_as_bucket_view: leave each averaged gradient in its bucket and make ``.grad``
            a view of it (PyTorch's option of that name): no copy back into separate ``.grad``
            arrays. The next backward writes into the same memory, so copy a ``.grad`` you want
            to keep past the next backward.
        shared_memory: when every rank runs on this machine, keep the buckets in one MPI
            shared-memory window and sum them there (about 4x faster than ``MPI_Iallreduce``
            on the development machine) instead of sending them as messages; ``False`` (or
            the environment variable ``CHAINRULE_DIST_SHM=0``) always uses the allreduce.
            Every rank must pass the same value.

    Attributes:
        module: the wrapped model (save ``ddp.module``: its ``state_dict`` has no ``module.``
            prefix).

    Example:
        >>> from chainrule import nn, optim
        >>> from chainrule.distributed import DistributedDataParallel
        >>> ddp = DistributedDataParallel(nn.Linear(3, 1))
        >>> opt = optim.SGD(ddp.parameters(), lr=0.1)
    """

    def __init__(
        self,
        module: Module,
        bucket_cap_mb: float = 25.0,
        broadcast_buffers: bool = True,
        overlap: bool = True,
        gradient_as_bucket_view: bool = False,
        shared_memory: bool = True,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}"
            )
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be > 0, got {bucket_cap_mb!r}")
        comm.init()
        self.module = module
        object.__setattr__(self, "broadcast_buffers", bool(broadcast_buffers))
        object.__setattr__(self, "_sync", True)
        comm.broadcast_parameters(module)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        object.__setattr__(self, "_submodules", [sub for _, sub in module.named_modules()])
        object.__setattr__(
            self,
            "_reducer",
            _Reducer(
                [p for _, p in named],
                [n for n, _ in named],
                int(bucket_cap_mb * 1024 * 1024),
                overlap,
                bool(gradient_as_bucket_view),
                bool(shared_memory),
            ),
        )

    def forward(self, *args, **kwargs):
        reducer = self._reducer
        if comm.world_size() == 1 or not is_grad_enabled() or not reducer.params:
            return self.module(*args, **kwargs)  # no backward to average
        if not self._sync:
            reducer.stand_down()  # this pass's gradients stay local (the hooks do nothing)
            return self.module(*args, **kwargs)
        if self.broadcast_buffers and self.module.training:
            buffers = self._buffers_now()
            if buffers:
                self._broadcast_buffers(buffers)
        reducer.prepare()  # the hooks of this pass's backward average the gradients
        return self.module(*args, **kwargs)

    def _buffers_now(self) -> list:
        """The module's buffers, read from the submodules found at wrap time (cheap per step)."""
        found = {}
        for sub in self._submodules:
            for b in sub._buffers.values():
                if b is not None:
                    found.setdefault(id(b), b)
        return list(found.values())

    def _broadcast_buffers(self, buffers) -> None:
        requests = []
        for b in buffers:
            array = np.asarray(b.array)
            requests.append(comm._state.comm.Ibcast([array, comm._mpi_dtype(array.dtype)], 0))
        for r in requests:
            comm.wait(r, "the buffer broadcast")

    @contextlib.contextmanager
    def no_sync(self):
        """Skip the averaging for the backward passes of forward passes made inside the block.

        As in PyTorch, for gradient accumulation: the gradients add up locally, and the
        first backward after the block averages the whole accumulated gradient.
        """
        previous = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", previous)

    def finish_gradient_synchronization(self) -> None:
        """Finish averaging this backward's gradients (unused parameters give ``.grad`` or zero).

        Needed only when some parameters got no gradient; otherwise backward already did it.
        Every rank must call it at the same point. Idempotent.
        """
        self._reducer.finish()

    def extra_repr(self) -> str:
        return f"world_size={comm.world_size()}, buckets={len(self._reducer.buckets)}"
