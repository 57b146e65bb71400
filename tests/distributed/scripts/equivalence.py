"""50 steps of SGD and of Adam on one global batch of 64, split over the ranks (float64).

Writes the final weights of each optimizer to OUT (rank 0) and checks after every step that
every rank holds bit-identical weights (SHA-256 compared across ranks). With a second argument
``view``, DDP runs with ``gradient_as_bucket_view=True`` and checks that every ``.grad`` is a
view of its bucket.
"""

import hashlib
import sys

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim

out_path = sys.argv[1]
as_view = sys.argv[2:] == ["view"]
dist.init()
rank, size = dist.rank(), dist.world_size()
rng = np.random.default_rng(0)
X = rng.normal(size=(256, 12))
y = rng.integers(0, 3, size=256)
GLOBAL = 64
local = GLOBAL // size
results = {}
for name in ("sgd", "adam"):
    cr.manual_seed(100 + rank)  # a different start on each rank: the wrap must broadcast rank 0's
    model = nn.Sequential(
        nn.Linear(12, 24), nn.Tanh(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 3)
    ).double()
    ddp = dist.DistributedDataParallel(  # several buckets
        model, bucket_cap_mb=0.001, gradient_as_bucket_view=as_view
    )
    if name == "sgd":
        opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = optim.Adam(ddp.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(50):
        lo = (step * GLOBAL) % len(X) + rank * local
        opt.zero_grad()
        loss = loss_fn(
            ddp(cr.tensor(X[lo : lo + local], dtype="float64")), cr.tensor(y[lo : lo + local])
        )
        loss.backward()
        if as_view and size > 1:
            flats = [b.flat for b in ddp._reducer.buckets]
            for p in model.parameters():
                assert any(np.shares_memory(p.grad_array, f) for f in flats), "not a view"
        opt.step()
        digest = hashlib.sha256(
            b"".join(np.ascontiguousarray(p.data).tobytes() for p in model.parameters())
        ).hexdigest()
        digests = dist.allgather_object(digest)
        if len(set(digests)) != 1:
            raise SystemExit(f"{name} step {step}: ranks differ: {digests}")
    results[name] = np.concatenate([np.asarray(p.data).ravel() for p in model.parameters()])
if rank == 0:
    np.savez(
        out_path,
        buckets=len(ddp._reducer.buckets),
        shared_memory=ddp._reducer.shared is not None,
        **results,
    )
