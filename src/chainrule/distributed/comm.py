"""The MPI side of data-parallel training: start-up, collectives, and failure handling.

One process per rank, started by an MPI launcher (``mpiexec``, ``srun``). :func:`init` reads the
launcher's environment; without one the run is a single process of world size 1 and ``mpi4py``
is never imported, so every function here also works (as a no-op) in a plain ``python`` run.

Every wait on another rank goes through :func:`_wait`, which polls the request instead of
blocking inside MPI, so a rank never waits forever:

* a rank that stops with an exception, or exits while the others still train, tells the others
  on a separate control communicator before it goes; they stop with one line naming it;
* a rank that dies without a word (SIGKILL, out of memory) is noticed by its neighbours on the
  same machine (its process is gone), or when the launcher signals the failure (MPICH's
  ``mpiexec -disable-auto-cleanup`` sends SIGUSR1); by default ``mpiexec`` kills the whole job;
* anything else is caught by a deadline (``timeout``, default 300 s, or the environment
  variable ``CHAINRULE_DIST_TIMEOUT``).

A rank that stops this way prints ``chainrule.distributed: rank R stops: ...`` on stderr and
exits with status 1 without calling ``MPI_Finalize`` (which would wait for the lost rank).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import signal
import socket
import sys
import time

import numpy as np

from chainrule.errors import ChainruleError

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

EXIT_LOST_RANK = 1
DEFAULT_TIMEOUT = 300.0
_SPIN_SECONDS = 0.002  # poll without sleeping this long: an allreduce of ~1 MB takes ~0.5 ms
_TAG_LEAVING = 7301
_MESSAGE_BYTES = 1024


class DistributedError(ChainruleError, RuntimeError):
    """Ranks disagree (model, data, options), the MPI environment is broken, or a rank is lost."""


class _State:
    def __init__(self):
        self.initialized = False
        self.rank = 0
        self.size = 1
        self.MPI = None
        self.comm = None  # gradients and data
        self.ctrl = None  # "I am leaving" notices, apart from the data traffic
        self.timeout = DEFAULT_TIMEOUT
        self.peers: list = []  # (host, pid) per rank
        self.leaving_req = None
        self.leaving_buf = None
        self.left: dict = {}  # rank -> reason, for ranks that announced they are leaving
        self.failed = False
        self.launcher_signal = False
        self.blas_limit = None
        self.exiting = False


_state = _State()


# ---- the launcher's environment -------------------------------------------------------------
def _launch_env() -> tuple[int, int, str] | None:
    """``(size, rank, variable)`` from an MPI launcher's environment, or None outside one."""
    env = os.environ
    for size_var, rank_var in (
        ("PMI_SIZE", "PMI_RANK"),  # MPICH's hydra, Intel MPI, srun --mpi=pmi2
        ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),  # Open MPI's mpirun
        ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),  # MVAPICH
    ):
        if size_var in env:
            try:
                return int(env[size_var]), int(env.get(rank_var, "0")), size_var
            except ValueError:
                raise DistributedError(
                    f"the MPI launcher set {size_var}={env[size_var]!r}, not a number; the "
                    f"environment is broken (start the job with mpiexec or srun)"
                ) from None
    if "PMIX_RANK" in env:  # srun --mpi=pmix, PMIx launchers
        size = env.get("SLURM_STEP_NUM_TASKS") or env.get("SLURM_NTASKS") or "0"
        return int(size) if size.isdigit() else 0, int(env["PMIX_RANK"]), "PMIX_RANK"
    return None


def launched_under_mpi() -> bool:
    """Whether an MPI launcher started this process as one of several ranks."""
    if _state.initialized:
        return _state.size > 1
    found = _launch_env()
    return found is not None and found[0] != 1


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
    if _state.initialized:
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
    _state.timeout = float(timeout)
    found = _launch_env()
    if found is None or found[0] == 1:
        _state.initialized = True  # a single process: no MPI at all
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
    _state.MPI = MPI
    _state.comm = world.Dup()
    _state.ctrl = world.Dup()
    for comm in (_state.comm, _state.ctrl):
        comm.Set_errhandler(MPI.ERRORS_RETURN)
    _state.rank, _state.size = world.Get_rank(), world.Get_size()
    if blas_threads is not None:
        _pin_blas(int(blas_threads))
    _post_leaving_recv()
    _state.initialized = True
    _install_failure_handlers()
    _state.peers = allgather_object((socket.gethostname(), os.getpid()))


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
    _state.blas_limit = threadpool_limits(limits=threads, user_api="blas")


# ---- failure handling -----------------------------------------------------------------------
def _post_leaving_recv() -> None:
    _state.leaving_buf = bytearray(_MESSAGE_BYTES)
    _state.leaving_req = _state.ctrl.Irecv(
        [_state.leaving_buf, _state.MPI.BYTE], source=_state.MPI.ANY_SOURCE, tag=_TAG_LEAVING
    )


def _poll_leaving() -> None:
    """Record every "I am leaving" notice that has arrived."""
    MPI = _state.MPI
    while _state.leaving_req is not None:
        status = MPI.Status()
        if not _state.leaving_req.Test(status):
            return
        text = bytes(_state.leaving_buf[: status.Get_count(MPI.BYTE)]).decode("utf-8", "replace")
        _state.left[status.Get_source()] = text
        if len(_state.left) >= _state.size - 1:
            _state.leaving_req = None  # everyone else has spoken: nothing more will come
        else:
            _post_leaving_recv()


def _announce_leaving(reason: str) -> None:
    if _state.ctrl is None:
        return
    data = reason.encode("utf-8")[: _MESSAGE_BYTES - 4]
    requests = []
    for peer in range(_state.size):
        if peer != _state.rank:
            try:
                requests.append(_state.ctrl.Issend([data, _state.MPI.BYTE], peer, _TAG_LEAVING))
            except Exception:  # a peer already gone: tell the others anyway
                pass
    deadline = time.monotonic() + 1.0  # give the notices a moment to leave; never block
    pending = list(requests)
    while pending and time.monotonic() < deadline:
        try:
            pending = [r for r in pending if not r.Test()]
        except Exception:
            break
        time.sleep(0.001)


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # exited, not reaped
    except (OSError, IndexError):
        return False


def _lost_peers() -> list[int]:
    """Ranks on this machine whose process is gone."""
    host = socket.gethostname()
    return [
        r
        for r, (peer_host, pid) in enumerate(_state.peers)
        if r != _state.rank and peer_host == host and _process_gone(pid)
    ]


def _describe(peer: int) -> str:
    if peer < len(_state.peers):
        host, pid = _state.peers[peer]
        return f"rank {peer} (pid {pid} on {host})"
    return f"rank {peer}"


def _fail(message: str, status: int = EXIT_LOST_RANK) -> None:
    """Print one line, tell the other ranks, and end this process without MPI_Finalize."""
    if not _state.failed:
        _state.failed = True
        try:
            sys.stdout.flush()
        except Exception:
            pass
        line = f"chainrule.distributed: rank {_state.rank} stops: {message}"
        sys.stderr.write(line.replace("\n", " ") + "\n")
        sys.stderr.flush()
        _announce_leaving(f"stopped: {message}")
    os._exit(status)


def _check_peers(what: str) -> None:
    """Stop this rank if another one is known to have left or died."""
    _poll_leaving()
    if _state.left and not _state.exiting:
        peer, reason = min(_state.left.items())
        if reason.startswith("stopped: "):
            detail = reason[len("stopped: ") :]
            _fail(f"{_describe(peer)} stopped while this rank waited in {what}: {detail}")
        _fail(
            f"{_describe(peer)} exited while this rank waited in {what}; the ranks ran different "
            f"code or numbers of steps (see rank {peer}'s output above for why)"
        )
    lost = [p for p in _lost_peers() if p not in _state.left]
    if lost:
        _fail(
            f"{', '.join(_describe(p) for p in lost)} was lost (the process is gone: killed or "
            f"crashed) while this rank waited in {what}"
        )
    if _state.launcher_signal:
        _fail(f"the MPI launcher reported a failed rank while this rank was in {what}")


def _wait(request, what: str) -> None:
    """Wait for one MPI request, watching for lost ranks and the deadline."""
    MPI = _state.MPI
    try:
        if request.Test():
            return
        start = time.monotonic()
        check_at = start + 0.05
        spin_until = start + _SPIN_SECONDS
        while True:
            if request.Test():
                return
            now = time.monotonic()
            if now > spin_until:  # a long wait: sleep between polls, leave the core to others
                time.sleep(0.00005 if not _state.exiting else 0.005)
                now = time.monotonic()
            if now >= check_at:
                check_at = now + 0.05
                _check_peers(what)
                if now - start > _state.timeout:
                    _fail(
                        f"the other ranks did not join {what} within {_state.timeout:g} s (they "
                        f"are stuck or gone; set CHAINRULE_DIST_TIMEOUT for longer waits)"
                    )
    except MPI.Exception as err:
        _check_peers(what)
        _fail(f"MPI failed in {what}: {err.Get_error_string()}")


def _on_exception(hook):
    def excepthook(kind, value, tb):
        hook(kind, value, tb)
        if _state.size > 1 and not _state.failed:
            text = str(value).splitlines()[0] if str(value) else ""
            _fail(f"{kind.__name__}: {text}" if text else kind.__name__)

    return excepthook


def _on_exit() -> None:
    """At interpreter exit: say goodbye, wait for every other rank to do the same, finalize."""
    if _state.size <= 1 or _state.failed:
        return
    _state.exiting = True
    _announce_leaving("finished")
    deadline = time.monotonic() + _state.timeout
    while _state.leaving_req is not None:
        _poll_leaving()
        stopped = [p for p, why in _state.left.items() if why.startswith("stopped")]
        if stopped:
            os._exit(EXIT_LOST_RANK)  # another rank failed and said so: no MPI_Finalize
        lost = [p for p in _lost_peers() if p not in _state.left]
        if lost or time.monotonic() > deadline:
            _fail(
                f"{', '.join(_describe(p) for p in lost)} was lost before the end of the run"
                if lost
                else f"the other ranks did not finish within {_state.timeout:g} s of this one"
            )
        time.sleep(0.005)
    if any(why.startswith("stopped") for why in _state.left.values()):
        os._exit(EXIT_LOST_RANK)


def _on_launcher_signal(signum, frame) -> None:
    # Say so at once: the launcher may end this process soon after its notice.
    _state.launcher_signal = True
    if _state.comm is not None and not _state.exiting:
        _check_peers("its work")


def _install_failure_handlers() -> None:
    sys.excepthook = _on_exception(sys.excepthook)
    atexit.register(_on_exit)
    try:
        signal.signal(signal.SIGUSR1, _on_launcher_signal)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGUSR1
        pass


# ---- queries --------------------------------------------------------------------------------
def is_initialized() -> bool:
    return _state.initialized


def rank() -> int:
    """This process's rank, 0 … world_size() − 1 (0 without MPI). Calls :func:`init`."""
    init()
    return _state.rank


def world_size() -> int:
    """The number of ranks (1 without MPI). Calls :func:`init`."""
    init()
    return _state.size


# ---- small values as bytes (JSON; arrays as base64: nothing that runs code on load) ----------
def _encode(value):
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {
            "__array__": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"chainrule.distributed sends numbers, strings, arrays and lists/tuples/dicts of them, "
        f"not {type(value).__name__}"
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            raw = base64.b64decode(value["data"])
            return (
                np.frombuffer(raw, dtype=np.dtype(value["__array__"]))
                .reshape(value["shape"])
                .copy()
            )
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {_decode(k): _decode(v) for k, v in value["__dict__"]}
    return value


def _to_bytes(value) -> np.ndarray:
    text = json.dumps(_encode(value), separators=(",", ":"))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _from_bytes(data: np.ndarray):
    return _decode(json.loads(data.tobytes().decode("utf-8")))


# ---- collectives ----------------------------------------------------------------------------
def barrier() -> None:
    """Wait until every rank reaches this point."""
    init()
    if _state.size > 1:
        _wait(_state.comm.Ibarrier(), "barrier()")


def allgather_object(obj) -> list:
    """Every rank's ``obj`` (numbers, strings, arrays, lists/tuples/dicts), in rank order."""
    init()
    if _state.size == 1:
        return [obj]
    MPI = _state.MPI
    data = _to_bytes(obj)
    sizes = np.zeros(_state.size, dtype=np.int64)
    mine = np.array([data.size], dtype=np.int64)
    _wait(_state.comm.Iallgather([mine, MPI.INT64_T], [sizes, MPI.INT64_T]), "allgather")
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _wait(
        _state.comm.Iallgatherv([data, MPI.BYTE], [out, (sizes, offsets), MPI.BYTE]),
        "allgather",
    )
    return [_from_bytes(out[o : o + s]) for o, s in zip(offsets, sizes)]


def broadcast_object(obj, root: int = 0):
    """``obj`` from rank ``root`` (as :func:`allgather_object` takes), on every rank."""
    init()
    if _state.size == 1:
        return obj
    MPI = _state.MPI
    data = _to_bytes(obj) if _state.rank == root else None
    size = np.array([0 if data is None else data.size], dtype=np.int64)
    _wait(_state.comm.Ibcast([size, MPI.INT64_T], root=root), "broadcast")
    buf = data.copy() if data is not None else np.empty(int(size[0]), dtype=np.uint8)
    _wait(_state.comm.Ibcast([buf, MPI.BYTE], root=root), "broadcast")
    return _from_bytes(buf)


def _mpi_dtype(dtype: np.dtype):
    MPI = _state.MPI
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
    if _state.size == 1:
        return
    check_same_model(model)
    requests = []
    tensors = [p for _, p in model.named_parameters()] + [b for _, b in model.named_buffers()]
    for t in tensors:
        array = np.asarray(t.array)
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise DistributedError("broadcast_parameters needs contiguous, writeable parameters")
        requests.append(_state.comm.Ibcast([array, _mpi_dtype(array.dtype)], root=root))
    for request in requests:
        _wait(request, "broadcast_parameters()")


def _flat_reduce(arrays: list, what: str) -> list:
    """Sum ``arrays`` over ranks through one flat buffer per dtype; the sums in input order."""
    MPI = _state.MPI
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
        _wait(_state.comm.Iallreduce(MPI.IN_PLACE, [flat, _mpi_dtype(dtype)], op=MPI.SUM), what)
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
    if _state.size == 1:
        means = [a.copy() for a in plain]
    else:
        means = _flat_reduce(plain, "allreduce_mean()")
        for m in means:
            np.divide(m, _state.size, out=m)
    return means[0] if single else means


def allreduce_sum(arrays: list) -> list:
    """The sum over ranks of each array (fused per dtype); new arrays."""
    init()
    plain = [np.asarray(a) for a in arrays]
    if _state.size == 1:
        return [a.copy() for a in plain]
    return _flat_reduce(plain, "allreduce")


# ---- used by DistributedDataParallel --------------------------------------------------------
def start_allreduce_sum(flat: np.ndarray):
    """Start a non-blocking in-place sum of ``flat`` over ranks; finish with :func:`wait`."""
    MPI = _state.MPI
    return _state.comm.Iallreduce(MPI.IN_PLACE, [flat, _mpi_dtype(flat.dtype)], op=MPI.SUM)


def wait(request, what: str = "gradient allreduce") -> None:
    _wait(request, what)


def test(request) -> bool:
    return bool(request.Test())
