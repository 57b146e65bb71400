"""Training through cr.fit with a backup every epoch; MODE decides how a rank misbehaves.

kill: rank 1 kills itself with SIGKILL at the start of epoch 3; raise: rank 1 raises there;
shape: rank 1 builds a wider model; data: rank 1 has other data; batch: other batch size;
lr: another learning rate;
none: train to the end (and resume from the backup when there is one).
"""

import json
import os
import signal
import sys

import chainrule as cr
from chainrule import callbacks as cbs
from chainrule import distributed as dist
from chainrule import nn, optim

mode, folder = sys.argv[1], sys.argv[2]
dist.init()
rank = dist.rank()
odd = rank == 1
with open(os.path.join(folder, f"pid.{rank}"), "w") as f:
    f.write(str(os.getpid()))
X, y = cr.datasets.moons(n=400, noise=0.2, seed=0)
if mode == "data" and odd:
    X = X + 1.0
cr.manual_seed(0)
hidden = 12 if mode == "shape" and odd else 8
model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))
opt = optim.SGD(model.parameters(), lr=0.2 if mode == "lr" and odd else 0.1)


class Misbehave(cbs.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if odd and epoch == 3:
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "raise":
                raise RuntimeError("rank 1 broke on purpose")


backup = cbs.BackupAndRestore(os.path.join(folder, "backup.safetensors"))
history = cr.fit(
    model,
    (X, y),
    nn.BCEWithLogitsLoss(),
    opt,
    epochs=6,
    batch_size=16 if mode == "batch" and odd else 32,
    callbacks=[Misbehave(), backup],
    verbose=False,
    seed=0,
)
if rank == 0:
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump(
            {
                "epochs": len(history.history["loss"]),
                "resumed": backup.resumed_epoch,
                "loss": history.history["loss"],
            },
            f,
        )
