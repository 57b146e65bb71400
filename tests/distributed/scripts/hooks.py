"""DDP's post-accumulate-grad hooks: registered once at wrap time, removed with the DDP.

Checks on 2 ranks: each parameter carries one hook while a DDP wraps it and none once the DDP
is dropped (no garbage-collector pass needed); a model wrapped again after that is averaged
once, not twice; backward passes of forward passes that did not go through the wrapper (the
bare module, or a wrapper pass whose backward never came before a ``no_sync()`` pass) leave
the local gradients alone. Prints OK on rank 0.
"""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn
from chainrule.autograd.hooks import hooks_of

dist.init()
rank = dist.rank()
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
x = cr.tensor(np.random.default_rng(rank).normal(size=(5, 3)), dtype="float64")


def hook_count():
    return [0 if hooks_of(p) is None else len(hooks_of(p).post) for p in model.parameters()]


def local_grads():
    model.zero_grad()
    (model(x) ** 2).sum().backward()
    return {n: np.asarray(p.grad).copy() for n, p in model.named_parameters()}


def check_mean(what):
    everyone = dist.allgather_object(mine)
    for name, p in model.named_parameters():
        expected = np.mean([g[name] for g in everyone], axis=0)
        np.testing.assert_allclose(np.asarray(p.grad), expected, rtol=1e-12, err_msg=what)


ddp = dist.DistributedDataParallel(model)
assert hook_count() == [1, 1, 1, 1], hook_count()
mine = local_grads()  # the bare module under a live DDP: its gradients stay local
model.zero_grad()
(ddp(x) ** 2).sum().backward()
check_mean("first DDP")
del ddp  # no cycle keeps the DDP: its hooks go at once
assert hook_count() == [0, 0, 0, 0], hook_count()

ddp = dist.DistributedDataParallel(model)  # wrapped again: one hook each, averaged once
assert hook_count() == [1, 1, 1, 1], hook_count()
mine = local_grads()
model.zero_grad()
(ddp(x) ** 2).sum().backward()
check_mean("second DDP")

# a wrapper pass whose backward never comes, then a no_sync() pass: the latter stays local
mine = local_grads()
model.zero_grad()
ddp(x)
with ddp.no_sync():
    (ddp(x) ** 2).sum().backward()
for name, p in model.named_parameters():
    np.testing.assert_array_equal(np.asarray(p.grad), mine[name])
if rank == 0:
    print("OK")
