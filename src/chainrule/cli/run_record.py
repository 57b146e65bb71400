"""The run record of ``chainrule train --checkpoint-dir``: what lets ``--resume`` refuse to mix
two different runs (other options or other data) in one checkpoint folder."""

from __future__ import annotations

import hashlib
import json
import os

from chainrule.cli.errors import CLIError

# Options that define a run: resuming with any of them changed is refused.
RUN_OPTIONS = (
    "csv",
    "target",
    "features",
    "dataset",
    "layers",
    "activation",
    "loss",
    "optimizer",
    "lr",
    "batch_size",
    "validation_split",
    "early_stopping",
    "seed",
    "impute",
    "task",
    "drop",
    "categorical",
    "numeric",
    "decimal",
)


def run_config(args) -> dict:
    config = {k: getattr(args, k) for k in RUN_OPTIONS}
    # only when given: older runs keep their digest
    for key in ("label_case", "encoding", "drop_missing_target"):
        if getattr(args, key, None):
            config[key] = getattr(args, key)
    if getattr(args, "model", "mlp") != "mlp":  # older runs (all MLPs) keep their digest
        config["model"] = args.model
    for key in ("image_size", "image_mode", "skip_bad_images"):  # images: only when given
        if getattr(args, key, None):
            config[key] = getattr(args, key)
    return config


def prepare_checkpoint_dir(args, config: dict, data_hash: str, write: bool = True):
    """The callback that backs the run up after every epoch (and restores it on --resume).

    ``run.json`` beside the backup records the run's options and data hash, so resuming with
    other options or other data is refused instead of silently mixing two runs.
    """
    from chainrule.io.atomic import atomic_write
    from chainrule.train.callbacks import BackupAndRestore

    folder = args.checkpoint_dir
    backup = os.path.join(folder, "backup.safetensors")
    run_file = os.path.join(folder, "run.json")
    run = {"config": config, "config_sha256": _digest(config), "data_sha256": data_hash}
    resume = args.resume
    if resume and not (os.path.exists(backup) and os.path.lexists(run_file)):
        print(f"note: --resume: {folder} holds no checkpoint yet; starting a fresh run")
        resume = False
    if resume:
        from chainrule.io.format import read_json_file

        saved = read_json_file(run_file, CLIError, what="run record")
        if not isinstance(saved, dict) or not isinstance(saved.get("config", {}), dict):
            raise CLIError(f"{run_file}: not a run record (a JSON object with a 'config' object)")
        if saved.get("data_sha256") != data_hash:
            raise CLIError(
                f"--resume: {folder} was trained on different data; resume with the same "
                f"file, or start a new run in another --checkpoint-dir"
            )
        if saved.get("config_sha256") != run["config_sha256"]:
            changed = sorted(k for k in config if saved.get("config", {}).get(k) != config[k])
            raise CLIError(
                f"--resume: the run in {folder} used a different config ({', '.join(changed)} "
                f"changed); use the same options, or start a new run in another folder"
            )
    if write:  # under MPI only rank 0 writes; every rank checks the run above
        os.makedirs(folder, exist_ok=True)
        atomic_write(run_file, json.dumps(run, indent=1, sort_keys=True).encode("utf-8"))
    return BackupAndRestore(backup, resume=resume)


def _digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


def interrupted_note(args, epochs_done: int) -> str:
    """What an interrupted ``train`` leaves behind, and how to go on: the checkpoint and
    ``--resume`` when there is one, else the flag that makes the next run resumable."""
    done = f"stopped after {epochs_done} of {args.epochs} epochs; no model file was written"
    backup = os.path.join(args.checkpoint_dir or "", "backup.safetensors")
    if args.checkpoint_dir and os.path.isfile(backup):
        return (
            f"{done}. The last completed epoch is backed up in {args.checkpoint_dir}: run the "
            f"same command with --resume to continue"
        )
    return f"{done}. Add --checkpoint-dir DIR to back a run up after every epoch and --resume it"


def nothing_left_note(args, epochs_run: int, epochs_printed: int) -> str | None:
    """On ``--resume`` of a run that already has ``--epochs`` epochs (or more), nothing trains:
    say so, rather than print a summary of more epochs than were asked for without a word."""
    if not args.resume or epochs_printed or epochs_run < args.epochs:
        return None
    return (
        f"note: {args.checkpoint_dir} already holds {epochs_run} epochs (--epochs "
        f"{args.epochs}): nothing was left to train; the model saved is that of epoch "
        f"{epochs_run}. To train further, raise --epochs"
    )
