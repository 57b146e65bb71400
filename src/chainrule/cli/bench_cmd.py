"""``chainrule bench``: the benchmark suite lives in the source checkout's ``benchmarks/``."""

from __future__ import annotations

import argparse
import os
import sys

from chainrule.cli.errors import CLIError

HELP = (
    "Run the benchmark suite (from a source checkout) against PyTorch, NumPy and, when it is "
    "installed (pip install 'chainrule[bench]'), JAX's jit."
)
EXAMPLES = "chainrule bench --quick"


def add_arguments(parser) -> None:
    parser.add_argument(
        "rest", nargs=argparse.REMAINDER, help="options passed on to the benchmark suite"
    )


def run(args) -> int:
    try:
        from benchmarks.runner import main as bench_main
    except ImportError:
        checkout = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
        if os.path.isdir(os.path.join(checkout, "benchmarks")):
            sys.path.insert(0, checkout)
            from benchmarks.runner import main as bench_main
        else:
            raise CLIError(
                "the benchmark suite runs from a source checkout of chainrule: "
                "git clone it, then run 'chainrule bench' or 'python -m benchmarks' there"
            ) from None
    return bench_main(list(args.rest)) or 0
