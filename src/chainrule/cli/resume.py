"""Exact resume for ``chainrule train --checkpoint-dir DIR --resume``.

After every epoch a checkpoint holds the parameters, the optimizer state, the shuffling
generator's state, the history so far, early-stopping state and hashes of the data and the run's
options. Resuming restores all of it, so the rest of the run draws the same batches in the same
order: the final weights are the bits an uninterrupted run gives, whenever the first run died.
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from chainrule.cli.errors import CLIError
from chainrule.train.callbacks import Callback

CHECKPOINT_NAME = "last.safetensors"


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _plain_state(callback) -> dict:
    """The JSON-able numbers of a callback (early stopping's best value, wait counter, ...)."""
    state = {}
    for key, value in vars(callback).items():
        if isinstance(value, bool | int | str) or value is None:
            state[key] = value
        elif isinstance(value, float):
            state[key] = value if math.isfinite(value) else repr(value)
    return state


def _restore_plain(callback, state: dict) -> None:
    for key, value in state.items():
        if isinstance(value, str) and value in ("inf", "-inf", "nan"):
            value = float(value)
        setattr(callback, key, value)


class EpochCheckpoint(Callback):
    """Write a resumable checkpoint (atomically) at the end of every epoch."""

    def __init__(self, folder, optimizer, generator, callbacks, *, config, data_hash):
        super().__init__()
        self.folder = str(folder)
        self.optimizer = optimizer
        self.generator = generator
        self.others = [c for c in callbacks if c is not self]
        self.config_hash = config_hash(config)
        self.data_hash = data_hash
        self.history = {}
        self.path = os.path.join(self.folder, CHECKPOINT_NAME)
        self.bind_model = None

    def on_epoch_end(self, epoch, logs=None):
        from chainrule.io.checkpoint import save_checkpoint

        for key, value in (logs or {}).items():
            if isinstance(value, int | float):
                self.history.setdefault(key, []).append(float(value))
        os.makedirs(self.folder, exist_ok=True)
        state = {
            "epoch": int(epoch),
            "history": self.history,
            "generator": self.generator.get_state(),
            "callbacks": [_plain_state(c) for c in self.others],
            "config_sha256": self.config_hash,
            "data_sha256": self.data_hash,
        }
        save_checkpoint(self.path, self.bind_model, self.optimizer, None, state)


def restore(checkpoint: EpochCheckpoint, model) -> tuple[int, dict | None]:
    """Load the checkpoint into the model, optimizer, generator and callbacks.

    Returns the epoch to continue from and the history recorded before it.
    """
    from chainrule.io.checkpoint import load_checkpoint

    checkpoint.bind_model = model
    if not os.path.exists(checkpoint.path):
        raise CLIError(
            f"--resume: no checkpoint in {checkpoint.folder} (expected {CHECKPOINT_NAME})"
        )
    state = load_checkpoint(checkpoint.path, model, checkpoint.optimizer, None)
    if state.get("data_sha256") != checkpoint.data_hash:
        raise CLIError(
            f"--resume: {checkpoint.path} was made from different data; resume with the same "
            f"file, or start a new run in another --checkpoint-dir"
        )
    if state.get("config_sha256") != checkpoint.config_hash:
        raise CLIError(
            f"--resume: {checkpoint.path} was made with a different config (layers, loss, "
            f"optimizer, learning rate, batch size, seed, ...); use the same options to resume"
        )
    checkpoint.generator.set_state(state["generator"])
    for callback, saved in zip(checkpoint.others, state.get("callbacks", [])):
        _restore_plain(callback, saved)
    checkpoint.history = {k: list(v) for k, v in state.get("history", {}).items()}
    return int(state["epoch"]) + 1, checkpoint.history
