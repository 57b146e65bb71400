"""CSV files: read a user's table, infer what each column is, turn it into features and labels.

Every problem is a :class:`chainrule.DataError` whose one-line message names the file, the
1-based line and the column (number and name), e.g.
``data.csv: line 7, column 3 ('age'): missing value; fill the cell in or drop the row``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from chainrule.data.accounting import accounting_notes
from chainrule.data.code_columns import code_feature_notes
from chainrule.data.csv_data import CSVData
from chainrule.data.iso_dates import dates_of
from chainrule.data.leakage import target_copy_notes
from chainrule.data.messages import Message, braces, error, first_few, option, say, where
from chainrule.data.missing_target import drop_missing_target as drop_missing_target_rows
from chainrule.data.missing_target import unknown_class_note
from chainrule.data.missing_words import read_missing_words
from chainrule.data.new_rows import column_name, format_notes, load_new_rows
from chainrule.data.preprocessing import Preprocessor, stable_moments
from chainrule.data.reader import (
    ABSENT,
    NUMBER,
    Column,
    Columns,
    number_key,
    read_columns,
    records,
)
from chainrule.data.schema import (
    MAX_CATEGORIES,
    MAX_INTEGER_CLASSES,
    TRUE_WORDS,
    Schema,
    infer_schema,
)
from chainrule.data.sentinels import sentinel_note
from chainrule.data.serial_dates import compact_date_note, serial_date_note
from chainrule.data.targets import (
    LABEL_CASES,
    _target,
    amount_target_note,
    case_notes,
    check_target_role,
    code_target_note,
    fold_notes,
)
from chainrule.data.text_numbers import text_number_note
from chainrule.data.times import datetime_notes, hours_of, time_notes
from chainrule.errors import DataError

__all__ = [
    "MAX_CATEGORIES",
    "MAX_INTEGER_CLASSES",
    "CSVData",
    "Table",
    "load_csv",
    "read_table",
]


@dataclass
class Table:
    """The cells of a CSV file, as text, checked for shape: one list per row."""

    source: str
    names: list[str]
    rows: list[list[str]]
    lines: np.ndarray  # the 1-based line on which each row starts
    has_header: bool
    header_line: int | None = None


def read_table(
    path,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    min_rows: int = 2,
    encoding: str | None = None,
) -> Table:
    """Read a CSV file into text cells, checking encoding, quoting and row lengths.

    The whole file is held as Python strings; :func:`load_csv` streams instead. Same rules
    as :func:`load_csv` for the encoding, delimiter and header.
    """
    table = read_columns(
        path, delimiter=delimiter, header=header, min_rows=min_rows, keep=(), encoding=encoding
    )
    _, rows = records(path, delimiter=table.delimiter, encoding=table.charset)
    width = len(table.names)
    cells = [row[:width] for _, row in rows]  # empty cells past the last column: checked
    if table.has_header:
        cells = cells[1:]
    return Table(table.source, table.names, cells, table.lines, table.has_header, table.header_line)


def _names(value, table: Columns, what: str) -> list[str] | None:
    """Column names from names or 0-based positions (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, (str, int, np.integer)):
        value = [value]
    return [column_name(table, v, what) for v in value]


def load_csv(
    path,
    target=None,
    features=None,
    *,
    delimiter: str | None = None,
    impute: str | None = None,
    header: bool | None = None,
    task: str | None = None,
    preprocessor: Preprocessor | None = None,
    drop=None,
    categorical=None,
    numeric=None,
    decimal: str | None = None,
    label_case: str | None = None,
    encoding: str | None = None,
    drop_missing_target: bool = False,
) -> CSVData:
    # Over 80 lines only because of the docstring (the public API's reference).
    """Load a CSV file for training: features X, labels or targets y, and their description.

    Rules (each broken rule is a ``DataError`` naming the file, line and column):

    - The file is UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark,
      or else read as Windows-1252 (Excel's CSV on Windows; a note says so), with ``,``,
      ``;``, TAB or ``|`` between cells, quotes around cells that contain them, and LF, CRLF
      or CR line ends. Blank lines are skipped.
    - Numbers may use a decimal comma (``1.234,5``) in files not separated by commas
      (detected, or ``decimal=","``) and thousands separators (``1,234.5``).
    - The first row is a header unless all its cells are numbers or it looks like the rows
      below it; then the columns are named ``col0``, ``col1``, ... (a note says so).
    - Each column gets a type and a role (:mod:`chainrule.data.schema`): numeric,
      categorical (one-hot, categories sorted), boolean (0/1) columns and times of day
      (``08:15``, ``8:15 PM``; hours since midnight, 8.25) are used;
      identifiers, free text, numbers mixed with words, constants, dates and empty columns
      are left out with a note.
      ``features`` (exactly these columns), ``drop``, ``categorical``, ``numeric`` override.
    - Missing cells (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``, ``-``,
      ``#N/A``) are errors, unless ``impute="mean"``: then each numeric column's missing
      cells get its mean and each categorical column's its most frequent category (the fill
      values are kept in the preprocessor, for new rows too). Numbers float32 cannot hold (infinite,
      beyond 3.4e38) are errors. Targets are never imputed: a row without one is an error
      naming its line, unless ``drop_missing_target=True`` leaves such rows out (a note
      says how many and which lines).
    - The target is a class label when it is text, boolean, or integers with few distinct
      values (at most ``MAX_INTEGER_CLASSES``, with 5+ rows each on average; two values
      always); otherwise it is a regression target. ``task`` overrides
      (``"classification"`` or ``"regression"``).

    Args:
        path: the CSV file.
        target: the target column's name (or 0-based position); ``None``: no target.
        features: the feature columns' names (or positions), used whatever their role;
            ``None``: every column whose role is used.
        delimiter: the cell separator; ``None`` detects it.
        impute: ``None`` (missing cells are errors) or ``"mean"``.
        header: force the first row to be (``True``) or not be (``False``) a header.
        task: ``None`` (decide from the target), ``"classification"`` or ``"regression"``.
        preprocessor: the (saved) preprocessor of a trained model, to read NEW rows for
            prediction or evaluation: its columns are picked by name, encoded with the
            training categories (an unseen category is all zeros, counted in ``notes``) and
            fill values, and the target mapped to the training classes.
        drop, categorical, numeric: column names to leave out, to read as categories, to
            read as numbers.
        decimal: ``"."`` or ``","``; ``None`` detects it.
        label_case: what class labels that differ only in case (``Yes``, ``yes``, ``YES``)
            are: ``None`` (default): an error naming them; ``"fold"``: one class, spelled as
            most rows spell it (new rows match it in any case); ``"keep"``: separate classes.
        encoding: the file's text encoding (``"cp1252"``, ``"latin-1"``, ``"utf-16"``, ...);
            ``None`` detects it.
        drop_missing_target: leave out the rows whose target cell is empty (``NA``, ...),
            with a note naming their lines, instead of an error; for training and for new
            rows with ``preprocessor``.

    Example:
        >>> data = load_csv("iris.csv", target="species")       # doctest: +SKIP
        >>> X_train, X_test, y_train, y_test = data.split(test_size=0.2)  # doctest: +SKIP
    """
    if not isinstance(path, (str, bytes, os.PathLike)):  # a buffer or a frame, as pandas takes
        raise TypeError(
            f"load_csv reads a CSV file by its path, got {type(path).__name__}; write the data "
            f"to a file first (a DataFrame: df.to_csv('data.csv', index=False))"
        )
    source = os.fspath(path)
    _check_options(source, impute, task, decimal, label_case)
    if header not in (None, True, False):  # header="no" was truthy: a first row read as names
        raise DataError(f"{source}: header must be None (detect), True or False, got {header!r}")
    if preprocessor is not None:
        return load_new_rows(
            path,
            preprocessor,
            target,
            features,
            delimiter,
            header,
            decimal,
            encoding,
            drop_missing_target,
        )
    table = read_columns(
        path,
        delimiter=delimiter,
        header=header,
        decimal=decimal,
        encoding=encoding,
        min_rows=1 if target is None else 2,
        exact=() if target is None else _target_names(target),
    )
    t = None if target is None else column_name(table, target, "target")
    if t is not None:
        read_missing_words(table[t])  # n.a. among target numbers: a missing target, not a class
    if drop_missing_target and t is not None:
        dropped = drop_missing_target_rows(table, t, min_rows=2)
        table.notes += [dropped] if dropped else []
    features = _names(features, table, "feature")
    schema = _schema(table, t, features, drop, categorical, numeric, task)
    return _encode_table(table, schema, t, features, impute, label_case)


def _schema(table: Columns, t, features, drop, categorical, numeric, task) -> Schema:
    """Each column's type and role, with the caller's column choices applied."""
    if features is not None and len(set(features)) != len(features):
        twice = sorted({f for f in features if features.count(f) > 1})
        raise error(
            say(
                braces(f"{table.source}: {first_few(twice)} listed twice in ") + "{o}",
                o=option("features", features),
            )
        )
    return infer_schema(
        table,
        t,
        features=features,
        drop=_names(drop, table, "drop"),
        categorical=_names(categorical, table, "categorical"),
        numeric=_names(numeric, table, "numeric"),
        task=task,
    )


def _check_options(source: str, impute, task, decimal, label_case=None) -> None:
    if label_case not in LABEL_CASES:
        raise DataError(f"{source}: label_case must be None, 'fold' or 'keep', got {label_case!r}")
    if impute not in (None, "mean"):
        raise DataError(f"{source}: impute must be None or 'mean', got {impute!r}")
    if task not in (None, "classification", "regression"):
        raise DataError(
            f"{source}: task must be None, 'classification' or 'regression', got {task!r}"
        )
    if decimal not in (None, ".", ","):
        raise DataError(f"{source}: decimal must be '.' or ',', got {decimal!r}")


def _encode_table(table: Columns, schema: Schema, t, features, impute, label_case) -> CSVData:
    """The training data of a read table: targets, the fitted preprocessor, features, notes."""
    notes = list(table.notes) + format_notes(table)
    y, kind, class_names = (None, None, None)
    if t is not None:
        check_target_role(schema, table.source)
        y, kind, class_names = _target(table, schema, t, label_case)
        if label_case == "fold" and class_names is not None:
            notes += fold_notes(t, table[t].levels, class_names)
        notes += [n for n in [code_target_note(schema, t)] if n is not None]
        notes += [n for n in [amount_target_note(schema, t)] if n is not None]
        notes += [n for n in [unknown_class_note(t, class_names, y)] if n is not None]
    used = schema.features
    hint = _comma_hint(schema, table.delimiter)
    if not used and hint is not None:
        lead = f"{table.source}: no feature columns left: "
        raise error(Message(lead + hint, lead + hint.cli))
    if not used:
        raise _no_features(table, schema, t)
    notes += _left_out_notes(schema, features) + ([hint] if hint is not None else [])
    specs = [_spec(c.column, c, impute, table.source) for c in used]
    notes += case_notes(t, class_names, specs)
    notes += [n for c, sp in zip(used, specs) if (n := _filled_word_note(c.column, sp))]
    pre = Preprocessor(specs, target_name=t, task=kind, class_names=class_names, _trusted=True)
    pre.label_case = label_case if class_names is not None else None
    pre.file_columns = list(table.names)  # a headerless file of new rows is read by it
    if t is not None and "unit" in schema.target.stats:
        pre.target_unit = dict(schema.target.stats["unit"])
    notes += _unit_notes(schema, t) + accounting_notes(schema, t)
    notes += time_notes(specs, [c.column for c in used])
    notes += datetime_notes(specs, [c.column for c in used])
    numeric = [c.column for c in used if c.role == "numeric"]
    if kind == "regression":
        numeric.append(table[t])
    notes += [n for n in map(sentinel_note, numeric) if n is not None]
    notes += [n for n in map(serial_date_note, numeric) if n is not None]
    used_numbers = [c.column for c in used if c.role == "numeric"]
    notes += [n for n in map(compact_date_note, used_numbers) if n is not None]
    notes += _many_categories_notes(specs, len(table))
    notes += code_feature_notes(schema)
    categorical = [s for s in specs if s.get("kind") == "categorical"]
    notes += [n for s in categorical if (n := text_number_note(s["name"], s["categories"]))]
    fmt = table.number_format
    pre.number_format = {
        "decimal": fmt.decimal,
        "grouped": fmt.grouped,
        "delimiter": table.delimiter,
    }
    if fmt.thousands:  # new rows of these columns are read the same way
        pre.number_format["thousands_dots"] = [table.names[k] for k in fmt.thousands]
    X = pre.encode_columns([c.column for c in used], source=table.source, lines=table.lines)
    notes += target_copy_notes(X, y, kind, pre.columns, t)
    if t is not None and X.shape[1] >= len(X):
        # 500 columns of 50 rows: a network fits every training row by heart
        notes.append(
            f"{X.shape[1]} features from {len(X)} rows: more features than rows, so a model "
            f"can fit the training rows by heart; trust the validation score, not the "
            f"training one, and use fewer columns or more rows where you can"
        )
    return CSVData(
        X=X,
        y=y,
        feature_names=pre.feature_names,
        target_name=t,
        task=kind,
        class_names=class_names,
        preprocessor=pre,
        columns=[c.name for c in used],
        path=table.source,
        lines=table.lines,
        schema=schema,
        notes=notes,
        dialect={"delimiter": table.delimiter, "decimal": fmt.decimal},
    )


#: A categorical feature with more categories than this, and fewer than
#: ``ROWS_PER_CATEGORY`` rows each on average, gets a note: an id or code in disguise.
MANY_CATEGORIES, ROWS_PER_CATEGORY = 50, 20


def _many_categories_notes(specs: list[dict], rows: int) -> list[str]:
    """A note for each categorical feature whose categories are too many for the rows (one
    one-hot feature each, most seen a few times: a customer or product id in disguise)."""
    notes = []
    for spec in specs:
        k = len(spec.get("categories", ())) if spec.get("kind") == "categorical" else 0
        if k > MANY_CATEGORIES and rows < ROWS_PER_CATEGORY * k:
            text = (
                f"{braces(spec['name'])}: {k} categories in {rows} rows (about {rows / k:.0f} "
                f"each), one feature per category; if it is an id or a code, leave it out with "
                f"{{o}}"
            )
            notes.append(say(text, o=option("drop", [spec["name"]])))
    return notes


def _unit_notes(schema: Schema, t) -> list[str]:
    """One note per column read as numbers in a unit: which sign was removed."""
    notes = []
    for info in schema.columns:
        unit = info.stats.get("unit") if info.used or info.name == t else None
        if unit is not None:
            notes.append(f"{info.name}: {info.reason}")
    return notes


def _target_names(target) -> tuple:
    return (int(target),) if isinstance(target, (int, np.integer)) else (target,)


def _comma_hint(schema: Schema, delimiter: str):
    """When columns left out for decimal commas (``"2,92"`` quoted in a comma-separated file,
    where decimal commas are never guessed) are the file's only fractional numbers: the
    option that reads them, or None."""
    comma = [c for c in schema.columns if c.role == "comma decimals"]
    if not comma or any(c.type == "number" for c in schema.columns):
        return None
    names = ", ".join(repr(c.name) for c in comma[:5])
    example = (comma[0].examples or ["2,5"])[0]
    text = braces(
        f"{names} write numbers with a decimal comma (e.g. {example!r}) and no column uses a "
        f"decimal point; the file is separated by {delimiter!r}, so decimal commas are not "
        f"guessed: if the file writes all its numbers so, pass "
    )
    # "1,771" read as 1771 in a file of decimal commas is the same mark misread: say so
    grouped = [
        (c.name, cell)
        for c in schema.columns
        if c.role == "numeric" and (cell := next((e for e in c.examples if "," in e), None))
    ]
    also = "".join(
        f" (it reads {name!r} too: {cell!r} is now {cell.replace(',', '')}, then "
        f"{cell.replace(',', '.')})"
        for name, cell in grouped[:1]
    )
    return say(text + "{o}" + braces(also), o=option("decimal", ","))


def _left_out_notes(schema: Schema, features) -> list[str]:
    if features is not None:
        return []
    left = [c for c in schema.left_out if c.role not in ("dropped",)]
    if not left:
        return []
    parts = ", ".join(f"{c.name} ({_role_words(c)})" for c in left[:_SHOWN])
    if len(left) > _SHOWN:  # 500 constant columns made a note of 10,000 characters
        parts += f", ... and {len(left) - _SHOWN} more ({len(left)} in all; the schema lists them)"
    usable = [c.name for c in left if c.role not in _UNUSABLE]
    if not usable:
        return [braces(f"left out: {parts}")]
    keep = [c.name for c in schema.features] + usable
    if len(keep) > _SHOWN:  # a list to copy, too long to print whole
        return [braces(f"left out: {parts}")]
    return [
        say(
            braces(f"left out: {parts}") + "; to use one, list the features with {o}",
            o=option("features", keep),
        )
    ]


#: How many left-out columns a note names (and how long a ``features=`` list it offers).
_SHOWN = 20

#: Roles that ``features=`` cannot bring back: no values, or words among numbers (an error).
_UNUSABLE = ("empty", "mixed")

_ROLE_WORDS = {
    "text": "free text",
    "empty": "no values",
    "comma decimals": "decimal commas, unlike the file's other numbers",
}


def _role_words(info) -> str:
    # a units or mixed column says what stops it being read (mixed currencies, words, ...)
    if info.role in ("units", "mixed"):
        return info.reason
    return _ROLE_WORDS.get(info.role, info.role)


def _no_features(table: Columns, schema: Schema, t) -> DataError:
    left = schema.left_out
    if not left:
        if t is None:
            return DataError(f"{table.source}: no feature columns selected")
        return DataError(
            f"{table.source}: no feature columns; the file has only the target column {t!r}"
        )
    parts = ", ".join(
        f"{where(None, None, c.position, c.name)} is {_role_words(c)}" for c in left[:5]
    )
    usable = [c.name for c in left if c.role not in _UNUSABLE]
    if not usable:
        return DataError(f"{table.source}: no feature columns left: {parts}")
    return error(
        say(
            braces(f"{table.source}: no feature columns left: {parts}") + "; use them with {o}",
            o=option("features", usable),
        )
    )


def _spec(col: Column, info, impute, source: str) -> dict:
    """The preprocessor's description of one used column, fill value included."""
    absent = col.kinds == ABSENT
    spec = {"name": col.name}
    if info.role == "categorical":
        counts = _category_counts(col)
        if len(counts) > MAX_CATEGORIES and info.reason != "chosen by the user":
            raise DataError(f"{where(source, None, col.position, col.name)}: too many categories")
        spec.update(kind="categorical", categories=sorted(counts))
        if impute == "mean":
            spec["fill"] = min(counts, key=lambda c: (-counts[c], c)) if counts else None
    elif info.role == "boolean" and col.codes is not None:
        counts = _category_counts(col)
        # no, then yes: the spelling most rows use (encoding reads the others, Y for yes)
        yes = [c for c in counts if c.lower() in TRUE_WORDS]
        no = [c for c in counts if c.lower() not in TRUE_WORDS]
        pair = [min(group, key=lambda c: (-counts[c], c)) for group in (no, yes)]
        spec.update(kind="boolean", categories=pair)
        if impute == "mean":
            spec["fill"] = min(counts, key=lambda c: (-counts[c], c))
    else:
        kind = info.type if info.type in ("date", "time") else "numeric"
        spec["kind"] = kind
        if "unit" in info.stats:  # new rows are read with the same sign and decimal mark
            spec["unit"] = dict(info.stats["unit"])
        if impute == "mean":
            spec["fill"] = _mean_fill(col, kind, source) if (~absent).any() else 0.0
    return spec


def _filled_word_note(col: Column, spec: dict) -> str | None:
    """A note when impute filled a column of categories whose missing cells include ``NA``
    (North America, Namibia?): filled with the most frequent category, without a word."""
    if spec.get("kind") != "categorical" or spec.get("fill") is None:
        return None
    rows = np.flatnonzero(col.kinds[: len(col.head)] == ABSENT)
    words = {col.head[i][col.position].strip() for i in rows if col.position < len(col.head[i])}
    if "NA" not in words:
        return None
    count = int((col.kinds == ABSENT).sum())
    return (
        f"{col.name}: {count} missing cell(s), 'NA' among them, filled with {spec['fill']!r} "
        f"(the most frequent); if 'NA' is a value here (North America, Namibia), write it "
        f"otherwise in the file"
    )


def _category_counts(col: Column) -> dict[str, int]:
    counts: dict[str, int] = {}
    if col.codes is not None:
        tally = np.bincount(col.codes[col.codes >= 0], minlength=len(col.levels))
        counts.update({level: int(c) for level, c in zip(col.levels, tally) if c})
    number = col.kinds == NUMBER
    if number.any():
        values, tally = np.unique(col.values[number], return_counts=True)
        for v, c in zip(values, tally):
            key = number_key(float(v))
            counts[key] = counts.get(key, 0) + int(c)
    return counts


def _mean_fill(col: Column, kind: str, source: str) -> float:
    if kind == "date":
        days = dates_of(col.levels)[0][col.codes[col.codes >= 0]]  # a cell that is not one
        return float(np.nanmean(days)) if np.isfinite(days).any() else 0.0  # is an error later
    if kind == "time":  # the mean of the times (a cell that is not one is an error later)
        hours = hours_of(col.levels)[0][col.codes[col.codes >= 0]]
        return float(np.nanmean(hours)) if np.isfinite(hours).any() else 0.0
    values = col.values[col.kinds == NUMBER].astype(np.float64)
    values = values[np.isfinite(values)]
    return stable_moments(values)[0] if len(values) else 0.0
