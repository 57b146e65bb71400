"""CSV files: read a user's table, check every cell, and turn it into features and labels.

Every problem is a :class:`chainrule.DataError` whose one-line message names the file, the
1-based line and the column (number and name), e.g.
``data.csv: line 7, column 3 ('age'): missing value; fill the cell in or drop the row``.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from chainrule.data.preprocessing import (
    ABSENT,
    NUMBER,
    TEXT,
    Preprocessor,
    scan,
    scan_cells,
    where,
)
from chainrule.data.split import train_test_split
from chainrule.errors import DataError
from chainrule.io.guard import CSV_MEMORY_PER_BYTE, check_file

_DELIMITERS = (",", ";", "\t", "|")
#: Integer targets with at most this many distinct values are class labels.
MAX_INTEGER_CLASSES = 100
#: A text feature column with more distinct values than this is refused (an id, not a category).
MAX_CATEGORIES = 1000


@dataclass
class Table:
    """The cells of a CSV file, as text, checked for shape: one list per row."""

    source: str
    names: list[str]
    rows: list[list[str]]
    lines: np.ndarray  # the 1-based line on which each row starts
    has_header: bool
    header_line: int | None = None


def _decode(data: bytes, source: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            f"{source}: line 1: the file is UTF-16 encoded (byte-order mark 0x{data[:2].hex()}); "
            f"save it as UTF-8"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(
            f"{source}: line {line}: byte 0x{data[err.start]:02x} at byte offset {err.start} "
            f"(character {column} of the line) is not UTF-8; save the file as UTF-8"
        ) from None


def _sniff(text: str) -> str:
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = [first.count(d) for d in _DELIMITERS]
    return _DELIMITERS[int(np.argmax(counts))] if max(counts) > 0 else ","


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_table(
    path, *, delimiter: str | None = None, header: bool | None = None, min_rows: int = 2
) -> Table:
    """Read a CSV file into text cells, checking encoding, quoting and row lengths.

    Args:
        path: the file.
        delimiter: the cell separator; ``None`` picks the most frequent of ``, ; TAB |`` in
            the first line.
        header: whether the first row names the columns; ``None`` decides: it is a header
            when none of its cells is a number (otherwise the columns are named col0, col1..).
        min_rows: the fewest data rows accepted.
    """
    source = os.fspath(path)
    check_file(source, DataError, what="CSV file", expansion=CSV_MEMORY_PER_BYTE)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{source}: is a folder, not a CSV file") from None
    except OSError as err:
        raise DataError(f"{source}: cannot read the file ({err.strerror})") from None
    text = _decode(data, source)
    if not text.strip():
        raise DataError(f"{source}: the file is empty; expected a header and rows of data")
    if delimiter is None:
        delimiter = _sniff(text)
    elif not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DataError(f"{source}: delimiter must be one character, got {delimiter!r}")

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    line = 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            records.append(row)
            starts.append(start)
    except csv.Error as err:
        raise DataError(f"{source}: line {line}: malformed CSV ({err})") from None

    if not records:
        raise DataError(f"{source}: the file is empty; expected a header and rows of data")
    first = records[0]
    if header is None:
        header = not any(_is_number(cell) for cell in first)
    if header:
        names = [cell.strip() for cell in first]
        header_line = starts[0]
        for k, name in enumerate(names):
            if not name:
                raise DataError(
                    f"{source}: line {header_line}, column {k + 1}: the header has an empty "
                    f"column name"
                )
        seen: dict[str, int] = {}
        for k, name in enumerate(names):
            if name in seen:
                raise DataError(
                    f"{source}: line {header_line}, column {k + 1}: duplicate column name "
                    f"{name!r} (also column {seen[name] + 1}); column names must be unique"
                )
            seen[name] = k
        records, starts = records[1:], starts[1:]
    else:
        names = [f"col{k}" for k in range(len(first))]
        header_line = None
    width = len(names)
    for row, start in zip(records, starts):
        if len(row) != width:
            what = "the header" if header else "the first row"
            raise DataError(
                f"{source}: line {start}: expected {width} columns (as in {what}), found "
                f"{len(row)}; check for a missing or extra {delimiter!r}, or quote cells that "
                f"contain it"
            )
    if len(records) < min_rows:
        if not records:
            raise DataError(f"{source}: the file has a header but no rows of data")
        raise DataError(
            f"{source}: only {len(records)} row of data; need at least {min_rows} to train"
        )
    return Table(source, names, records, np.asarray(starts, dtype=np.int64), header, header_line)


@dataclass
class CSVData:
    """A CSV file read for training: features, labels and how to preprocess new rows.

    Attributes:
        X: float64 (n, features): numeric columns as numbers, categorical columns one-hot
            encoded; NOT standardised (see :meth:`split`, or fit ``preprocessor`` yourself).
        y: int64 (n,) class indices into ``class_names``, or float64 (n,) for regression
            (``None`` when no target was asked for).
        feature_names: names of X's columns (``colour=red`` for one-hot columns).
        target_name: the target column's name.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"`` (``None`` without target).
        class_names: the label of each class index (``None`` for regression).
        preprocessor: a :class:`Preprocessor` describing the columns (not yet fitted).
        columns: the raw feature columns' names; path: the file; lines: each row's line.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    task: str | None
    class_names: list[str] | None
    preprocessor: Preprocessor
    columns: list[str] = field(default_factory=list)
    path: str = ""
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.X)

    def split(self, test_size=0.25, seed=0, standardize: bool = True):
        """Split into training and test rows and fit the preprocessor on the training rows.

        Classification splits are stratified. Returns ``(X_train, X_test, y_train, y_test)``,
        standardised with statistics of the training rows only.
        """
        if self.y is None:
            raise DataError(f"{self.path}: no target column was loaded; pass target=... to split")
        stratify = None if self.task == "regression" else self.y
        X_train, X_test, y_train, y_test = train_test_split(
            self.X, self.y, test_size=test_size, stratify=stratify, seed=seed
        )
        self.preprocessor.standardize = bool(standardize)
        self.preprocessor.fit(X_train)
        return (
            self.preprocessor.transform(X_train),
            self.preprocessor.transform(X_test),
            y_train,
            y_test,
        )

    def __repr__(self) -> str:
        classes = "" if self.class_names is None else f", classes={self.class_names}"
        return (
            f"CSVData({self.path!r}, rows={len(self.X)}, features={self.X.shape[1]}, "
            f"target={self.target_name!r}, task={self.task!r}{classes})"
        )


def _column_index(table: Table, key, what: str) -> int:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not -len(table.names) <= key < len(table.names):
            raise DataError(
                f"{table.source}: {what} column {key} out of range; the file has "
                f"{len(table.names)} columns"
            )
        return int(key) % len(table.names)
    if key not in table.names:
        raise DataError(
            f"{table.source}: no column named {key!r} ({what}); the columns are: "
            f"{', '.join(repr(name) for name in table.names)}"
        )
    return table.names.index(key)


def _describe_features(table, picked, rows, values, kinds, impute) -> list[dict]:
    """The kind of each feature column (numeric or categorical), categories and fill values."""
    source = table.source
    n_text = (kinds == TEXT).sum(axis=0)
    n_numbers = (kinds == NUMBER).sum(axis=0)
    for j in range(len(picked)):
        name = table.names[picked[j]]
        if n_text[j] == 0 and n_numbers[j] == 0:
            raise DataError(f"{where(source, None, picked[j], name)}: the column has no values")
        if n_text[j] and n_numbers[j]:
            # A column is all numbers or all text; point at the first odd one out.
            numeric = n_numbers[j] >= n_text[j]
            i = int(np.argmax(kinds[:, j] == (TEXT if numeric else NUMBER)))
            kind = "numbers" if numeric else "text (categories)"
            raise DataError(
                f"{where(source, int(table.lines[i]), picked[j], name)}: {rows[i][j].strip()!r} "
                f"does not fit a column of {kind} ({n_numbers[j]} numbers, {n_text[j]} text "
                f"cells); a column must be all numbers or all text"
            )
    absent = kinds == ABSENT
    if impute == "mean" and absent.any():
        counts = np.maximum(n_numbers, 1)
        means = np.where(kinds == NUMBER, values, 0.0).sum(axis=0) / counts
    columns = []
    for j, k in enumerate(picked):
        name = table.names[k]
        if n_text[j] == 0:
            col = {"name": name, "kind": "numeric"}
            if impute == "mean" and absent[:, j].any():
                col["fill"] = float(means[j])
            columns.append(col)
            continue
        counter = Counter(row[j].strip() for row, gone in zip(rows, absent[:, j]) if not gone)
        if len(counter) > MAX_CATEGORIES:
            raise DataError(
                f"{where(source, None, k, name)}: {len(counter)} distinct text values; this "
                f"looks like an identifier, not a category; leave it out with features=[...]"
            )
        col = {"name": name, "kind": "categorical", "categories": sorted(counter)}
        if impute == "mean" and absent[:, j].any():
            # the most frequent category; ties go to the first in sorted order
            col["fill"] = min(counter, key=lambda c: (-counter[c], c))
        columns.append(col)
    return columns


def _target(table, k, task):
    name, source = table.names[k], table.source
    cells = [row[k].strip() for row in table.rows]
    values, kinds = scan_cells(cells)
    text = kinds == TEXT
    if (kinds == ABSENT).any():
        i = int(np.argmax(kinds == ABSENT))
        raise DataError(
            f"{where(source, int(table.lines[i]), k, name)}: missing target value; every row "
            f"needs one (imputation never fills targets)"
        )
    if text.any() and not text.all():
        odd = text if (~text).sum() >= text.sum() else ~text
        i = int(np.argmax(odd))
        raise DataError(
            f"{where(source, int(table.lines[i]), k, name)}: target {cells[i]!r} mixes "
            f"numbers and text labels; use one kind for the whole column"
        )
    if text.all():
        if task == "regression":
            raise DataError(
                f"{where(source, int(table.lines[0]), k, name)}: task='regression' needs a "
                f"numeric target, got {cells[0]!r}"
            )
        names, y = np.unique(np.asarray(cells, dtype=str), return_inverse=True)
        class_names = [str(c) for c in names]
    else:
        if np.isinf(values).any():
            i = int(np.argmax(np.isinf(values)))
            raise DataError(
                f"{where(source, int(table.lines[i]), k, name)}: infinite target value {cells[i]!r}"
            )
        integral = values == np.round(values)
        distinct = np.unique(values)
        if task == "regression" or (
            task is None and not (integral.all() and len(distinct) <= MAX_INTEGER_CLASSES)
        ):
            return values.astype(np.float64), "regression", None
        if not integral.all():
            i = int(np.argmax(~integral))
            raise DataError(
                f"{where(source, int(table.lines[i]), k, name)}: class label {cells[i]!r} is "
                f"not an integer; use task='regression' for a numeric target"
            )
        y = np.searchsorted(distinct, values)
        class_names = [str(int(v)) for v in distinct]
    if len(class_names) < 2:
        raise DataError(
            f"{where(source, None, k, name)}: the target has only one class "
            f"({class_names[0]!r}); a classifier needs at least two"
        )
    kind = "binary" if len(class_names) == 2 else "multiclass"
    return np.asarray(y, dtype=np.int64).reshape(-1), kind, class_names


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
) -> CSVData:
    """Load a CSV file for training: features X, labels or targets y, and their description.

    Rules (each broken rule is a ``DataError`` naming the file, line and column):

    - The file is UTF-8 (a byte-order mark is fine), with ``,``, ``;``, TAB or ``|`` between
      cells, quotes around cells that contain them, and LF or CRLF line ends. Blank lines
      are skipped.
    - The first row is a header when none of its cells is a number; otherwise the columns
      are named ``col0``, ``col1``, ... Column names must be unique.
    - Every row has as many cells as the header; there are at least two rows of data (one
      without a target).
    - A feature column is numeric when all its cells are numbers, categorical when none is
      (it is one-hot encoded, categories sorted); a column that mixes both is an error.
    - Missing cells (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``) are errors,
      unless ``impute="mean"``: then a numeric column's missing cells get its mean and a
      categorical column's its most frequent category (over the whole file; the fill values
      are kept in the preprocessor). Infinite values are always errors; targets are never
      imputed.
    - The target is a class label when it is text or integers (at most
      ``MAX_INTEGER_CLASSES`` distinct ones): classes are sorted, y holds their indices and
      ``class_names`` their labels; ``task`` is ``"binary"`` or ``"multiclass"``, and a
      single class is an error. Other numbers make a regression target (``task`` overrides:
      ``"classification"`` or ``"regression"``).

    Args:
        path: the CSV file.
        target: the target column's name (or 0-based position); ``None``: no target (rows
            to predict; then ``y``, ``task`` and ``class_names`` are ``None``).
        features: the feature columns' names (or positions); ``None``: all other columns.
        delimiter: the cell separator; ``None`` detects it.
        impute: ``None`` (missing cells are errors) or ``"mean"``.
        header: force the first row to be (``True``) or not be (``False``) a header.
        task: ``None`` (decide from the target), ``"classification"`` or ``"regression"``.
        preprocessor: the (saved) preprocessor of a trained model, to read NEW rows for
            prediction or evaluation: its columns are picked by name (in any order; without a
            header, in training order, then the target), encoded with the training
            categories and fill values, and the target mapped to the training classes
            (an unseen label is an error). One row and one class are then fine. ``X`` is
            still unscaled: pass it to ``preprocessor.transform``.

    Example:
        >>> data = load_csv("iris.csv", target="species")       # doctest: +SKIP
        >>> X_train, X_test, y_train, y_test = data.split(test_size=0.2)  # doctest: +SKIP
    """
    source = os.fspath(path)
    if impute not in (None, "mean"):
        raise DataError(f"{source}: impute must be None or 'mean', got {impute!r}")
    if task not in (None, "classification", "regression"):
        raise DataError(
            f"{source}: task must be None, 'classification' or 'regression', got {task!r}"
        )
    if preprocessor is not None:
        return _load_with(path, preprocessor, target, features, delimiter, header)
    table = read_table(
        path, delimiter=delimiter, header=header, min_rows=1 if target is None else 2
    )
    t = None if target is None else _column_index(table, target, "target")
    picked = _pick_features(table, features, t)

    y, kind, class_names = (None, None, None) if t is None else _target(table, t, task)
    rows = _columns(table.rows, picked)
    values, kinds = scan(rows)
    columns = _describe_features(table, picked, rows, values, kinds, impute)
    target_name = None if t is None else table.names[t]
    preprocessor = Preprocessor(
        columns, target_name=target_name, task=kind, class_names=class_names
    )
    X = preprocessor.encode(
        rows, source=source, lines=table.lines, positions=picked, scanned=(values, kinds)
    )
    return CSVData(
        X=X,
        y=y,
        feature_names=preprocessor.feature_names,
        target_name=target_name,
        task=kind,
        class_names=class_names,
        preprocessor=preprocessor,
        columns=[table.names[k] for k in picked],
        path=source,
        lines=table.lines,
    )


def _columns(rows: list[list[str]], picked: list[int]) -> list[list[str]]:
    """The cells of the ``picked`` columns of each row."""
    width = len(picked)
    if picked == list(range(width)):
        return [row[:width] for row in rows]
    get = itemgetter(*picked)
    if width == 1:
        return [[get(row)] for row in rows]
    return [list(get(row)) for row in rows]


def _pick_features(table: Table, features, t: int | None) -> list[int]:
    source = table.source
    if features is None:
        picked = [k for k in range(len(table.names)) if k != t]
    else:
        if isinstance(features, (str, int)):
            features = [features]
        picked = [_column_index(table, f, "feature") for f in features]
        if t is not None and t in picked:
            raise DataError(
                f"{source}: the target column {table.names[t]!r} is also listed as a feature"
            )
        if len(set(picked)) != len(picked):
            raise DataError(f"{source}: a feature column is listed twice in features={features}")
    if not picked:
        if t is None:
            raise DataError(f"{source}: no feature columns selected")
        raise DataError(
            f"{source}: no feature columns; the file has only the target column {table.names[t]!r}"
        )
    return picked


def _load_with(path, preprocessor: Preprocessor, target, features, delimiter, header) -> CSVData:
    """New rows (to predict or evaluate) read with the columns and classes seen in training."""
    table = read_table(path, delimiter=delimiter, header=header, min_rows=1)
    source, expected = table.source, preprocessor.column_names
    if not expected:
        raise DataError(f"{source}: the preprocessor has no column description")
    if features is not None and list(features) != expected:
        raise DataError(
            f"{source}: features={list(features)} differ from the model's columns {expected}"
        )
    if not table.has_header and len(table.names) in (len(expected), len(expected) + 1):
        # No names in the file: the features come in training order, then the target.
        names = list(expected)
        if len(table.names) > len(expected):
            names.append(target if isinstance(target, str) else preprocessor.target_name)
        table.names = [n if n is not None else "target" for n in names]
    t = None if target is None else _column_index(table, target, "target")
    position = {name: k for k, name in enumerate(table.names)}
    absent = [name for name in expected if name not in position]
    if absent:
        raise DataError(
            f"{source}: no column(s) {absent}; the model's columns are {expected} and the file "
            f"has {table.names}"
        )
    picked = [position[name] for name in expected]
    rows = _columns(table.rows, picked)
    X = preprocessor.encode(rows, source=source, lines=table.lines, positions=picked)
    y = None if t is None else _known_target(table, t, preprocessor)
    return CSVData(
        X=X,
        y=y,
        feature_names=preprocessor.feature_names,
        target_name=None if t is None else table.names[t],
        task=preprocessor.task,
        class_names=preprocessor.class_names,
        preprocessor=preprocessor,
        columns=list(expected),
        path=source,
        lines=table.lines,
    )


def _known_target(table: Table, t: int, preprocessor: Preprocessor) -> np.ndarray:
    """Targets of new rows: indices into the training classes, or numbers for regression."""
    name, source = table.names[t], table.source
    cells = [row[t].strip() for row in table.rows]
    values, kinds = scan_cells(cells)
    if (kinds == ABSENT).any():
        i = int(np.argmax(kinds == ABSENT))
        raise DataError(f"{where(source, int(table.lines[i]), t, name)}: missing target value")
    classes = preprocessor.class_names
    if classes is None:
        bad = (kinds == TEXT) | np.isinf(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{where(source, int(table.lines[i]), t, name)}: target {cells[i]!r} is not a "
                f"finite number"
            )
        return values.astype(np.float64)
    index = {c: k for k, c in enumerate(classes)}
    y = np.empty(len(cells), dtype=np.int64)
    for i, (cell, value, kind) in enumerate(zip(cells, values, kinds)):
        key = cell
        if kind == NUMBER and key not in index and value == round(value):
            key = str(int(value))  # "1.0" is class "1"
        if key not in index:
            raise DataError(
                f"{where(source, int(table.lines[i]), t, name)}: label {cell!r} was not seen in "
                f"training (known: {', '.join(classes)})"
            )
        y[i] = index[key]
    return y


__all__ = ["CSVData", "Table", "load_csv", "read_table"]
