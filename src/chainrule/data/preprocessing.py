"""Preprocessor: one-hot encoding and standardisation, fitted on training data, saved as JSON."""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import DataError
from chainrule.tensor import Tensor

#: Cells read as "no value" (compared after stripping spaces, ignoring case).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})

_FORMAT = "chainrule.preprocessor"
_VERSION = 1


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


NUMBER, ABSENT, TEXT = 0, 1, 2


def scan(rows: list) -> tuple[np.ndarray, np.ndarray]:
    """Read every cell of a table of text as a number where it is one.

    Returns ``(values, kinds)``, both of shape (rows, columns): float64 values (NaN where
    there is no number) and int8 kinds: ``NUMBER``, ``ABSENT`` (a :data:`MISSING` cell or
    NaN) or ``TEXT``. One pass over the cells, so that very wide tables stay fast.
    """
    n = len(rows)
    m = len(rows[0]) if n else 0
    values, kinds = scan_cells([cell for row in rows for cell in row])
    return values.reshape(n, m), kinds.reshape(n, m)


def scan_cells(cells: list) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scan` for a flat list of text cells."""
    try:
        values = np.asarray(cells, dtype=str).astype(np.float64)
        return values, np.where(np.isnan(values), ABSENT, NUMBER).astype(np.int8)
    except ValueError:
        pass
    numbers = [math.nan] * len(cells)
    kinds = [NUMBER] * len(cells)
    for i, cell in enumerate(cells):
        try:
            value = float(cell)
        except ValueError:
            kinds[i] = ABSENT if cell.strip().lower() in MISSING else TEXT
            continue
        if value != value:
            kinds[i] = ABSENT
        else:
            numbers[i] = value
    return np.asarray(numbers, dtype=np.float64), np.asarray(kinds, dtype=np.int8)


class Preprocessor:
    """Turns table rows into the numbers a network eats, the same way at training and later.

    It knows the feature columns of a table (numeric, or categorical with their categories),
    one-hot encodes the categorical ones, fills missing cells when imputation was asked for,
    and standardises the numeric features with a mean and standard deviation learned by
    :meth:`fit` on the TRAINING rows only. :meth:`to_dict` / :meth:`from_dict` give a JSON form
    that is saved with a model, so prediction preprocesses new rows exactly like training did;
    it also carries the target's name, the task and the class names.

    Args:
        columns: one dict per raw feature column: ``{"name": ..., "kind": "numeric"}`` or
            ``{"name": ..., "kind": "categorical", "categories": [...]}``, each with an
            optional ``"fill"`` value for missing cells. ``None``: all-numeric columns, as many
            as :meth:`fit` sees (for arrays such as the built-in datasets).
        standardize: subtract the mean and divide by the standard deviation of each numeric
            feature (one-hot features are left as 0/1).
        target_name, task, class_names: what the model predicts, kept for saving.
        feature_names: shorthand for all-numeric ``columns`` with these names.

    Example:
        >>> import numpy as np
        >>> p = Preprocessor().fit(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> p.transform(np.array([[2.0, 30.0]])).tolist()
        [[0.0, 1.0]]
    """

    def __init__(
        self,
        columns: list[dict] | None = None,
        *,
        standardize: bool = True,
        target_name: str | None = None,
        task: str | None = None,
        class_names: list[str] | None = None,
        feature_names: list[str] | None = None,
    ):
        if feature_names is not None:
            if columns is not None:
                raise DataError("Preprocessor: give columns or feature_names, not both")
            columns = [{"name": str(name), "kind": "numeric"} for name in feature_names]
        self.columns = None if columns is None else [_check_column(c) for c in columns]
        self.standardize = bool(standardize)
        self.target_name = target_name
        self.task = task
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    # ---- the columns --------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded features: ``age``, ``colour=red``, ``colour=blue``, ..."""
        if self.columns is None:
            return []
        names = []
        for col in self.columns:
            if col["kind"] == "numeric":
                names.append(col["name"])
            else:
                names.extend(f"{col['name']}={c}" for c in col["categories"])
        return names

    @property
    def n_features(self) -> int | None:
        """Width of the encoded rows (the model's input size); ``None`` until known."""
        if self.columns is None:
            return None
        return sum(1 if c["kind"] == "numeric" else len(c["categories"]) for c in self.columns)

    @property
    def column_names(self) -> list[str]:
        """Names of the raw feature columns, as in the file's header."""
        return [] if self.columns is None else [c["name"] for c in self.columns]

    @property
    def fitted(self) -> bool:
        return self.mean is not None or not self.standardize

    def _numeric_mask(self) -> np.ndarray:
        mask = []
        for col in self.columns:
            if col["kind"] == "numeric":
                mask.append(True)
            else:
                mask.extend([False] * len(col["categories"]))
        return np.array(mask, dtype=bool)

    # ---- encoding raw rows ----------------------------------------------------------------
    def encode(
        self, rows, *, source: str | None = None, lines=None, positions=None, scanned=None
    ) -> np.ndarray:
        """One-hot encode raw rows (sequences of cells, one per raw column) without scaling.

        Args:
            rows: a list of rows, or a 2-D array of text or numbers.
            source: the file the rows came from, for error messages.
            lines: the 1-based line of each row in ``source``, for error messages.
            positions: each column's 0-based place in ``source``, for error messages.
            scanned: :func:`scan`'s result for ``rows``, when already at hand.

        Shape:
            rows: (n, raw columns) → (n, :attr:`n_features`) float64.
        """
        if self.columns is None:
            raise DataError("Preprocessor.encode: no column description; use transform(X)")
        if scanned is None:
            rows = [[str(c) for c in r] for r in rows]
        width = len(self.columns)
        for i, row in enumerate(rows):
            if len(row) != width:
                line = i + 1 if lines is None else int(lines[i])
                raise DataError(f"{where(source, line)}: expected {width} features, got {len(row)}")
        values, kinds = scan(rows) if scanned is None else scanned
        values = values.reshape(len(rows), width)
        kinds = kinds.reshape(len(rows), width)

        def place(i, k):
            line = i + 1 if lines is None else int(lines[i])
            column = k if positions is None else positions[k]
            return where(source, line, column, self.columns[k]["name"])

        numeric = np.array([c["kind"] == "numeric" for c in self.columns], dtype=bool)
        problems = (
            ((kinds == TEXT) & numeric, "{cell!r} is not a number; this column holds numbers"),
            (np.isinf(values) & numeric, "infinite value {cell!r}; use a finite number"),
            ((kinds == NUMBER) & ~numeric, "{cell!r} is a number; this column holds categories"),
        )
        for mask, message in problems:
            if mask.any():
                i, k = np.unravel_index(int(np.argmax(mask)), mask.shape)  # first in reading order
                raise DataError(f"{place(i, k)}: " + message.format(cell=rows[i][k].strip()))
        absent = kinds == ABSENT
        if absent.any():
            unfilled = absent & np.array([c.get("fill") is None for c in self.columns])
            if unfilled.any():
                i, k = np.unravel_index(int(np.argmax(unfilled)), unfilled.shape)
                raise DataError(
                    f"{place(i, k)}: missing value; fill the cell in or drop the row "
                    f"(or impute='mean')"
                )
        out = np.zeros((len(rows), self.n_features), dtype=np.float64)
        offset = 0
        hot_rows, hot_cols = [], []
        for k, col in enumerate(self.columns):
            if col["kind"] == "numeric":
                out[:, offset] = values[:, k]
                if col.get("fill") is not None:
                    out[absent[:, k], offset] = col["fill"]
                offset += 1
                continue
            categories = col["categories"]
            index = {c: offset + code for code, c in enumerate(categories)}
            for i, row in enumerate(rows):
                key = col["fill"] if absent[i, k] else row[k].strip()
                code = index.get(key)
                if code is None:
                    known = ", ".join(repr(c) for c in categories[:20])
                    more = ", ..." if len(categories) > 20 else ""
                    raise DataError(
                        f"{place(i, k)}: unknown category {key!r}; the training data had "
                        f"{known}{more}"
                    )
                hot_rows.append(i)
                hot_cols.append(code)
            offset += len(categories)
        out[hot_rows, hot_cols] = 1.0
        return out

    # ---- fitting and transforming ---------------------------------------------------------
    def _features(self, X) -> np.ndarray:
        array = X.data if isinstance(X, Tensor) else np.asarray(X)
        if array.dtype.kind not in "fiub":
            raise DataError(f"Preprocessor: expected numbers, got an array of dtype {array.dtype}")
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise DataError(
                f"Preprocessor: expected a 2-D array (rows, features), got {array.shape}"
            )
        return array.astype(np.float64)

    def fit(self, X) -> Preprocessor:
        """Learn each numeric feature's mean and standard deviation from training rows.

        Shape:
            X: (n, :attr:`n_features`) encoded rows (``CSVData.X`` or a split of it).
        """
        X = self._features(X)
        if self.columns is None:
            self.columns = [{"name": f"x{k}", "kind": "numeric"} for k in range(X.shape[1])]
        self._check_width(X.shape[1])
        if len(X) == 0:
            raise DataError("Preprocessor.fit: no rows to learn from")
        if not np.isfinite(X).all():
            raise DataError("Preprocessor.fit: the rows hold NaN or infinite values")
        numeric = self._numeric_mask()
        mean = np.where(numeric, X.mean(axis=0), 0.0)
        std = np.where(numeric, X.std(axis=0), 1.0)
        self.mean = mean
        self.std = np.where(std > 0.0, std, 1.0)  # a constant feature is left centred, unscaled
        return self

    def _check_width(self, width: int) -> None:
        if width != self.n_features:
            raise DataError(f"expected {self.n_features} features, got {width}")

    def transform(self, data) -> np.ndarray:
        """Rows as the model's input: raw rows are encoded first, then standardised.

        Args:
            data: a numeric array of encoded rows (n, :attr:`n_features`), or raw rows
                (lists or a text array with one cell per raw column, categories as text).

        Returns:
            float64 array (n, :attr:`n_features`).
        """
        if self.columns is None:
            raise DataError("Preprocessor.transform: not fitted; call fit(X_train) first")
        if self.standardize and self.mean is None:
            raise DataError("Preprocessor.transform: not fitted; call fit(X_train) first")
        array = data.data if isinstance(data, Tensor) else None
        ragged = False
        if array is None:
            try:
                array = np.asarray(data)
            except ValueError:  # rows of different lengths: encode() names the odd one
                ragged = True
        if not ragged and array.dtype.kind == "c":
            raise DataError("Preprocessor.transform: complex numbers are not valid features")
        if not ragged and array.dtype.kind in "fiub":
            X = self._features(array)
            self._check_width(X.shape[1])
        else:
            rows = data if ragged or array.ndim == 2 else [data]
            if not ragged and array.ndim == 2 and array.shape[1] != len(self.columns):
                raise DataError(f"expected {len(self.columns)} features, got {array.shape[1]}")
            if not ragged and array.ndim > 2:
                raise DataError(f"Preprocessor: expected rows of cells, got shape {array.shape}")
            X = self.encode(rows)
        if self.standardize:
            X = (X - self.mean) / self.std
        return X

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def transform_file(self, path, *, delimiter: str | None = None) -> np.ndarray:
        """Read a CSV file of new rows and :meth:`transform` them (for prediction).

        A file with a header may hold its columns in any order and extra columns (the target,
        ids); they are picked by name. A file without one must hold exactly the raw feature
        columns, in training order.
        """
        from chainrule.data.csv import read_table

        table = read_table(path, delimiter=delimiter, min_rows=1)
        names = self.column_names
        if table.has_header:
            position = {name: k for k, name in enumerate(table.names)}
            absent = [name for name in names if name not in position]
            if absent:
                raise DataError(
                    f"{table.source}: line {table.header_line}: column(s) {absent} missing; the "
                    f"model expects {names}"
                )
            picked = [position[name] for name in names]
        else:
            if len(table.names) != len(names):
                raise DataError(
                    f"{table.source}: expected {len(names)} features, got {len(table.names)}"
                )
            picked = list(range(len(names)))
        rows = [[row[k] for k in picked] for row in table.rows]
        X = self.encode(rows, source=table.source, lines=table.lines, positions=picked)
        if self.standardize:
            X = (X - self.mean) / self.std
        return X

    def decode_labels(self, indices) -> list[str]:
        """Class names for predicted class indices (the indices themselves without names)."""
        indices = np.asarray(indices).reshape(-1)
        if self.class_names is None:
            return [str(int(i)) for i in indices]
        return [self.class_names[int(i)] for i in indices]

    # ---- saving ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-serialisable description, for saving with a model."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "columns": None if self.columns is None else [dict(c) for c in self.columns],
            "standardize": self.standardize,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
            "target_name": self.target_name,
            "task": self.task,
            "class_names": self.class_names,
        }

    @classmethod
    def from_dict(cls, state: dict) -> Preprocessor:
        """Rebuild a preprocessor from :meth:`to_dict`'s output; raises ``DataError`` if bad."""
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise DataError("Preprocessor.from_dict: not a chainrule preprocessor description")
        if state.get("version") != _VERSION:
            raise DataError(f"Preprocessor.from_dict: unsupported version {state.get('version')!r}")
        try:
            task = state.get("task")
            if task not in (None, "binary", "multiclass", "regression"):
                raise ValueError(f"unknown task {task!r}")
            class_names = state.get("class_names")
            if class_names is not None and not isinstance(class_names, list):
                raise ValueError("class_names must be a list")
            out = cls(
                state["columns"],
                standardize=bool(state["standardize"]),
                target_name=state.get("target_name"),
                task=task,
                class_names=class_names,
            )
            for key in ("mean", "std"):
                if state.get(key) is not None:
                    values = np.asarray(state[key], dtype=np.float64)
                    if values.shape != (out.n_features,) or not np.isfinite(values).all():
                        raise ValueError(f"{key} must be {out.n_features} finite numbers")
                    setattr(out, key, values)
            if (out.mean is None) != (out.std is None):
                raise ValueError("mean and std must be given together")
        except DataError as err:
            raise DataError(f"Preprocessor.from_dict: {err}") from err
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"Preprocessor.from_dict: malformed description ({err})") from err
        return out

    def __repr__(self) -> str:
        width = self.n_features
        return (
            f"Preprocessor(columns={len(self.column_names)}, features={width}, "
            f"standardize={self.standardize}, fitted={self.fitted})"
        )


def _check_column(col) -> dict:
    if not isinstance(col, dict) or not isinstance(col.get("name"), str):
        raise DataError(f"Preprocessor: a column must be a dict with a 'name', got {col!r}")
    kind = col.get("kind")
    out = {"name": col["name"], "kind": kind}
    if kind == "numeric":
        fill = col.get("fill")
        if fill is not None and (isinstance(fill, bool) or not isinstance(fill, (int, float))):
            raise DataError(f"Preprocessor: column {col['name']!r}: fill must be a number")
        if fill is not None and not math.isfinite(fill):
            raise DataError(f"Preprocessor: column {col['name']!r}: fill must be finite")
        out["fill"] = None if fill is None else float(fill)
    elif kind == "categorical":
        categories = col.get("categories")
        if (
            not isinstance(categories, list)
            or not categories
            or not all(isinstance(c, str) for c in categories)
            or len(set(categories)) != len(categories)
        ):
            raise DataError(
                f"Preprocessor: column {col['name']!r}: categories must be distinct strings"
            )
        fill = col.get("fill")
        if fill is not None and fill not in categories:
            raise DataError(f"Preprocessor: column {col['name']!r}: fill must be a category")
        out["categories"] = list(categories)
        out["fill"] = fill
    else:
        raise DataError(f"Preprocessor: column {col['name']!r}: unknown kind {kind!r}")
    return out
