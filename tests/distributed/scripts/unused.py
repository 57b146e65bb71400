"""DDP with a layer only rank 0 uses (finish_gradient_synchronization), and no_sync().

Prints OK on rank 0 when the averaged gradients equal the mean of the ranks' own gradients
(an unused layer counting as zero) and a forward pass after an unfinished round is refused.
With the argument ``view``, the same with ``gradient_as_bucket_view=True``.
"""

import sys

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 4)
        self.extra = nn.Linear(4, 4)

    def forward(self, x, use_extra):
        h = self.first(x).tanh()
        return self.extra(h) if use_extra else h


dist.init()
rank = dist.rank()
cr.manual_seed(0)
model = Branchy().double()
ddp = dist.DistributedDataParallel(model, gradient_as_bucket_view=sys.argv[1:] == ["view"])
x = cr.tensor(np.random.default_rng(rank).normal(size=(5, 3)), dtype="float64")


def local_grads(use_extra):
    plain = Branchy().double()
    plain.load_state_dict(model.state_dict())
    (plain(x, use_extra) ** 2).sum().backward()
    return {
        n: (np.zeros_like(p.data) if p.grad is None else np.asarray(p.grad))
        for n, p in plain.named_parameters()
    }


use_extra = rank == 0
mine = local_grads(use_extra)
everyone = dist.allgather_object(mine)
(ddp(x, use_extra) ** 2).sum().backward()
ddp.finish_gradient_synchronization()
for name, p in model.named_parameters():
    expected = np.mean([g[name] for g in everyone], axis=0)
    np.testing.assert_allclose(np.asarray(p.grad), expected, rtol=1e-12, atol=1e-15)

# a round left unfinished (rank 1 never used `extra`) is refused at its next forward pass
model.zero_grad()
(ddp(x, use_extra) ** 2).sum().backward()
if rank == 1:
    try:
        ddp(x, use_extra)
    except dist.DistributedError as err:
        assert "finish_gradient_synchronization" in str(err), err
    else:
        raise AssertionError("an unfinished round was not refused")
ddp.finish_gradient_synchronization()

# gradient accumulation: no_sync() for the first micro-batch, the total averaged after the second
x2 = cr.tensor(np.random.default_rng(10 + rank).normal(size=(5, 3)), dtype="float64")
plain = Branchy().double()
plain.load_state_dict(model.state_dict())
for xb in (x, x2):
    (plain(xb, True) ** 2).sum().backward()
everyone = dist.allgather_object({n: np.asarray(p.grad) for n, p in plain.named_parameters()})
model.zero_grad()
with ddp.no_sync():
    (ddp(x, True) ** 2).sum().backward()
mine = {n: np.asarray(p.grad).copy() for n, p in model.named_parameters()}
(ddp(x2, True) ** 2).sum().backward()
for name, p in model.named_parameters():
    expected = np.mean([g[name] for g in everyone], axis=0)
    np.testing.assert_allclose(np.asarray(p.grad), expected, rtol=1e-12, atol=1e-15)
    assert not np.allclose(mine[name], expected)  # the first backward was not averaged
if rank == 0:
    print("OK")
