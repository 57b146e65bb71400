"""cr.fit under MPI: the logs are the same on every rank and match a full-data evaluation."""

import json
import os
import sys

import chainrule as cr
from chainrule import callbacks as cbs
from chainrule import distributed as dist
from chainrule import nn, optim

folder = sys.argv[1]
rank = dist.rank()
X, y = cr.datasets.moons(n=301, noise=0.3, seed=1)  # odd sizes: shares of unequal length
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
opt = optim.Adam(model.parameters(), lr=0.05)
history = cr.fit(
    model,
    (X[:241], y[:241]),
    nn.BCEWithLogitsLoss(),
    opt,
    epochs=3,
    batch_size=16,
    validation_data=(X[241:], y[241:]),
    metrics=("accuracy", "f1", "mse"),
    callbacks=[
        cbs.CSVLogger(os.path.join(folder, "log.csv")),
        cbs.ModelCheckpoint(os.path.join(folder, "model-{epoch}.safetensors")),
    ],
    verbose="lines",
    seed=3,
)
full = cr.evaluate(
    model, (X[241:], y[241:]), nn.BCEWithLogitsLoss(), metrics=("accuracy", "f1", "mse")
)
logs = {k: v[-1] for k, v in history.history.items() if k != "time"}
everyone = dist.allgather_object(logs)
if rank == 0:
    from threadpoolctl import threadpool_info

    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    files = sorted(os.listdir(folder))
    with open(os.path.join(folder, "logs.json"), "w") as f:
        json.dump({"ranks": everyone, "full": full, "files": files, "blas": blas}, f)
