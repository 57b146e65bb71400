"""Data-parallel training over MPI: one process per rank, gradients averaged across ranks.

``mpiexec -n 4 python train.py`` starts four copies of a script; each trains the same model on
its own share of the data (:class:`DistributedSampler`), and :class:`DistributedDataParallel`
averages the gradients after every backward pass so the copies stay identical. Without an MPI
launcher everything here works as a single process of world size 1 and ``mpi4py`` is never
imported. Install the MPI parts with ``pip install "chainrule[mpi]"`` (mpi4py and the mpich
wheel: no system packages). See ``docs/distributed.md``.

Example (``mpiexec -n 2 python train.py``)::

    import chainrule as cr
    from chainrule import distributed as dist, nn, optim
    from chainrule.data import DataLoader, TensorDataset

    dist.init()                                   # one BLAS thread per rank
    model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(4, 16), nn.ReLU(),
                                                       nn.Linear(16, 3)))
    data = TensorDataset(X, y)
    sampler = dist.DistributedSampler(data, seed=0)
    loader = DataLoader(data, batch_size=32, sampler=sampler)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(10):
        sampler.set_epoch(epoch)
        for x, t in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), t).backward()   # averaged across ranks
            opt.step()
    if dist.rank() == 0:
        cr.save(model.module, "model.safetensors")
"""

from chainrule.distributed.comm import (
    DistributedError,
    allgather_object,
    allreduce_mean,
    allreduce_sum,
    barrier,
    broadcast_object,
    broadcast_parameters,
    init,
    is_initialized,
    launched_under_mpi,
    rank,
    world_size,
)
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.sampler import DistributedSampler

__all__ = [
    "DistributedDataParallel",
    "DistributedError",
    "DistributedSampler",
    "allgather_object",
    "allreduce_mean",
    "allreduce_sum",
    "barrier",
    "broadcast_object",
    "broadcast_parameters",
    "init",
    "is_initialized",
    "launched_under_mpi",
    "rank",
    "world_size",
]
