"""The MPI side of data-parallel training: start-up, collectives, and failure handling.

One process per rank, started by an MPI launcher (``mpiexec``, ``srun``). :func:`init` reads the
launcher's environment; without one the run is a single process of world size 1 and ``mpi4py``
is never imported, so every function here also works (as a no-op) in a plain ``python`` run.

Failure handling (what happens when a rank is lost) lives in ``watchdog.py``, the launcher's
environment and the shared state in ``state.py``, and the byte encoding of small values in
``wire.py``.
"""

from __future__ import annotations

import os
import socket

import numpy as np

from chainrule.distributed.state import (
    DEFAULT_TIMEOUT,
    DistributedError,
    launch_env,
    launched_under_mpi,
    state,
)
from chainrule.distributed.watchdog import (  # EXIT_LOST_RANK: its old path, comm
    EXIT_LOST_RANK,  # noqa: F401
    install_failure_handlers,
    post_leaving_recv,
)
from chainrule.distributed.watchdog import wait as _wait
from chainrule.distributed.wire import from_bytes, to_bytes

__all__ = [
    "DistributedError",
    "allgather_object",
    "allreduce_mean",
    "barrier",
    "broadcast_object",
    "broadcast_parameters",
    "init",
    "is_initialized",
    "launched_under_mpi",
    "rank",
    "world_size",
]

_state = state  # the name ddp.py reads the communicators through


# ---- start-up -----------------------------------------------------------------------------
def init(blas_threads: int | None = 1, timeout: float | None = None) -> None:
    """Join the job the MPI launcher started (world size 1 without one); safe to call twice.

    Args:
        blas_threads: BLAS threads per rank when several ranks run (default 1). Ranks that
            each use every core for their matrix products fight over the cores: two ranks with
            two BLAS threads each on two cores were measured 5–10× slower than with one each.
            ``None`` leaves NumPy's BLAS as it is. A single process is never changed.
        timeout: the longest a rank waits for the others in one collective before it stops
            with an error (default ``CHAINRULE_DIST_TIMEOUT`` or 300 s).

    Raises:
        DistributedError: the launcher's environment is there but MPI cannot start from it
            (mpi4py missing, a launcher of another MPI library, a broken environment).

    Example:
        >>> from chainrule import distributed as dist
        >>> dist.init()
        >>> dist.rank(), dist.world_size()  # under plain python
        (0, 1)
    """
    if blas_threads is not None and (
        isinstance(blas_threads, bool)
        or not isinstance(blas_threads, (int, np.integer))
        or blas_threads < 1
    ):  # checked in one process too, so a script tried alone is right under mpiexec
        raise DistributedError(f"blas_threads must be an int >= 1 or None, got {blas_threads!r}")
    if state.initialized:
        return
    if timeout is None:
        raw = os.environ.get("CHAINRULE_DIST_TIMEOUT", "")
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT
        except ValueError:
            raise DistributedError(
                f"CHAINRULE_DIST_TIMEOUT={raw!r} is not a number of seconds"
            ) from None
    if not timeout > 0:
        raise DistributedError(f"timeout must be > 0 seconds, got {timeout!r}")
    state.timeout = float(timeout)
    found = launch_env()
    if found is None or found[0] == 1:
        state.initialized = True  # a single process: no MPI at all
        return
    size, _, variable = found
    MPI = _import_mpi(variable, size)
    world = MPI.COMM_WORLD
    if size and world.Get_size() != size:
        library = " ".join(MPI.Get_library_version().splitlines()[0].split())
        raise DistributedError(
            f"the launcher's environment says {size} processes ({variable}={size}) but MPI sees "
            f"a world of {world.Get_size()}: mpiexec and mpi4py come from different MPI "
            f"libraries (mpi4py uses {library}), or {variable} is left over from another job; "
            f"launch with the mpiexec of mpi4py's library (`python -m mpi4py --mpi-lib-version` "
            f"names it)"
        )
    state.MPI = MPI
    state.comm = world.Dup()
    state.ctrl = world.Dup()
    for comm in (state.comm, state.ctrl):
        comm.Set_errhandler(MPI.ERRORS_RETURN)
    state.rank, state.size = world.Get_rank(), world.Get_size()
    if blas_threads is not None:
        _pin_blas(int(blas_threads))
    post_leaving_recv()
    state.initialized = True
    install_failure_handlers()
    state.peers = allgather_object((socket.gethostname(), os.getpid()))


def _import_mpi(variable: str, size: int):
    try:
        from mpi4py import MPI
    except ImportError:
        raise DistributedError(
            f"this process was started by an MPI launcher ({variable}={size}) but mpi4py is not "
            f'installed: pip install "chainrule[mpi]" (mpi4py and the mpich wheel)'
        ) from None
    except Exception as err:  # MPI_Init failed: a broken PMI connection, a missing libmpi
        raise DistributedError(
            f"MPI could not start ({type(err).__name__}: {err}); run the job with the mpiexec "
            f"of the MPI library mpi4py uses, e.g. `mpiexec -n 2 python train.py`"
        ) from None
    return MPI


def _pin_blas(threads: int) -> None:
    if threads < 1:
        raise DistributedError(f"blas_threads must be >= 1 or None, got {threads}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import warnings

        warnings.warn(
            "chainrule.distributed: threadpoolctl is missing, so each rank's BLAS keeps all its "
            'threads (ranks will fight over cores); pip install "chainrule[mpi]", or set '
            "OMP_NUM_THREADS=1 before starting the job",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    state.blas_limit = threadpool_limits(limits=threads, user_api="blas")


# ---- queries --------------------------------------------------------------------------------
def is_initialized() -> bool:
    return state.initialized


def rank() -> int:
    """This process's rank, 0 … world_size() − 1 (0 without MPI). Calls :func:`init`."""
    init()
    return state.rank


def world_size() -> int:
    """The number of ranks (1 without MPI). Calls :func:`init`."""
    init()
    return state.size


# ---- collectives ----------------------------------------------------------------------------
def barrier() -> None:
    """Wait until every rank reaches this point."""
    init()
    if state.size > 1:
        _wait(state.comm.Ibarrier(), "barrier()")


def allgather_object(obj) -> list:
    """Every rank's ``obj`` (numbers, strings, arrays, lists/tuples/dicts), in rank order."""
    init()
    if state.size == 1:  # sent through the wire format, so that one process refuses and
        return [from_bytes(to_bytes(obj))]  # converts exactly what several ranks would
    MPI = state.MPI
    data = to_bytes(obj)
    sizes = np.zeros(state.size, dtype=np.int64)
    mine = np.array([data.size], dtype=np.int64)
    _wait(state.comm.Iallgather([mine, MPI.INT64_T], [sizes, MPI.INT64_T]), "allgather")
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _wait(
        state.comm.Iallgatherv([data, MPI.BYTE], [out, (sizes, offsets), MPI.BYTE]),
        "allgather",
    )
    return [from_bytes(out[o : o + s]) for o, s in zip(offsets, sizes)]


def broadcast_object(obj, root: int = 0):
    """``obj`` from rank ``root`` (as :func:`allgather_object` takes), on every rank."""
    init()
    if state.size == 1:
        return from_bytes(to_bytes(obj))  # as allgather_object: what several ranks would get
    MPI = state.MPI
    data = to_bytes(obj) if state.rank == root else None
    size = np.array([0 if data is None else data.size], dtype=np.int64)
    _wait(state.comm.Ibcast([size, MPI.INT64_T], root=root), "broadcast")
    buf = data.copy() if data is not None else np.empty(int(size[0]), dtype=np.uint8)
    _wait(state.comm.Ibcast([buf, MPI.BYTE], root=root), "broadcast")
    return from_bytes(buf)


def _mpi_dtype(dtype: np.dtype):
    MPI = state.MPI
    try:
        return MPI._typedict[np.dtype(dtype).char]
    except KeyError:
        raise DistributedError(f"MPI cannot send arrays of dtype {dtype}") from None


def check_same(what: str, value, describe=None) -> None:
    """Raise :class:`DistributedError` on every rank unless ``value`` is equal on all of them.

    ``describe(mine, theirs)`` may return a sentence saying what differs.
    """
    values = allgather_object(value)
    for r, theirs in enumerate(values):
        if theirs != values[0]:
            detail = describe(values[0], theirs) if describe else None
            raise DistributedError(
                f"rank {r} was started with a different {what} than rank 0"
                + (f": {detail}" if detail else "")
                + "; every rank must run the same script with the same options and data"
            )


def _model_signature(model) -> list:
    entries = [(n, tuple(p.shape), str(p.dtype)) for n, p in model.named_parameters()]
    entries += [(f"{n} (buffer)", tuple(b.shape), str(b.dtype)) for n, b in model.named_buffers()]
    return entries


def _signature_difference(mine: list, theirs: list) -> str:
    names0 = [e[0] for e in mine]
    names1 = [e[0] for e in theirs]
    if names0 != names1:
        only0 = [n for n in names0 if n not in names1]
        only1 = [n for n in names1 if n not in names0]
        return f"parameters only on rank 0: {only0}, only on that rank: {only1}"
    for (name, shape0, dtype0), (_, shape1, dtype1) in zip(mine, theirs):
        if shape0 != shape1:
            return f"{name!r} has shape {shape1} there but {shape0} on rank 0"
        if dtype0 != dtype1:
            return f"{name!r} has dtype {dtype1} there but {dtype0} on rank 0"
    return "the models differ"


def check_same_model(model) -> None:
    """Raise :class:`DistributedError` unless every rank's model has the same parameters."""
    check_same("model", _model_signature(model), _signature_difference)


def broadcast_parameters(model, root: int = 0) -> None:
    """Copy rank ``root``'s parameters and buffers into every rank's ``model``, in place.

    Refuses (on every rank, before anything is copied) models whose parameter names, shapes
    or dtypes differ between ranks, with a message naming the first difference.
    """
    init()
    if state.size == 1:
        return
    check_same_model(model)
    requests = []
    tensors = [p for _, p in model.named_parameters()] + [b for _, b in model.named_buffers()]
    for t in tensors:
        array = np.asarray(t.array)
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise DistributedError("broadcast_parameters needs contiguous, writeable parameters")
        requests.append(state.comm.Ibcast([array, _mpi_dtype(array.dtype)], root=root))
    for request in requests:
        _wait(request, "broadcast_parameters()")


def _flat_reduce(arrays: list, what: str) -> list:
    """Sum ``arrays`` over ranks through one flat buffer per dtype; the sums in input order."""
    MPI = state.MPI
    by_dtype: dict = {}
    for i, a in enumerate(arrays):
        by_dtype.setdefault(a.dtype, []).append(i)
    out: list = [None] * len(arrays)
    for dtype, indices in by_dtype.items():
        total = sum(arrays[i].size for i in indices)
        flat = np.empty(total, dtype=dtype)
        offset = 0
        for i in indices:
            n = arrays[i].size
            flat[offset : offset + n] = arrays[i].reshape(-1)
            offset += n
        _wait(state.comm.Iallreduce(MPI.IN_PLACE, [flat, _mpi_dtype(dtype)], op=MPI.SUM), what)
        offset = 0
        for i in indices:
            n = arrays[i].size
            out[i] = flat[offset : offset + n].reshape(arrays[i].shape)
            offset += n
    return out


def allreduce_mean(arrays):
    """The mean over ranks of each array (one fused allreduce per dtype); new arrays.

    Args:
        arrays: an array, a tensor, or a list of them (the same shapes on every rank).

    Returns:
        The means, as an array or a list of arrays matching the input.

    Example:
        >>> import numpy as np
        >>> from chainrule import distributed as dist
        >>> dist.allreduce_mean([np.ones(3)])[0].tolist()  # one rank: the array itself
        [1.0, 1.0, 1.0]
    """
    init()
    single = not isinstance(arrays, (list, tuple))
    items = [arrays] if single else list(arrays)
    plain = []
    for a in items:
        a = np.asarray(a)
        if a.dtype.kind not in "fc":
            a = a.astype(np.float64)
        plain.append(a)
    if state.size == 1:
        means = [a.copy() for a in plain]
    else:
        means = _flat_reduce(plain, "allreduce_mean()")
        for m in means:
            np.divide(m, state.size, out=m)
    return means[0] if single else means


def allreduce_sum(arrays: list) -> list:
    """The sum over ranks of each array (fused per dtype); new arrays."""
    init()
    plain = [np.asarray(a) for a in arrays]
    if state.size == 1:
        return [a.copy() for a in plain]
    return _flat_reduce(plain, "allreduce")


# ---- used by DistributedDataParallel --------------------------------------------------------
def start_allreduce_sum(flat: np.ndarray):
    """Start a non-blocking in-place sum of ``flat`` over ranks; finish with :func:`wait`."""
    MPI = state.MPI
    return state.comm.Iallreduce(MPI.IN_PLACE, [flat, _mpi_dtype(flat.dtype)], op=MPI.SUM)


def wait(request, what: str = "gradient allreduce") -> None:
    _wait(request, what)


def test(request) -> bool:
    return bool(request.Test())
