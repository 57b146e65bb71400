"""Entry point of the ``chainrule`` command: argument parsing, dispatch and exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap

from chainrule.cli.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_USAGE, CLIError

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus")


def _examples(text: str) -> str:
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip(), "  ")


def _add(sub, name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=_examples(examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    from chainrule import __version__

    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Train neural networks on NumPy and see backpropagation's every number.",
        epilog=_examples(
            """
            chainrule demo                          # the seed network, explained and trained
            chainrule train data.csv --target label --layers 32,16
            chainrule predict model.safetensors new.csv --out predictions.csv
            chainrule explain --example mazur
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = _add(
        sub,
        "demo",
        "Backpropagation on the seed network (2 inputs -> 1 sigmoid hidden -> 1 sigmoid "
        "output, binary cross-entropy): one example explained step by step, then training.",
        """
        chainrule demo
        chainrule demo --epochs 50 --lr 0.5 --hidden 4 --activation tanh --out runs/demo
        chainrule demo --no-plots --no-explain
        """,
    )
    demo.add_argument("--epochs", type=_positive_int, default=30, help="passes over the data")
    demo.add_argument("--lr", type=_positive_float, default=0.5, help="learning rate")
    demo.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling")
    demo.add_argument("--hidden", type=_positive_int, default=1, help="hidden neurons")
    demo.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid")
    demo.add_argument(
        "--batch-size",
        type=_positive_int,
        default=1,
        help="examples per update (1: update after every example, as the seed)",
    )
    demo.add_argument("--out", default="chainrule-out", help="folder for the PNG plots")
    demo.add_argument("--no-plots", action="store_true", help="do not write PNG files")
    demo.add_argument("--no-explain", action="store_true", help="skip the chain-rule walkthrough")

    train = _add(
        sub,
        "train",
        "Train a network on a CSV file (or a built-in dataset) and save it.",
        """
        chainrule train data.csv --target species --layers 64,32 --epochs 50
        chainrule train --dataset moons --layers 16,16 --activation tanh --out moons.safetensors
        chainrule train data.csv --target price --loss mse --optimizer adam --lr 1e-3
        chainrule train --config run.toml --epochs 10   # flags override the file
        chainrule train data.csv --target y --checkpoint-dir ckpt --resume
        """,
    )
    train.add_argument("csv", nargs="?", help="CSV file with a header row")
    train.add_argument("--target", help="name of the column to predict")
    train.add_argument("--features", help="comma-separated feature columns (default: all others)")
    train.add_argument("--dataset", help="a built-in dataset instead of a CSV (e.g. moons)")
    train.add_argument("--config", help="TOML file with the same options (flags override it)")
    train.add_argument("--layers", default="32", help="hidden layer sizes, e.g. 64,32")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    train.add_argument("--loss", choices=("auto", "mse", "bce", "ce"), default="auto")
    train.add_argument("--optimizer", choices=("sgd", "adam", "adamw", "rmsprop"), default="adam")
    train.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help="learning rate (default: 0.01 for adam/adamw/rmsprop, 0.1 for sgd)",
    )
    train.add_argument("--batch-size", type=_positive_int, default=32)
    train.add_argument("--epochs", type=_positive_int, default=50)
    train.add_argument("--validation-split", type=_fraction, default=0.2)
    train.add_argument(
        "--early-stopping",
        type=_positive_int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--impute", choices=("mean",), help="fill missing numeric cells")
    train.add_argument("--out", default="model.safetensors", help="where to save the model")
    train.add_argument("--plots", default=None, help="folder for plots (default: beside --out)")
    train.add_argument("--no-plots", action="store_true")
    train.add_argument("--report", help="write a self-contained HTML report of the run here")
    train.add_argument("--checkpoint-dir", help="save a resumable checkpoint after every epoch")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    train.add_argument("--no-diagnose", action="store_true", help="skip the training diagnosis")

    predict = _add(
        sub,
        "predict",
        "Predict with a saved model; the model's own preprocessing is applied.",
        """
        chainrule predict model.safetensors new.csv
        chainrule predict model.safetensors new.csv --out predictions.csv
        """,
    )
    predict.add_argument("model")
    predict.add_argument("csv")
    predict.add_argument("--out", help="write predictions to this CSV (default: print them)")

    evaluate = _add(
        sub,
        "evaluate",
        "Score a saved model on a labelled CSV file.",
        "chainrule evaluate model.safetensors test.csv --target species",
    )
    evaluate.add_argument("model")
    evaluate.add_argument("csv")
    evaluate.add_argument("--target", help="label column (default: the one used in training)")

    info = _add(
        sub,
        "info",
        "Describe a saved model: architecture, parameters, training and preprocessing.",
        "chainrule info model.safetensors",
    )
    info.add_argument("model")

    explain = _add(
        sub,
        "explain",
        "Write out the chain rule, with the real numbers, for one example.",
        """
        chainrule explain --example seed
        chainrule explain --example mazur --format md --out mazur.md
        chainrule explain model.safetensors --data data.csv --row 3 --param "0.weight[0, 1]"
        """,
    )
    explain.add_argument("model", nargs="?")
    explain.add_argument("--example", choices=("seed", "mazur", "scalar"))
    explain.add_argument("--data", help="CSV holding the example to explain")
    explain.add_argument(
        "--row", type=_nonnegative_int, default=0, help="0-based data row of --data"
    )
    explain.add_argument("--param", help='parameter element to spell out, e.g. "0.weight[1, 0]"')
    explain.add_argument("--lr", type=_positive_float, default=0.1)
    explain.add_argument("--format", choices=("text", "md", "html", "json", "dot"), default="text")
    explain.add_argument("--out", help="write the report to this file")

    gradcheck = _add(
        sub,
        "gradcheck",
        "Check every built-in op's gradient against finite differences.",
        "chainrule gradcheck\nchainrule gradcheck --ops sigmoid,matmul",
    )
    gradcheck.add_argument("--ops", help="comma-separated op names (default: all)")

    playground = _add(
        sub,
        "playground",
        "Watch backpropagation live: a local web page that trains a small network on the "
        "chainrule engine.",
        "chainrule playground\nchainrule playground --port 8000 --open",
    )
    playground.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: this computer only)"
    )
    playground.add_argument(
        "--port", type=_nonnegative_int, default=0, help="port (default 0: a free one, printed)"
    )
    playground.add_argument("--open", action="store_true", help="open the page in a web browser")

    report = _add(
        sub,
        "report",
        "Write a self-contained HTML report of a training run from its checkpoint folder.",
        "chainrule train data.csv --target y --checkpoint-dir runs/a\n"
        "chainrule report runs/a --out report.html",
    )
    report.add_argument("checkpoint_dir", help="the --checkpoint-dir of a chainrule train run")
    report.add_argument("--out", default="report.html", help="the HTML file to write")

    from chainrule.cli import diagnose_cmd

    diagnose_cmd.add_arguments(_add(sub, "diagnose", diagnose_cmd.HELP, diagnose_cmd.EXAMPLES))

    bench = _add(
        sub,
        "bench",
        "Run the benchmark suite (from a source checkout) against PyTorch and NumPy.",
        "chainrule bench --quick",
    )
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="options for the suite")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _dispatch(args, parser) -> int:
    command = args.command
    if command is None:
        parser.print_help()
        return EXIT_USAGE
    if command == "demo":
        from chainrule.cli.demo import run_demo

        return run_demo(args)
    if command == "train":
        from chainrule.cli.train_cmd import run_train

        return run_train(args, parser)
    if command in ("predict", "evaluate", "info"):
        from chainrule.cli import model_cmds

        return getattr(model_cmds, f"run_{command}")(args)
    if command == "explain":
        from chainrule.cli.explain_cmd import run_explain

        return run_explain(args)
    if command == "gradcheck":
        from chainrule.cli.gradcheck_cmd import run_gradcheck

        return run_gradcheck(args)
    if command == "playground":
        from chainrule.cli.playground_cmd import run_playground

        return run_playground(args)
    if command == "report":
        from chainrule.cli.report_cmd import run_report

        return run_report(args)
    if command == "diagnose":
        from chainrule.cli.diagnose_cmd import run

        return run(args)
    if command == "bench":
        from chainrule.cli.bench_cmd import run_bench

        return run_bench(args)
    raise CLIError(f"unknown command {command!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by the console script)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":  # everything after `bench` belongs to the benchmark suite
        args.rest = [*extra, *args.rest]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.argv = argv
    import numpy as np

    # Overflow and invalid-value warnings would add lines to the one-line error contract;
    # non-finite losses, gradients and parameters are caught and reported by fit instead.
    np.seterr(all="ignore")
    try:
        code = _dispatch(args, parser)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # one clear line, no traceback, unless --debug
        if args.debug:
            raise
        code = _exit_code(err)
        print(f"chainrule {args.command}: error: {_message(err)}", file=sys.stderr)
        return code
    return code or 0


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
    if isinstance(err, PermissionError):
        return f"permission denied: {err.filename}"
    text = str(err).strip().splitlines()
    first = text[0] if text else type(err).__name__
    known = ("ChainruleError", "CLIError", "ValueError", "OSError")
    if not any(k in [c.__name__ for c in type(err).__mro__] for k in known):
        first = f"{type(err).__name__}: {first} (run with --debug for the traceback)"
    return first


if __name__ == "__main__":
    sys.exit(main())
