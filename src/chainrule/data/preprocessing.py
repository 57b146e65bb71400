"""Preprocessor: one-hot encoding and standardisation, fitted on training data, saved as JSON."""

from __future__ import annotations

import math

import numpy as np

from chainrule.data.accounting import read_parentheses
from chainrule.data.encoding import (
    _check_column,
    _encode_one,
    _fill,
    _width,
    check_unit,
    read_unit_column,
)
from chainrule.data.messages import listed, where
from chainrule.data.reader import (
    ABSENT,
    MISSING,
    Column,
    NumberFormat,
    _Builder,
    first_row_names,
    parse_cells,
    read_columns,
    stack,
)
from chainrule.data.unicode_forms import tidy_all, tidy_text
from chainrule.errors import DataError
from chainrule.tensor import Tensor

_FORMAT = "chainrule.preprocessor"
_VERSION = 2
KINDS = ("numeric", "categorical", "boolean", "date", "time")
#: Below this spread relative to the largest magnitude, a feature is treated as constant
#: (float32, which the network computes in, cannot tell its values apart).
RELATIVE_SPREAD = 1e-7

__all__ = ["MISSING", "Preprocessor", "scan", "scan_cells", "where"]


def scan_cells(cells: list) -> tuple[np.ndarray, np.ndarray]:
    """Numbers and kinds (``NUMBER``, ``ABSENT``, ``TEXT``) of a flat list of text cells."""
    return parse_cells([str(c) for c in cells])


def scan(rows: list) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scan_cells` for a table of rows; both results of shape (rows, columns)."""
    n = len(rows)
    m = len(rows[0]) if n else 0
    values, kinds = scan_cells([cell for row in rows for cell in row])
    return values.reshape(n, m), kinds.reshape(n, m)


class Preprocessor:
    """Turns table rows into the numbers a network eats, the same way at training and later.

    It knows the feature columns of a table (numeric, categorical with their categories,
    boolean, ISO dates as days, or times of day as hours since midnight), one-hot encodes
    the categorical ones, fills missing cells when imputation was asked for, and standardises
    the numeric features (dates and times too) with a mean and standard deviation learned by
    :meth:`fit` on the TRAINING rows only. :meth:`to_dict` /
    :meth:`from_dict` give a JSON form that is saved with a model, so prediction preprocesses
    new rows exactly like training did; it also carries the target's name, the task, the
    class names and (for regression) the target's scaling.

    A category not seen in training is encoded as all zeros; :attr:`unseen` counts them per
    column after each encoding.

    Args:
        columns: one dict per raw feature column: ``{"name": ..., "kind": "numeric"}``,
            ``{"name": ..., "kind": "categorical", "categories": [...]}``,
            ``{"name": ..., "kind": "boolean", "categories": [false, true]}``,
            ``{"name": ..., "kind": "date"}`` or ``{"name": ..., "kind": "time"}`` (``08:15``
            is 8.25), each with an optional ``"fill"`` value for
            missing cells. ``None``: all-numeric columns, as many as :meth:`fit` sees.
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
        _trusted: bool = False,
    ):
        if feature_names is not None:
            if columns is not None:
                raise DataError("Preprocessor: give columns or feature_names, not both")
            columns = [{"name": str(name), "kind": "numeric"} for name in feature_names]
        if columns is not None and not _trusted:
            columns = [_check_column(c) for c in columns]
        self.columns = columns
        self.standardize = bool(standardize)
        self.target_name = target_name
        self.task = task
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.target_mean: float | None = None
        self.target_std: float | None = None
        self.unseen: dict[str, int] = {}
        #: How the training file wrote numbers (``{"decimal", "grouped", "delimiter"}``), so
        #: new rows written the same way are read the same way; ``None``: not known.
        self.number_format: dict | None = None
        #: The target's unit sign and decimal mark when it was written ``12%``/``$5``
        #: (:mod:`chainrule.data.units`); ``None``: plain numbers or labels.
        self.target_unit: dict | None = None
        #: ``"fold"``/``"keep"`` when the training labels differed only in case and the user
        #: said what they are (``load_csv(label_case=...)``); ``None`` otherwise.
        self.label_case: str | None = None
        #: Every column of the training file in its order (target and left-out columns too),
        #: so a file of new rows without a header is read by the training layout; ``None``:
        #: not known (then the features in order, and the target, are assumed).
        self.file_columns: list[str] | None = None

    # ---- the columns --------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded features: ``age``, ``colour=red``, ``colour=blue``, ..."""
        if self.columns is None:
            return []
        names = []
        for col in self.columns:
            if col["kind"] == "categorical":
                names.extend(f"{col['name']}={c}" for c in col["categories"])
            else:
                names.append(col["name"])
        return names

    @property
    def n_features(self) -> int | None:
        """Width of the encoded rows (the model's input size); ``None`` until known."""
        if self.columns is None:
            return None
        return sum(_width(c) for c in self.columns)

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
            mask.extend([col["kind"] != "categorical"] * _width(col))
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
            scanned: unused (kept for compatibility).

        Shape:
            rows: (n, raw columns) → (n, :attr:`n_features`) float64.
        """
        if self.columns is None:
            raise DataError("Preprocessor.encode: no column description; use transform(X)")
        rows = [[str(c) for c in r] for r in rows]
        width = len(self.columns)
        for i, row in enumerate(rows):
            if len(row) != width:
                line = i + 1 if lines is None else int(lines[i])
                raise DataError(f"{where(source, line)}: expected {width} features, got {len(row)}")
        if not rows:
            return np.zeros((0, self.n_features))
        every = list(range(width))
        builder = _Builder(self.column_names, every, NumberFormat(), set(every))
        builder.add(rows)
        columns = builder.build(rows[:200])
        for k, col in enumerate(columns):
            col.position = k if positions is None else positions[k]
        return self.encode_columns(columns, source=source, lines=lines, dtype=np.float64)

    def encode_columns(
        self, columns: list[Column], *, source=None, lines=None, dtype=np.float32
    ) -> np.ndarray:
        """Encode columns read by :func:`~chainrule.data.reader.read_columns`."""
        n = len(columns[0].kinds) if columns else 0
        out = np.zeros((n, self.n_features), dtype=dtype)
        self.unseen = {}
        fmt = NumberFormat((self.number_format or {}).get("decimal", "."), True)
        for spec, col in zip(self.columns, columns):
            if "unit" in spec:
                read_unit_column(spec, col, source, lines)
            elif spec["kind"] == "numeric" and col.codes is not None:
                read_parentheses(col, fmt, force=True)  # (0.50): -0.50, as in training
        offsets = np.cumsum([0] + [_width(spec) for spec in self.columns])
        plain = [
            k
            for k, (spec, col) in enumerate(zip(self.columns, columns))
            if spec["kind"] == "numeric" and col.codes is None and col.problem is None
        ]
        if len(plain) > 1:  # many numeric columns at once (wide files)
            kinds = stack([columns[k] for k in plain], "kinds")
            absent = kinds == ABSENT
            fills = np.array([_fill(self.columns[k]) for k in plain])
            unfilled = absent & np.isnan(fills)
            if unfilled.any():  # report the first column with a missing cell that has no fill
                k = plain[int(np.argmax(unfilled.any(axis=0)))]
                block = out[:, offsets[k] : offsets[k + 1]]
                _encode_one(self.columns[k], columns[k], block, self.unseen, source, lines)
            else:
                block = stack([columns[k] for k in plain])
                out[:, offsets[plain]] = np.where(absent, fills, block)
                plain = set(plain)
        else:
            plain = set()
        for k, (spec, col) in enumerate(zip(self.columns, columns)):
            if k in plain:
                continue
            block = out[:, offsets[k] : offsets[k + 1]]
            _encode_one(spec, col, block, self.unseen, source, lines)
        return out

    # ---- fitting and transforming ---------------------------------------------------------
    def _features(self, X) -> np.ndarray:
        array = X.array if isinstance(X, Tensor) else np.asarray(X)
        if array.dtype.kind not in "fiub":
            raise DataError(f"Preprocessor: expected numbers, got an array of dtype {array.dtype}")
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise DataError(
                f"Preprocessor: expected a 2-D array (rows, features), got {array.shape}"
            )
        return array if array.dtype.kind == "f" else array.astype(np.float64)

    def fit(self, X) -> Preprocessor:
        """Learn each numeric feature's mean and standard deviation from training rows.

        Computed stably for any finite float64 values: each feature is divided by its largest
        magnitude first. A feature whose spread is below ``1e-7`` of its magnitude counts as
        constant (centred, not scaled).

        Shape:
            X: (n, :attr:`n_features`) encoded rows (``CSVData.X`` or a split of it).
        """
        X = self._features(X)
        if self.columns is None:
            self.columns = [{"name": f"x{k}", "kind": "numeric"} for k in range(X.shape[1])]
        self._check_width(X.shape[1])
        if len(X) == 0:
            raise DataError("Preprocessor.fit: no rows to learn from")
        numeric = self._numeric_mask()
        mean = np.zeros(X.shape[1])
        std = np.ones(X.shape[1])
        for k in np.flatnonzero(numeric):
            mean[k], std[k] = stable_moments(X[:, k])
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise DataError("Preprocessor.fit: the rows hold NaN or infinite values")
        self.mean, self.std = mean, std
        return self

    def _check_width(self, width: int) -> None:
        if width != self.n_features:
            raise DataError(f"expected {self.n_features} features, got {width}")

    def transform(self, data, dtype=np.float64) -> np.ndarray:
        """Rows as the model's input: raw rows are encoded first, then standardised.

        Args:
            data: a numeric array of encoded rows (n, :attr:`n_features`), or raw rows
                (lists or a text array with one cell per raw column, categories as text).
            dtype: the result's dtype (the CLI asks for float32, what the network uses).

        Returns:
            array (n, :attr:`n_features`).
        """
        if self.columns is None:
            raise DataError("Preprocessor.transform: not fitted; call fit(X_train) first")
        if self.standardize and self.mean is None:
            raise DataError("Preprocessor.transform: not fitted; call fit(X_train) first")
        data = self._by_name(data)
        array = data.array if isinstance(data, Tensor) else None
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
        return self._scale(X, dtype)

    def _by_name(self, data):
        """A pandas DataFrame's columns picked by name, as ``chainrule predict`` picks a
        file's: read by position, reordered columns were silently swapped, and iterating a
        frame of text gave its column names, not its rows."""
        if not (hasattr(data, "columns") and hasattr(data, "to_numpy")):
            return data
        if all(isinstance(c, (int, np.integer)) for c in data.columns):  # no names: by place
            numbers = all(t.kind in "fiub" for t in data.dtypes)
            return data.to_numpy(dtype=np.float64) if numbers else data.to_numpy(object)
        names = [tidy_text(str(c)) for c in data.columns]  # é one way, as in a file
        encoded = self.feature_names
        for wanted in (self.column_names, encoded):  # raw, or already encoded
            if all(name in names for name in wanted):
                frame = data[[data.columns[names.index(name)] for name in wanted]]
                numbers = wanted == encoded and all(t.kind in "fiub" for t in frame.dtypes)
                return frame.to_numpy(dtype=np.float64) if numbers else frame.to_numpy(object)
        missing = [name for name in self.column_names if name not in names]
        raise DataError(
            f"Preprocessor.transform: the DataFrame has no column(s) {listed(missing)}; the "
            f"columns are {listed(self.column_names)} (raw) or {listed(self.feature_names)} "
            f"(encoded)"
        )

    def _scale(self, X: np.ndarray, dtype) -> np.ndarray:
        out = np.empty(X.shape, dtype=dtype)
        for k in range(X.shape[1]):  # column by column: no float64 copy of the whole table
            column = X[:, k].astype(np.float64)
            if self.standardize:
                column = (column - self.mean[k]) / self.std[k]
            out[:, k] = column
        return out

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def transform_file(
        self, path, *, delimiter: str | None = None, encoding: str | None = None
    ) -> np.ndarray:
        """Read a CSV file of new rows and :meth:`transform` them (for prediction).

        A file with a header may hold its columns in any order and extra columns (the target,
        ids); they are picked by name. A file without one must hold exactly the raw feature
        columns, in training order. ``encoding``: the file's (``None`` detects it).
        """
        if self.standardize and self.mean is None:  # before reading a file for nothing
            raise DataError("Preprocessor.transform_file: not fitted; call fit(X_train) first")
        names, trained = self.column_names, self.number_format
        default = (trained or {}).get("delimiter") or ","
        header = first_row_names(path, delimiter, names, default, encoding=encoding)
        table = read_columns(
            path,
            delimiter=delimiter,
            header=header,
            min_rows=1,
            trained=trained and {**trained, "columns": names},  # a file without names
            encoding=encoding,
        )
        if table.has_header:
            absent = [name for name in names if name not in table.names]
            if absent:
                raise DataError(
                    f"{table.source}: line {table.header_line}: column(s) {absent} missing; the "
                    f"model expects {names}"
                )
            columns = [table[name] for name in names]
        else:
            if len(table.names) != len(names):
                raise DataError(
                    f"{table.source}: expected {len(names)} features, got {len(table.names)}"
                )
            columns = table.columns
        X = self.encode_columns(columns, source=table.source, lines=table.lines)
        return self._scale(X, np.float64)

    def decode_labels(self, indices) -> list[str]:
        """Class names for predicted class indices (the indices themselves without names)."""
        indices = np.asarray(indices).reshape(-1)
        if self.class_names is None:
            return [str(int(i)) for i in indices]
        return [self.class_names[int(i)] for i in indices]

    # ---- the target of a regression --------------------------------------------------------
    def fit_target(self, y) -> Preprocessor:
        """Learn the mean and spread of a regression target (training rows only)."""
        self.target_mean, self.target_std = stable_moments(np.asarray(y, dtype=np.float64))
        return self

    def scale_target(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if self.target_mean is None:
            return y
        return (y - self.target_mean) / self.target_std

    def unscale_target(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if self.target_mean is None:
            return y
        return y * self.target_std + self.target_mean

    # ---- saving ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-serialisable description, for saving with a model."""
        state = {
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
        if self.number_format is not None:
            state["number_format"] = dict(self.number_format)
        if self.target_unit is not None:
            state["target_unit"] = dict(self.target_unit)
        if self.label_case is not None:
            state["label_case"] = self.label_case
        if self.file_columns is not None:
            state["file_columns"] = list(self.file_columns)
        if self.target_mean is not None:
            state["target_scaling"] = {"mean": self.target_mean, "std": self.target_std}
        return state

    @classmethod
    def from_dict(cls, state: dict) -> Preprocessor:
        """Rebuild a preprocessor from :meth:`to_dict`'s output; raises ``DataError`` if bad."""
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise DataError("Preprocessor.from_dict: not a chainrule preprocessor description")
        if state.get("version") not in (1, _VERSION):
            raise DataError(f"Preprocessor.from_dict: unsupported version {state.get('version')!r}")
        try:  # names and categories composed as the reader composes a file's (unicode_forms)
            out = cls._from_state(tidy_all(state))
        except DataError as err:
            raise DataError(f"Preprocessor.from_dict: {err}") from err
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"Preprocessor.from_dict: malformed description ({err})") from err
        return out

    @classmethod
    def _from_state(cls, state: dict) -> Preprocessor:
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
                if key == "std" and not (values > 0).all():
                    raise ValueError("std must be positive")
                setattr(out, key, values)
        if (out.mean is None) != (out.std is None):
            raise ValueError("mean and std must be given together")
        scaling = state.get("target_scaling")
        if scaling is not None:
            mean, std = float(scaling["mean"]), float(scaling["std"])
            if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
                raise ValueError("target_scaling must hold a finite mean and a positive std")
            out.target_mean, out.target_std = mean, std
        out.number_format = _number_format(state.get("number_format"))
        if state.get("label_case") not in (None, "fold", "keep"):
            raise ValueError(f"unknown label_case {state['label_case']!r}")
        out.label_case = state.get("label_case")
        if state.get("file_columns") is not None:
            if not _names(state["file_columns"]):
                raise ValueError("file_columns must be a list of column names")
            out.file_columns = list(state["file_columns"])
        if state.get("target_unit") is not None:
            out.target_unit = check_unit(state["target_unit"], "target")
        return out

    def __repr__(self) -> str:
        width = self.n_features
        return (
            f"Preprocessor(columns={len(self.column_names)}, features={width}, "
            f"standardize={self.standardize}, fitted={self.fitted})"
        )


def _number_format(value) -> dict | None:
    """The saved format of the training file, checked (absent in models saved before it)."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("decimal") not in (".", ",")
        or not isinstance(value.get("grouped", False), bool)
        or value.get("delimiter", ",") not in (",", ";", "\t", "|")
        or not _names(value.get("thousands_dots", []))
    ):
        raise ValueError(
            "number_format must hold a decimal mark, grouped and a delimiter (and "
            "thousands_dots: a list of column names)"
        )
    out = {
        "decimal": value["decimal"],
        "grouped": value.get("grouped", False),
        "delimiter": value.get("delimiter", ","),
    }
    if value.get("thousands_dots"):
        out["thousands_dots"] = list(value["thousands_dots"])
    return out


def _names(value) -> bool:
    return isinstance(value, list) and all(isinstance(n, str) for n in value)


def stable_moments(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of finite values of any magnitude, computed after dividing
    by the largest magnitude (so neither ``x**2`` overflows nor tiny values underflow);
    a spread below :data:`RELATIVE_SPREAD` of the magnitude gives a std of 1 (constant)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0 or not np.isfinite(x).all():
        return math.nan, math.nan
    scale = float(np.abs(x).max())
    if scale == 0.0:
        return 0.0, 1.0
    z = x / scale
    mean_z = float(z.mean())
    std_z = float(np.sqrt(np.mean((z - mean_z) ** 2)))
    if std_z <= RELATIVE_SPREAD:
        return mean_z * scale, 1.0
    return mean_z * scale, std_z * scale
