"""``chainrule report``: the HTML report of a run from its checkpoint folder."""

from __future__ import annotations

import os

from chainrule.cli.errors import CLIError


def run_report(args) -> int:
    """Write ``args.out`` (default report.html) from the checkpoint in ``args.checkpoint_dir``."""
    from chainrule.report import report_from_checkpoint_dir

    folder = args.checkpoint_dir
    out = getattr(args, "out", None) or "report.html"
    if not os.path.isdir(folder):
        raise CLIError(f"{folder}: not a folder; give the --checkpoint-dir of a training run")
    try:
        path = report_from_checkpoint_dir(folder, out)
    except FileNotFoundError as err:
        raise CLIError(str(err)) from None
    print(f"report written: {path}")
    return 0
