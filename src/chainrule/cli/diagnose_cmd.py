"""``chainrule diagnose``: why a training run did not learn, read from its checkpoint folder.

``chainrule train --checkpoint-dir DIR`` writes ``DIR/diagnose.json`` (what
:class:`chainrule.diagnose.Recorder` recorded) after every epoch; this command turns it into
findings again, with the chain-rule explanations computed on the checkpointed model.
"""

from __future__ import annotations

import json
import os

from chainrule.cli.errors import EXIT_DIVERGED, CLIError

HELP = "Diagnose a training run from its checkpoint folder: what went wrong and what to change."
EXAMPLES = (
    "chainrule train data.csv --target y --checkpoint-dir runs/a\n"
    "chainrule diagnose runs/a\n"
    "chainrule diagnose runs/a --json"
)
RECORD_NAME = "diagnose.json"
DIVERGENCE = ("DIVERGED", "LOSS_ROSE")


def add_arguments(parser) -> None:
    parser.add_argument(
        "checkpoint_dir", help="the --checkpoint-dir of a chainrule train run (or a diagnose.json)"
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--no-explain", action="store_true", help="skip the chain-rule explanations"
    )


def _record_from_checkpoint(folder: str):
    """The recorder's state saved in the run's backup checkpoint, if any."""
    from chainrule.diagnose.recorder import MARKER
    from chainrule.errors import ModelFormatError
    from chainrule.io.checkpoint import read_checkpoint

    path = os.path.join(folder, "backup.safetensors")
    if not os.path.isfile(path):
        return None
    try:
        _, parts = read_checkpoint(path)
    except ModelFormatError:
        return None
    for state in (parts.get("state") or {}).get("callbacks", []) or []:
        if isinstance(state, dict) and state.get("marker") == MARKER and state.get("record_json"):
            return json.loads(state["record_json"])
    return None


def _model_and_loss(folder: str, record: dict):
    """The checkpointed model and a loss of the recorded kind, for the explanations."""
    import chainrule as cr
    from chainrule import nn

    path = os.path.join(folder, "backup.safetensors")
    if not os.path.isfile(path):
        return None
    name = record.get("loss_name")
    loss_class = getattr(nn, name, None) if isinstance(name, str) else None
    if loss_class is None or not name.endswith("Loss"):
        return None
    try:
        return cr.load(path), loss_class()
    except Exception:  # noqa: BLE001 - a model that does not load is diagnosed without it
        return None


def load(target: str) -> tuple[dict, str]:
    """The record of a run: from ``target/diagnose.json``, the checkpoint, or a JSON file."""
    from chainrule.diagnose import load_record

    if os.path.isfile(target):
        return load_record(target), os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(target):
        raise CLIError(f"{target}: no such folder; give the --checkpoint-dir of a training run")
    path = os.path.join(target, RECORD_NAME)
    if os.path.isfile(path):
        return load_record(path), target
    record = _record_from_checkpoint(target)
    if record is None:
        raise CLIError(
            f"{target}: no diagnosis record ({RECORD_NAME}); train with chainrule train "
            f"--checkpoint-dir {target} (the recorder is on unless --no-diagnose)"
        )
    return record, target


def run(args) -> int:
    from chainrule.diagnose import diagnose, summary

    record, folder = load(args.checkpoint_dir)
    context = None if args.no_explain else _model_and_loss(folder, record)
    findings = diagnose(record, explain_with=context)
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2, default=str))
    else:
        steps = record.get("steps", 0)
        epochs = len((record.get("epochs") or {}).get("loss", []))
        recorded = len(record.get("steps_recorded") or [])
        print(f"{folder}: {epochs} epoch(s), {steps} step(s), {recorded} recorded")
        print(summary(findings))
    return EXIT_DIVERGED if any(f.code in DIVERGENCE for f in findings) else 0
