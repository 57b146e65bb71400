"""``chainrule report``: the HTML report of a run from its checkpoint folder."""

from __future__ import annotations

import os

from chainrule.cli.errors import CLIError
from chainrule.cli.paths import output_file

RECORD_NAMES = ("run.json", "diagnose.json")  # beside the backup in a --checkpoint-dir

HELP = "Write a self-contained HTML report of a training run from its checkpoint folder."
EXAMPLES = """
chainrule train data.csv --target y --checkpoint-dir runs/a
chainrule report runs/a --out report.html
"""


def add_arguments(parser) -> None:
    parser.add_argument("checkpoint_dir", help="the --checkpoint-dir of a chainrule train run")
    parser.add_argument("--out", default="report.html", help="the HTML file to write")


def run_report(args) -> int:
    """Write ``args.out`` (default report.html) from the checkpoint in ``args.checkpoint_dir``."""
    from chainrule.report import report_from_checkpoint_dir
    from chainrule.report.builder import CHECKPOINT_NAMES

    folder = args.checkpoint_dir
    out = getattr(args, "out", None) or "report.html"
    if not os.path.isdir(folder):
        raise CLIError(f"{folder}: not a folder; give the --checkpoint-dir of a training run")
    # Never over the run's own files: that would destroy the backup --resume needs.
    run_files = [os.path.join(folder, name) for name in (*CHECKPOINT_NAMES, *RECORD_NAMES)]
    out = output_file(out, default_name="report.html", inputs=tuple(run_files))
    try:
        path = report_from_checkpoint_dir(folder, out)
    except FileNotFoundError as err:
        raise CLIError(str(err)) from None
    print(f"report written: {path}")
    return 0


run = run_report
