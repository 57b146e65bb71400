"""Failure handling for MPI jobs: no rank waits forever for one that is gone.

Every wait on another rank goes through :func:`wait`, which polls the request instead of
blocking inside MPI:

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
import os
import signal
import socket
import sys
import time

from chainrule.distributed.state import state

__all__ = ["EXIT_LOST_RANK", "install_failure_handlers", "post_leaving_recv", "wait"]

EXIT_LOST_RANK = 1
_SPIN_SECONDS = 0.002  # poll without sleeping this long: an allreduce of ~1 MB takes ~0.5 ms
_TAG_LEAVING = 7301
_MESSAGE_BYTES = 1024


def post_leaving_recv() -> None:
    """Listen, on the control communicator, for the next rank that says it is leaving."""
    state.leaving_buf = bytearray(_MESSAGE_BYTES)
    state.leaving_req = state.ctrl.Irecv(
        [state.leaving_buf, state.MPI.BYTE], source=state.MPI.ANY_SOURCE, tag=_TAG_LEAVING
    )


def _poll_leaving() -> None:
    """Record every "I am leaving" notice that has arrived."""
    MPI = state.MPI
    while state.leaving_req is not None:
        status = MPI.Status()
        if not state.leaving_req.Test(status):
            return
        text = bytes(state.leaving_buf[: status.Get_count(MPI.BYTE)]).decode("utf-8", "replace")
        state.left[status.Get_source()] = text
        if len(state.left) >= state.size - 1:
            state.leaving_req = None  # everyone else has spoken: nothing more will come
        else:
            post_leaving_recv()


def _announce_leaving(reason: str) -> None:
    if state.ctrl is None:
        return
    data = reason.encode("utf-8")[: _MESSAGE_BYTES - 4]
    requests = []
    for peer in range(state.size):
        if peer != state.rank:
            try:
                requests.append(state.ctrl.Issend([data, state.MPI.BYTE], peer, _TAG_LEAVING))
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
        for r, (peer_host, pid) in enumerate(state.peers)
        if r != state.rank and peer_host == host and _process_gone(pid)
    ]


def _describe(peer: int) -> str:
    if peer < len(state.peers):
        host, pid = state.peers[peer]
        return f"rank {peer} (pid {pid} on {host})"
    return f"rank {peer}"


def _fail(message: str, status: int = EXIT_LOST_RANK) -> None:
    """Print one line, tell the other ranks, and end this process without MPI_Finalize."""
    if not state.failed:
        state.failed = True
        try:
            sys.stdout.flush()
        except Exception:
            pass
        line = f"chainrule.distributed: rank {state.rank} stops: {message}"
        sys.stderr.write(line.replace("\n", " ") + "\n")
        sys.stderr.flush()
        _announce_leaving(f"stopped: {message}")
    os._exit(status)


def _check_peers(what: str) -> None:
    """Stop this rank if another one is known to have left or died."""
    _poll_leaving()
    if state.left and not state.exiting:
        peer, reason = min(state.left.items())
        if reason.startswith("stopped: "):
            detail = reason[len("stopped: ") :]
            _fail(f"{_describe(peer)} stopped while this rank waited in {what}: {detail}")
        _fail(
            f"{_describe(peer)} exited while this rank waited in {what}; the ranks ran different "
            f"code or numbers of steps (see rank {peer}'s output above for why)"
        )
    lost = [p for p in _lost_peers() if p not in state.left]
    if lost:
        _fail(
            f"{', '.join(_describe(p) for p in lost)} was lost (the process is gone: killed or "
            f"crashed) while this rank waited in {what}"
        )
    if state.launcher_signal:
        _fail(f"the MPI launcher reported a failed rank while this rank was in {what}")


def wait(request, what: str) -> None:
    """Wait for one MPI request, watching for lost ranks and the deadline."""
    MPI = state.MPI
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
                time.sleep(0.00005 if not state.exiting else 0.005)
                now = time.monotonic()
            if now >= check_at:
                check_at = now + 0.05
                _check_peers(what)
                if now - start > state.timeout:
                    _fail(
                        f"the other ranks did not join {what} within {state.timeout:g} s (they "
                        f"are stuck or gone; set CHAINRULE_DIST_TIMEOUT for longer waits)"
                    )
    except MPI.Exception as err:
        _check_peers(what)
        _fail(f"MPI failed in {what}: {err.Get_error_string()}")


def _on_exception(hook):
    def excepthook(kind, value, tb):
        hook(kind, value, tb)
        if state.size > 1 and not state.failed:
            text = str(value).splitlines()[0] if str(value) else ""
            _fail(f"{kind.__name__}: {text}" if text else kind.__name__)

    return excepthook


def _on_exit() -> None:
    """At interpreter exit: say goodbye, wait for every other rank to do the same, finalize."""
    if state.size <= 1 or state.failed:
        return
    state.exiting = True
    _announce_leaving("finished")
    deadline = time.monotonic() + state.timeout
    while state.leaving_req is not None:
        _poll_leaving()
        stopped = [p for p, why in state.left.items() if why.startswith("stopped")]
        if stopped:
            os._exit(EXIT_LOST_RANK)  # another rank failed and said so: no MPI_Finalize
        lost = [p for p in _lost_peers() if p not in state.left]
        if lost or time.monotonic() > deadline:
            _fail(
                f"{', '.join(_describe(p) for p in lost)} was lost before the end of the run"
                if lost
                else f"the other ranks did not finish within {state.timeout:g} s of this one"
            )
        time.sleep(0.005)
    if any(why.startswith("stopped") for why in state.left.values()):
        os._exit(EXIT_LOST_RANK)


def _on_launcher_signal(signum, frame) -> None:
    # Say so at once: the launcher may end this process soon after its notice.
    state.launcher_signal = True
    if state.comm is not None and not state.exiting:
        _check_peers("its work")


def install_failure_handlers() -> None:
    sys.excepthook = _on_exception(sys.excepthook)
    atexit.register(_on_exit)
    try:
        signal.signal(signal.SIGUSR1, _on_launcher_signal)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGUSR1
        pass
