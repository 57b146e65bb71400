"""Entry point of the ``chainrule`` command: a table of commands, dispatch and exit codes.

Each command lives in its own module exposing ``HELP`` (one line), ``EXAMPLES`` (optional),
``add_arguments(parser)`` and ``run(args) -> int``. Adding a command is one line in
``COMMANDS``; its flags and its code stay together in its file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from chainrule.cli.common import HelpFormatter, examples
from chainrule.cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CLIError,
)

# name -> module; the order is the order of `chainrule --help`.
COMMANDS = {
    "demo": "chainrule.cli.demo",
    "train": "chainrule.cli.train_cmd",
    "predict": "chainrule.cli.predict_cmd",
    "evaluate": "chainrule.cli.evaluate_cmd",
    "info": "chainrule.cli.info_cmd",
    "inspect": "chainrule.cli.inspect_cmd",
    "explain": "chainrule.cli.explain_cmd",
    "gradcheck": "chainrule.cli.gradcheck_cmd",
    "playground": "chainrule.cli.playground_cmd",
    "report": "chainrule.cli.report_cmd",
    "export": "chainrule.cli.export_cmd",
    "diagnose": "chainrule.cli.diagnose_cmd",
    "bench": "chainrule.cli.bench_cmd",
}


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, as every other error: the usage block it would
    print first (20 lines for ``train``) buried the line that says what is wrong."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from chainrule import __version__

    parser = Parser(
        prog="chainrule",
        description="Train neural networks on NumPy and see backpropagation's every number.",
        epilog=examples(
            """
            chainrule demo                          # the seed network, explained and trained
            chainrule inspect data.csv              # the columns chainrule sees, and their roles
            chainrule train data.csv --target label --layers 32,16
            chainrule predict model.safetensors new.csv --out predictions.csv
            chainrule explain --example mazur
            """
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name,
            help=module.HELP,
            description=module.HELP,
            epilog=examples(module.EXAMPLES) if getattr(module, "EXAMPLES", None) else None,
            formatter_class=HelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by the console script)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":  # everything after `bench` belongs to the benchmark suite
        args.rest = [*extra, *args.rest]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    args.argv = argv
    import numpy as np

    # Overflow and invalid-value warnings would add lines to the one-line error contract;
    # non-finite losses, gradients and parameters are caught and reported by fit instead.
    previous = np.seterr(all="ignore")
    out_of_memory = False
    try:
        code = args._run(args)
    except KeyboardInterrupt as err:
        note = getattr(err, "cli_message", None)  # what was saved and how to go on, if known
        tail = f"; {note}" if note else ""
        print(f"chainrule {args.command}: interrupted{tail}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader stopped early (`chainrule info m | head`): no error
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:  # reported below, once the except block has freed what failed
        if args.debug:
            raise
        out_of_memory, code = True, EXIT_USAGE
    except Exception as err:  # one clear line, no traceback, unless --debug
        if args.debug:
            raise
        from chainrule.cli.output import literal

        print(f"chainrule {args.command}: error: {literal(_message(err))}", file=sys.stderr)
        return _exit_code(err)
    finally:
        np.seterr(**previous)
    if out_of_memory:
        folder = args.command == "train" and os.path.isdir(getattr(args, "csv", None) or "")
        hint = " (for a folder of images: a smaller --image-size or --batch-size)" if folder else ""
        print(f"chainrule {args.command}: error: {OUT_OF_MEMORY}{hint}", file=sys.stderr)
    return code or 0


def _silence_stdout() -> None:
    # Python flushes stdout again at exit and would report the closed pipe a second time.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (pytest's capture)
        pass


OUT_OF_MEMORY = "out of memory: the input needs more memory than is free; use a smaller file"


def _exit_code(err: Exception) -> int:
    from chainrule.errors import NonFiniteError

    if isinstance(err, CLIError):
        return err.code
    if isinstance(err, NonFiniteError):
        return EXIT_DIVERGED
    return EXIT_USAGE


def _message(err: Exception) -> str:
    if isinstance(err, FileNotFoundError):
        return f"file not found: {err.filename or err}"
    if isinstance(err, IsADirectoryError):
        return f"expected a file, got a folder: {err.filename}"
    if isinstance(err, PermissionError) and err.filename is not None:
        return f"permission denied: {err.filename}"
    text = str(getattr(err, "cli_message", None) or err).strip().splitlines()
    first = text[0] if text else type(err).__name__
    known = ("ChainruleError", "CLIError", "ValueError", "OSError")
    if not any(k in [c.__name__ for c in type(err).__mro__] for k in known):
        first = f"{type(err).__name__}: {first} (run with --debug for the traceback)"
    return first


if __name__ == "__main__":
    sys.exit(main())
