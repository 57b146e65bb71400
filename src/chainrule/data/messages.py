"""Messages about data problems: where a cell is, and hints that name options in both
Python's syntax (``impute='mean'``) and the command line's (``--impute mean``)."""

from __future__ import annotations

import shlex

from chainrule.errors import DataError

__all__ = [
    "Message",
    "braces",
    "error",
    "first_few",
    "joined_names",
    "listed",
    "option",
    "say",
    "where",
]


class Message(str):
    """A message in Python's syntax (the string itself) and in the command line's (``.cli``).

    Hints name options: ``impute='mean'`` from Python, ``--impute mean`` on the command line.
    """

    cli: str

    def __new__(cls, python: str, cli: str | None = None):
        obj = super().__new__(cls, python)
        obj.cli = python if cli is None else cli
        return obj


def joined_names(names) -> str:
    """Column names as one command-line list, ``a,b``; a name holding a comma or a quote in
    double quotes (``"weight, kg",height``), as the CLI's lists read them (CSV quoting)."""
    quoted = (
        '"' + n.replace('"', '""') + '"' if "," in n or '"' in n else n for n in map(str, names)
    )
    return ",".join(quoted)


def option(name: str, value) -> tuple[str, str]:
    """An option as ``(keyword=value, --flag value)``."""
    if isinstance(value, (list, tuple)):
        shown = joined_names(value)
        if any(ch in shown for ch in " ;|&$\"'"):
            shown = shlex.quote(shown)
        return f"{name}={list(value)!r}", f"--{name.replace('_', '-')} {shown}"
    return f"{name}={value!r}", f"--{name.replace('_', '-')} {value}"


def say(template: str, **options: tuple[str, str]) -> Message:
    """``template`` with each ``{name}`` replaced by an :func:`option` in both syntaxes."""
    python = template.format(**{k: v[0] for k, v in options.items()})
    cli = template.format(**{k: v[1] for k, v in options.items()})
    return Message(python, cli)


def braces(text: str) -> str:
    """``text`` safe inside a :func:`say` template (its braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def error(message: str) -> DataError:
    """A DataError that carries the command line's wording when ``message`` is a Message."""
    err = DataError(str(message))
    err.cli_message = getattr(message, "cli", str(message))
    return err


def where(source: str | None, line: int | None, column: int | None = None, name=None) -> str:
    """The place of a cell in a message: ``data.csv: line 4, column 2 ('age')``."""
    parts = []
    if line is not None:
        parts.append(f"line {line}" if source is not None else f"row {line}")
    if column is not None:
        parts.append(
            f"column {column + 1} ({name!r})" if name is not None else f"column {column + 1}"
        )
    place = ", ".join(parts)
    if source is None:
        return place or "input"
    return f"{source}: {place}" if place else source


def first_few(names, limit: int = 10) -> str:
    """``'a', 'b', 'c'``, or the first ``limit`` names and how many more: a message about
    150 classes stays one readable line."""
    names = list(names)
    shown = ", ".join(repr(str(n)) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... and {len(names) - limit} more ({len(names)} in all)"
    return shown


def listed(names, limit: int = 20) -> str:
    """``['a', 'b']`` as Python prints a list, cut after ``limit`` names with how many more:
    the columns of a 2,000-column model made one error 46,000 characters long."""
    names = list(names)
    if len(names) <= limit:
        return repr(names)
    return f"{names[:limit]!r}"[:-1] + f", ... and {len(names) - limit} more]"
