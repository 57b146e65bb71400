"""Pieces every command file shares: argument types, choices and the help layout."""

from __future__ import annotations

import argparse
import textwrap

from chainrule.registry import ACTIVATIONS as _ACTIVATIONS
from chainrule.registry import LOSSES as _LOSSES
from chainrule.registry import OPTIMIZERS as _OPTIMIZERS

# The --activation, --loss and --optimizer choices: the names of chainrule.registry.
ACTIVATIONS = tuple(_ACTIVATIONS)
LOSSES = tuple(_LOSSES)
OPTIMIZERS = tuple(_OPTIMIZERS)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and appends every default that is not None."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == "==SUPPRESS==":
            return text
        if action.option_strings or action.nargs in ("?", "*"):
            return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"
        return text


def examples(text: str) -> str:
    """The ``examples:`` block shown at the end of ``--help``."""
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip(), "  ")


def _parse(text: str, kind, rule: str):
    # argparse would report a ValueError as "invalid positive_int value": our function's name.
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{rule}, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _parse(text, int, "must be a positive integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    value = _parse(text, int, "must be a whole number, 0 or more")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _parse(text, float, "must be a positive number")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text: str) -> float:
    value = _parse(text, float, "must be a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def column_list(text: str) -> list[str]:
    """``a,b , c`` -> ``["a", "b", "c"]`` (names of CSV columns given on the command line);
    a name holding a comma is quoted as in a CSV file: ``"weight, kg",height``."""
    import csv

    cells = next(csv.reader([str(text)], skipinitialspace=True), [])
    return [cell.strip() for cell in cells if cell.strip()]


def standardised_note(target, std) -> str:
    """The note under a regression run's metrics: its loss and mae are on the standardised
    target, so an mae of 0.08 is not 0.08 of the target's own units."""
    if not std:
        return "(loss and mae are on the standardised target)"
    return (
        f"(loss and mae are on the standardised target: mae × {float(std):.6g} is in "
        f"{target}'s own units)"
    )


def add_encoding_argument(parser) -> None:
    """``--encoding`` for every command that reads a CSV file (train, inspect, predict,
    evaluate, explain)."""
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="the CSV file's text encoding, e.g. cp1252, latin-1, utf-16 (default: UTF-8 or "
        "UTF-16 by byte-order mark, else Windows-1252, with a note)",
    )
