"""Printing a CSV file's inferred schema (``chainrule inspect`` and ``train --dry-run``)."""

from __future__ import annotations

from chainrule.cli.output import literal, table


def show_schema(schema, title: str) -> None:
    rows = []
    for c in schema.columns:
        role = "target" if c is schema.target else c.role
        used = "yes" if c.used or c is schema.target else "no"
        rows.append(
            [
                c.name,
                c.type,
                role,
                used,
                c.missing,
                c.distinct,
                ", ".join(literal(e, 16) for e in c.examples),
                c.reason,
            ]
        )
    table(
        title,
        ["column", "type", "role", "used", "missing", "distinct", "examples", "why"],
        rows,
        shrink=("column", "examples", "why"),
    )
    if schema.target is not None:
        print(f"task: {schema.task} ({schema.task_reason})")


def show_notes(notes) -> None:
    """Each note on its own line, in the command line's syntax; a column name's line break
    or escape sequence printed as ``\\n``, ``\\x1b``, as every string from data is."""
    for note in notes:
        print(f"note: {literal(getattr(note, 'cli', note))}")
