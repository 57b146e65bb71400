"""Where this process stands in an MPI job: the launcher's environment and the shared state.

The state object is the one place that holds the communicators, this rank's number and the
notices from other ranks; ``comm.py`` (start-up, collectives) and ``watchdog.py`` (failure
handling) both read and write it.
"""

from __future__ import annotations

import os

from chainrule.errors import ChainruleError

__all__ = ["DEFAULT_TIMEOUT", "DistributedError", "launch_env", "launched_under_mpi", "state"]

DEFAULT_TIMEOUT = 300.0


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
        self.node = None  # the ranks on this machine (shm.py), made when first needed
        self.timeout = DEFAULT_TIMEOUT
        self.peers: list = []  # (host, pid) per rank
        self.leaving_req = None
        self.leaving_buf = None
        self.left: dict = {}  # rank -> reason, for ranks that announced they are leaving
        self.failed = False
        self.launcher_signal = False
        self.blas_limit = None
        self.exiting = False


state = _State()


def launch_env() -> tuple[int, int, str] | None:
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
    if state.initialized:
        return state.size > 1
    found = launch_env()
    return found is not None and found[0] != 1
