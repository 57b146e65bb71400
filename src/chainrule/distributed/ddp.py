"""DistributedDataParallel: one model per rank, gradients averaged across ranks after backward.

How the gradients travel (the design, measured in ``docs/distributed.md``):

* **Buckets.** The parameters that need gradients are grouped, in the reverse of their
  registration order (roughly the order backward produces their gradients), into buckets of
  at most ``bucket_cap_mb`` megabytes (the first one at most 1 MB, as in PyTorch), one dtype
  per bucket. Each bucket owns one flat buffer; a parameter's gradient is copied into its
  slice, and the whole bucket travels in one ``MPI_Iallreduce``: a few large messages, not
  one per tensor.
* **Overlap.** The engine offers no per-parameter hook, so while the wrapped module runs its
  forward pass each parameter is replaced by the output of an identity op (:class:`_GradReady`)
  whose ``backward`` the engine calls once with that parameter's complete gradient: the
  moment PyTorch's post-accumulate-grad hook marks. It copies the gradient into the bucket
  and, when the bucket is full, starts its non-blocking allreduce while backward goes on
  through the earlier layers. (A core hook ``Tensor.register_post_accumulate_grad_hook``
  would make the swap unnecessary.)
* **Wait.** The op of the last parameter to get its gradient waits for every bucket, then
  writes the means into ``p.grad_array``: when ``loss.backward()`` returns, the gradients are
  averaged, and ``optimizer.step()`` needs nothing more. When some parameters got no
  gradient (unused in this forward pass), call :meth:`finish_gradient_synchronization`
  before the step (``cr.fit`` does); they contribute their ``.grad`` so far (or zero).
* **Shared memory.** When every rank runs on this machine, the buckets live in an MPI
  shared-memory window and are summed there after the last gradient (``shm.py``), several
  times faster than the allreduce on one machine; otherwise they travel as above.
"""

from __future__ import annotations

import contextlib

import numpy as np

import chainrule.distributed.comm as comm
import chainrule.distributed.shm as shm
from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.nn.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class _GradReady(Function):
    """Identity on a parameter; its backward reports the parameter's full gradient to DDP."""

    label = "ddp"
    formulas = ("1",)
    grads_match_inputs = True

    def forward(self, x, reducer=None, index=0, generation=0):
        self.reducer, self.index, self.generation = reducer, index, generation
        return x

    def backward(self, grad):
        return (self.reducer.ready(self.index, grad, self.generation),)


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
        # Each parameter's part of the flat buffer, flat and in the parameter's shape.
        self.slots, self.views = {}, {}
        start = 0
        for i, shape in zip(self.indices, self.shapes):
            size = int(np.prod(shape))
            self.slots[i] = flat[start : start + size]
            self.views[i] = self.slots[i].reshape(shape)
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
        self.slots = [self.bucket_of[i].slots[i] for i in range(len(params))]
        self.views = [self.bucket_of[i].views[i] for i in range(len(params))]
        self.generation = 0
        self._reset()

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

    def prepare(self) -> int:
        """A forward pass begins: refuse a half-finished previous one, else start afresh."""
        if self.active and 0 < self.ready_count < len(self.params):
            missing = [self.names[i] for i, r in enumerate(self.is_ready) if not r]
            raise comm.DistributedError(
                "DistributedDataParallel: the previous backward() left parameters without a "
                f"gradient ({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}), so "
                "their averaging never finished; call ddp.finish_gradient_synchronization() "
                "after backward() when some parameters are unused, before optimizer.step()"
            )
        self._reset()
        self.generation += 1
        self.active = True
        return self.generation

    def ready(self, index: int, grad: np.ndarray, generation: int):
        """Take one parameter's gradient into its bucket; the engine gets nothing back.

        The parameter's ``.grad`` is written once, with the mean, when the round finishes
        (the last gradient of the pass, or :meth:`finish`): nothing is stored twice.
        """
        if generation != self.generation or not self.active:
            return grad  # the graph of an older forward pass: not averaged
        if self.is_ready[index]:
            raise comm.DistributedError(
                f"DistributedDataParallel: parameter {self.names[index]!r} got two gradients in "
                "one backward pass (the module was called twice before backward); call the "
                "wrapped module once per backward, or sum the outputs before one call"
            )
        self.is_ready[index] = True
        self.ready_count += 1
        slot = self.slots[index]
        current = self.params[index].grad_array
        if current is None:
            slot[...] = grad.reshape(-1)
        else:  # a gradient accumulated before (e.g. under no_sync()): the total is averaged
            np.add(current.reshape(-1), grad.reshape(-1), out=slot)
        self.bucket_of[index].pending -= 1
        if self.ready_count < len(self.params):
            self._start_ready_buckets()
        else:
            self._finish()  # the last gradient: finish every bucket, write every mean
        return None

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
                self.slots[i][...] = 0 if grad is None else np.asarray(grad).reshape(-1)
                self.bucket_of[i].pending -= 1
        self.ready_count = len(self.params)
        self._start_ready_buckets()
        if self.shared is not None:
            self.shared.sum(range(len(self.buckets)))
        for bucket in self.buckets:
            if bucket.request is not None:
                comm.wait(bucket.request, "the gradient allreduce")
                bucket.request = None
            if self.as_view:
                np.divide(bucket.flat, self.world, out=bucket.flat)
        # The division by the number of ranks is fused into the copy to .grad: one pass
        # (with as_view, done in place above and .grad becomes the bucket's view).
        for i, param in enumerate(self.params):
            total = self.views[i]
            current = param.grad_array
            if current is None and not self.is_ready[i] and not total.any():
                continue  # unused on every rank: stays None, as in PyTorch
            if self.as_view:
                param.grad_array = total
            elif current is None:
                param.grad_array = np.divide(total, self.world)
            else:
                np.divide(total, self.world, out=current)
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
            a view of it (PyTorch's option of that name): no separate ``.grad`` arrays, the
            division done in place. The next backward writes into the same memory, so copy a
            ``.grad`` you want to keep past the next backward.
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
        # Where each parameter is registered, to swap it for the forward pass.
        owners = {}
        for _prefix, sub in module.named_modules():
            for name, p in sub._parameters.items():
                if p is not None:
                    owners.setdefault(id(p), []).append((sub, name))
        # Per parameter, the (submodule, name) slots to swap it in for the forward pass.
        object.__setattr__(
            self,
            "_slots",
            [owners.get(id(p), []) for _, p in named],
        )
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
        if comm.world_size() == 1 or not self._sync or not is_grad_enabled() or not reducer.params:
            return self.module(*args, **kwargs)
        if self.broadcast_buffers and self.module.training:
            buffers = self._buffers_now()
            if buffers:
                self._broadcast_buffers(buffers)
        generation = reducer.prepare()
        slots = self._slots
        try:
            for index, param in enumerate(reducer.params):
                stand_in = _GradReady.apply(
                    param, reducer=reducer, index=index, generation=generation
                )
                for sub, name in slots[index]:
                    sub._parameters[name] = stand_in
            return self.module(*args, **kwargs)
        finally:
            for index, param in enumerate(reducer.params):
                for sub, name in slots[index]:
                    sub._parameters[name] = param

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
