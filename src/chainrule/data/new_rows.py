"""New rows for a trained model (to predict or evaluate): the file read with the columns,
categories, classes and number format the model saw in training."""

from __future__ import annotations

import os

import numpy as np

from chainrule.data.charset import choose_charset, encoding_note
from chainrule.data.csv_data import CSVData
from chainrule.data.header import and_list
from chainrule.data.lines import records
from chainrule.data.messages import Message, braces, error, first_few, listed, option, say
from chainrule.data.missing_target import drop_missing_target
from chainrule.data.missing_words import NUMBER_MISSING, read_missing_words
from chainrule.data.numbers import MISSING, is_grouped, is_number
from chainrule.data.preprocessing import Preprocessor
from chainrule.data.reader import Columns, first_row_names, read_columns
from chainrule.data.sentinels import new_rows_sentinel_notes, new_target_note
from chainrule.data.targets import _known_target, unseen_notes
from chainrule.data.unicode_forms import tidy_text
from chainrule.errors import DataError

__all__ = ["column_format_notes", "column_name", "format_notes", "load_new_rows", "match_case"]


def column_name(table: Columns, key, what: str) -> str:
    if isinstance(key, str):
        key = tidy_text(key.strip())  # as header names: stripped, é composed (a Mac's is not)
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not -len(table.names) <= key < len(table.names):
            raise DataError(
                f"{table.source}: {what} column {key} out of range; the file has "
                f"{len(table.names)} columns"
            )
        return table.names[int(key)]
    if key in table.repeated:  # renamed key, key.1, ...: which one is meant?
        ks = table.repeated[key]
        named = and_list([repr(table.names[k]) for k in ks])
        raise DataError(
            f"{table.source}: {what} {key!r} names {len(ks)} columns (columns "
            f"{and_list([str(k + 1) for k in ks])}), read as {named}; name one of those, or "
            f"rename the columns in the header"
        )
    if key not in table.names:
        same = [n for n in table.names if isinstance(key, str) and n.casefold() == key.casefold()]
        also = f" ({same[0]!r} differs only in case: name it so)" if same else ""
        raise DataError(
            f"{table.source}: no column named {key!r} ({what}); the columns are: "
            f"{first_few(table.names, 20)}{also}"
        )
    return key


def format_notes(table: Columns, numbers: bool = True) -> list[str]:
    fmt = table.number_format
    notes = []
    if table.encoding not in ("UTF-8", "UTF-8 with BOM"):  # a mark Excel adds: nothing to do
        notes.append(encoding_note(table.encoding))
    if not numbers:
        return notes
    if fmt.decimal == ",":
        notes.append(
            Message(
                "numbers use a decimal comma (1.234,5); pass decimal='.' if that is wrong",
                "numbers use a decimal comma (1.234,5); pass --decimal . if that is wrong",
            )
        )
    elif fmt.grouped:
        notes.append(f"numbers use thousands separators (e.g. {_grouped_example(table)})")
    return notes + column_format_notes(table)


def column_format_notes(table: Columns) -> list:
    """Notes on the columns of a decimal-point file read with thousands dots, or that could
    be either (see :func:`~chainrule.data.numbers.thousands_dot_columns`)."""
    fmt, notes = table.number_format, []
    if fmt.decimal == "." and fmt.thousands:
        notes.append(_thousands_note(table))
    if fmt.decimal == "." and fmt.unsure:
        names = and_list([repr(table.names[k]) for k in fmt.unsure])
        text = (
            f"{braces(names)}: numbers like 1.500 could be 1.5 or 1500 (groups of three "
            f"digits, and no whole numbers from 100 to 999 or decimals to tell); read as "
            f"1.5 (decimal point). If they are thousands, remove the dots in the file"
        )
        notes.append(text)
    return notes


def _thousands_note(table: Columns) -> Message:
    """Which columns of a decimal-point file read their dots as thousands separators."""
    names = and_list([repr(table.names[k]) for k in table.number_format.thousands])
    text = (
        f"{braces(names)}: dots read as thousands separators (1.500 as 1500): every dotted "
        f"number there is groups of three digits, beside whole numbers from 100 to 999; "
        f"other columns write a decimal point. Pass {{o}} to read them as decimal points"
    )
    return say(text, o=option("decimal", "."))


def _grouped_example(table: Columns) -> str:
    """A cell of the file written with thousands separators (``29'874.55``, ``12 000``), so
    the note shows the file's own separator; ``1,234.5`` if none is among the examples."""
    for col in table.columns:
        for cell in col.examples if col is not None else ():
            if is_grouped(cell):
                return repr(cell)
    return "1,234.5"


def load_new_rows(
    path, pre: Preprocessor, target, features, delimiter, header, decimal, encoding, drop=False
):
    """New rows (to predict or evaluate) read with the columns and classes seen in training;
    ``drop``: leave out the rows without a target value, with a note."""
    expected = pre.column_names
    source = os.fspath(path)
    if not expected:
        raise DataError(f"{source}: the preprocessor has no column description")
    if features is not None and list(features) != expected:
        raise DataError(
            f"{source}: features={list(features)} differ from the model's columns {expected}"
        )
    trained = pre.number_format
    charset = choose_charset(path, source, encoding)
    if header is None:
        default = (trained or {}).get("delimiter", ",")
        header = first_row_names(path, delimiter, expected, default, encoding=charset)
        if not header:
            _check_other_names(path, delimiter, default, charset, pre, source)
    table = read_columns(
        path,
        delimiter=delimiter,
        header=header,
        decimal=decimal,
        min_rows=1,
        trained=trained and {**trained, "columns": expected},  # a file without names
        encoding=charset,
    )
    _name_in_training_order(table, pre, target)
    renamed = match_case(table, expected + ([target] if isinstance(target, str) else []))
    absent = [name for name in expected if name not in table.names]
    if absent:  # the feature columns first: without them there is nothing to predict from
        no_target = isinstance(target, str) and target not in table.names
        also = f" and no target column {target!r}" if no_target else ""
        raise DataError(
            f"{source}: no column(s) {listed(absent)}{also}; the model's columns are "
            f"{listed(expected)} and the file has {listed(table.names)}; add the missing "
            f"column(s), named as in training"
        )
    if isinstance(target, str) and target not in table.names:
        shown = first_few(table.names, 20)
        raise error(
            say(
                braces(f"{source}: no target column {target!r} to compare the predictions with; ")
                + braces(f"the columns are: {shown}; ")
                + "name the column that holds the true values with {o}, or only predict",
                o=option("target", "COLUMN"),
            )
        )
    t = None if target is None else column_name(table, target, "target")
    if t is not None:
        read_missing_words(table[t])  # as in training
    dropped = drop_missing_target(table, t) if drop and t is not None else None
    X = pre.encode_columns([table[n] for n in expected], source=source, lines=table.lines)
    # With the training file's format known, read_columns notes only what differs from it.
    notes = list(table.notes) + format_notes(table, numbers=trained is None)
    notes += [dropped] if dropped else []
    if renamed:
        shown = ", ".join(f"{a!r} as {b!r}" for a, b in renamed)
        notes.append(f"column names differ from training only in case; read {shown}")
    notes += unseen_notes(pre, {n: table[n] for n in expected})
    notes += new_rows_sentinel_notes(pre, {n: table[n] for n in expected})
    y = None if t is None else _known_target(table, t, pre)
    notes += [n for n in [new_target_note(pre, t, y)] if n is not None]
    return CSVData(
        X=X,
        y=y,
        feature_names=pre.feature_names,
        target_name=t,
        task=pre.task,
        class_names=pre.class_names,
        preprocessor=pre,
        columns=list(expected),
        path=source,
        lines=table.lines,
        notes=notes,
        dialect={"delimiter": table.delimiter, "decimal": table.number_format.decimal},
    )


def _check_other_names(path, delimiter, default, charset, pre: Preprocessor, source) -> None:
    """A first row of words naming none of the model's columns (``a,b`` for ``x1,x2``) is a
    header with other names, not a row of data: read as data, its ``'a'`` was "not a number"
    on line 1, which hid the real problem. Only said where a word sits over a column of
    numbers: a file without a header may start with a row of categories."""
    _, rows = records(path, delimiter=delimiter, default=default, encoding=charset)
    first = [cell.strip() for cell in next(rows, (0, []))[1]]
    rows.close()

    def word(cell: str) -> bool:
        plain = cell.lower()
        return not (is_number(cell) or plain in MISSING or plain in NUMBER_MISSING)

    numeric = [
        k
        for k, spec in enumerate(pre.columns or [])
        if spec["kind"] == "numeric" and not spec.get("unit") and k < len(first)
    ]
    if not any(first) or not all(word(c) for c in first if c):
        return
    if not any(first[k] and word(first[k]) for k in numeric):
        return
    names = first_few([c for c in first if c], 20)  # a 2,000-column file: one short line
    raise DataError(
        f"{source}: the first line ({names}) names none of the model's columns "
        f"({_unquoted(pre.column_names)}); name the columns in the header as in training"
    )


def _unquoted(names, limit: int = 20) -> str:
    """``a, b, c``, cut after ``limit`` names: a 2,000-column model's names made one error
    of 16,000 characters."""
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f", ... and {more} more ({len(names)} in all)" * (more > 0))


def _name_in_training_order(table: Columns, pre: Preprocessor, target) -> None:
    """A file without names: its columns are laid out as the training file's (all of them,
    or all but the target), or are the features in training order, then the target. Where
    two of these layouts have the file's width but differ, the file is refused: read by
    place, ``id, a, b`` (the training file without its target) was read as ``a, b`` and the
    target, and predicted from the wrong columns without a word."""
    if table.has_header:
        return
    expected = pre.column_names
    t = target if isinstance(target, str) else pre.target_name or "target"
    layouts = [list(expected), [*expected, t]]
    if pre.file_columns:
        layouts += [list(pre.file_columns), [n for n in pre.file_columns if n != t]]
    fits = []
    for names in layouts:
        if len(names) == len(table.names) and names not in fits:
            fits.append(names)
    if len(fits) > 1:
        shown = " or ".join("(" + _unquoted(names) + ")" for names in fits)
        raise DataError(
            f"{table.source}: the file has no header and {len(table.names)} columns, which "
            f"could be {shown}; add a header line naming the columns as in training"
        )
    if fits:
        for col, name in zip(table.columns, fits[0]):
            if col is not None:
                col.name = name
        table.names = fits[0]
        table.__dict__.pop("_index", None)


def match_case(table: Columns, wanted: list[str]) -> list[tuple[str, str]]:
    """Rename the file's columns that match a wanted name only but for case (``X1`` for
    ``x1``), when exactly one does; returns the ``(file's, model's)`` pairs."""
    renamed = []
    for name in wanted:
        if name in table.names:
            continue
        matches = [k for k, n in enumerate(table.names) if n.casefold() == name.casefold()]
        if len(matches) == 1 and table.names[matches[0]] not in wanted:
            k = matches[0]
            renamed.append((table.names[k], name))
            table.names = table.names[:k] + [name] + table.names[k + 1 :]
            table.__dict__.pop("_index", None)
            if table.columns[k] is not None:
                table.columns[k].name = name
    return renamed
