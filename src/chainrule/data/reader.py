"""Reading CSV files as they come: encodings, line ends, delimiters, decimal commas.

:func:`read_columns` streams a file into one :class:`Column` per CSV column (float32 numbers,
int8 cell kinds and int32 codes of text cells), so a large numeric file costs about 5 bytes
per cell; :func:`records` yields the raw text rows for the few callers that want them.
Every problem is a :class:`chainrule.DataError` naming the file, the 1-based line and the
column.
"""

from __future__ import annotations

import itertools
import operator
import os
import re
from dataclasses import dataclass, field

import numpy as np

from chainrule.data.charset import Charset, choose_charset
from chainrule.data.excel_literals import unwrap_excel_literals
from chainrule.data.header import (
    _is_header,
    _names,
    blank_columns,
    header_key,
)
from chainrule.data.lines import records, sniff_delimiter  # noqa: F401  (re-exported)
from chainrule.data.messages import Message, braces, error, option, say, where  # noqa: F401
from chainrule.data.not_csv import check_one_column
from chainrule.data.numbers import (  # noqa: F401  (re-exported)
    ABSENT,
    MISSING,
    NUMBER,
    TEXT,
    NumberFormat,
    _is_float,
    detect_number_format,
    parse_cells,
    settle_number_format,
)
from chainrule.data.sheet_errors import add_sheet_errors, count_sheet_errors, sheet_error_notes
from chainrule.data.stray_lines import (
    TITLE_LINES,
    check_notes_below,
    check_title,
    check_units_rows,
)
from chainrule.data.totals import check_totals
from chainrule.data.unicode_forms import tidy_text
from chainrule.errors import DataError

CHUNK_ROWS = 16384
_SEPARATOR = "\x1f"  # joins cells to search them at once; no CSV cell holds it
#: A whole number written with a leading zero (007, 01234; not 0, 00, 0.5 or 10), as a cell.
_PADDED_CELL = re.compile(r"(?:^|\x1f)[ \t]*0\d*[1-9]\d*[ \t]*(?=\x1f|$)")
FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT32_EXACT = 2.0**24  # every whole number up to this is exact in float32
FLOAT64_EXACT = 2.0**53  # and in float64: beyond it, 1234567890123456701 is ...700 too
_DIGITS = re.compile(r"[+-]?\d+")


# ---- the columns ------------------------------------------------------------------------------
@dataclass(slots=True)
class Column:
    """One CSV column: float32 values, cell kinds, and text cells as codes into ``levels``."""

    name: str
    position: int
    values: np.ndarray
    kinds: np.ndarray
    codes: np.ndarray | None  # int32 code of each text cell (-1 elsewhere); None: no text
    levels: list[str]
    head: list  # the first rows of the file (all columns), for examples
    integral: bool  # every number is a whole number
    problem: tuple | None = None  # (row index, message) of the first number float32 can't hold
    block: tuple | None = None  # (values of all columns, kinds of all columns, this one's row)
    padded: str | None = None  # a whole number written with a leading zero (01234), if any
    sheet_errors: dict | None = None  # {"#DIV/0!": count, ...} and "rows": the first few

    @property
    def examples(self) -> list[str]:
        """Up to three distinct values from the top of the file."""
        return _examples(self.head, self.position)

    def text_of(self, i: int) -> str:
        """The cell of row ``i`` as text (numbers re-written)."""
        if self.codes is not None and self.codes[i] >= 0:
            return self.levels[self.codes[i]]
        if self.kinds[i] == ABSENT:
            return ""
        return number_key(float(self.values[i]))


def stack(columns: list[Column], what: str = "values") -> np.ndarray:
    """(rows, len(columns)) array of the columns' values or kinds, without a Python loop
    when they come from one file."""
    blocks = [c.block for c in columns]
    if blocks and all(b is not None and b[0] is blocks[0][0] for b in blocks):
        rows = np.fromiter((b[2] for b in blocks), np.int64, count=len(blocks))
        return blocks[0][0 if what == "values" else 1][rows].T
    return np.stack([getattr(c, what) for c in columns], axis=1)


def number_key(value: float) -> str:
    """A number as a category name: ``3`` for 3.0, ``2.5`` for 2.5 (float32 precision)."""
    if not np.isfinite(value):
        return str(value)
    if abs(value) < 2**53 and value == int(value):
        return str(int(value))
    return f"{value:.7g}"


class _TextColumn:
    """The text cells of one column, as codes into its list of distinct values."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self.levels: list[str] = []
        self.parts: list[tuple[int, np.ndarray]] = []

    def add(self, start: int, cells, text: np.ndarray) -> None:
        codes = np.full(len(cells), -1, dtype=np.int32)
        index, levels = self.index, self.levels
        for i in np.flatnonzero(text):
            cell = cells[i].strip()
            code = index.get(cell)
            if code is None:  # a new spelling: composed, é and e + ◌́ are one level
                composed = tidy_text(cell)
                code = index.get(composed)
                if code is None:
                    code = index[composed] = len(levels)
                    levels.append(composed)
                index[cell] = code
            codes[i] = code
        self.parts.append((start, codes))

    def build(self, n: int) -> np.ndarray:
        codes = np.full(n, -1, dtype=np.int32)
        for start, part in self.parts:  # a chunk may come in two parts (_huge_whole_numbers)
            view = codes[start : start + len(part)]
            view[part >= 0] = part[part >= 0]
        self.parts = []
        return codes


class _Builder:
    """Chunks of rows in, 2-D float32 values and int8 kinds out (about 5 bytes a cell)."""

    def __init__(self, names, wanted, fmt: NumberFormat, exact):
        self.names, self.wanted, self.fmt = names, np.asarray(wanted, dtype=np.int64), fmt
        self.exact = {k for k in wanted if names[k] in exact or k in exact}
        self.values, self.kinds, self.exact_values = [], [], {k: [] for k in self.exact}
        self.text: dict[int, _TextColumn] = {}
        self.integral = np.ones(len(wanted), dtype=bool)
        self.problem: dict[int, tuple] = {}
        self.rows = 0
        self.fast = fmt.decimal == "."
        self.padded: dict[int, str] = {}
        self.sheet_errors: dict[int, dict] = {}
        # columns whose dots are thousands separators: read as a decimal-comma file's
        self.column_fmt = {k: NumberFormat(",") for k in fmt.thousands if k in set(wanted)}

    def add(self, chunk_rows: list[list[str]]) -> None:
        r, m = len(chunk_rows), len(self.wanted)
        values = np.empty((r, m))
        kinds = np.empty((r, m), dtype=np.int8)
        slow = list(range(m))
        joined = _SEPARATOR.join(itertools.chain.from_iterable(chunk_rows))
        if _PADDED_CELL.search(joined):
            self._find_padded(chunk_rows)
        if self.fast and m:
            odd = self._underscored(chunk_rows, joined)
            odd |= {j for j, k in enumerate(self.wanted.tolist()) if k in self.column_fmt}
            for attempt in range(2):
                plain = [
                    j for j in range(m) if int(self.wanted[j]) not in self.text and j not in odd
                ]
                if not plain:
                    break
                fast_values = self._fast(chunk_rows, r, self.wanted[plain])
                if fast_values is not None:
                    values[:, plain] = fast_values
                    kinds[:, plain] = np.where(np.isnan(fast_values), ABSENT, NUMBER)
                    done = set(plain)
                    slow = [j for j in range(m) if j not in done]
                    break
                if attempt == 0:  # find the few columns with a cell that is not a number
                    odd |= self._odd_columns(chunk_rows, plain)
        if slow:
            columns = list(zip(*chunk_rows))
            for j in slow:
                k = int(self.wanted[j])
                cells = columns[k]
                values[:, j], kinds[:, j] = parse_cells(cells, self.column_fmt.get(k, self.fmt))
                if cells_with_errors := count_sheet_errors(cells, kinds[:, j], self.rows):
                    add_sheet_errors(self.sheet_errors.setdefault(k, {}), cells_with_errors)
                text = kinds[:, j] == TEXT
                if text.any():
                    self.text.setdefault(k, _TextColumn()).add(self.rows, cells, text)
            del columns
        huge = (kinds == NUMBER) & (np.abs(values) >= FLOAT64_EXACT)
        if huge.any():
            self._huge_whole_numbers(chunk_rows, values, kinds, huge)
        self._check(values, kinds)
        for k in self.exact:
            self.exact_values[k].append(values[:, int(np.searchsorted(self.wanted, k))].copy())
        with np.errstate(over="ignore"):
            self.values.append(values.astype(np.float32))
        self.kinds.append(kinds)
        self.rows += r

    def _find_padded(self, chunk_rows) -> None:
        """Note, per column, a whole number written with a leading zero (``01234``): a code,
        not a quantity. Every row is looked at, not only the first ones, so a column of zip
        codes whose first ``0...`` code comes late is read as codes all the same."""
        columns = list(zip(*chunk_rows))
        for k in self.wanted.tolist():
            if k in self.padded:
                continue
            found = _PADDED_CELL.search(_SEPARATOR.join(columns[k]))
            if found:
                self.padded[k] = found[0].strip(_SEPARATOR + " \t")

    def _underscored(self, chunk_rows, joined: str) -> set[int]:
        """Positions (in ``wanted``) of the columns with a ``_`` in a cell: ``float`` reads
        ``1_000`` and ``10_20`` (Python's digit grouping), which no spreadsheet writes, so
        those cells go through :func:`parse_cells`, which leaves them text."""
        if "_" not in joined:
            return set()
        wanted = self.wanted.tolist()
        return {j for j, k in enumerate(wanted) if any("_" in row[k] for row in chunk_rows)}

    def _odd_columns(self, chunk_rows, plain: list[int]) -> set[int]:
        """Positions (in ``wanted``) of the columns holding a cell ``float`` cannot read."""
        odd = set()
        picked = self.wanted[plain].tolist()
        for row in chunk_rows:
            try:
                for k in picked:
                    float(row[k])
            except ValueError:
                for j, k in zip(plain, picked):
                    try:
                        float(row[k])
                    except ValueError:
                        odd.add(j)
        return odd

    def _fast(self, chunk_rows, r: int, picked: np.ndarray):
        """The picked cells of the chunk converted in one call, or None if one is text."""
        m = len(picked)
        if m == len(self.names):
            cells = itertools.chain.from_iterable(chunk_rows)
        else:
            get = operator.itemgetter(*picked.tolist())
            rows = map(get, chunk_rows) if m > 1 else ((get(row),) for row in chunk_rows)
            cells = itertools.chain.from_iterable(rows)
        try:
            return np.fromiter(map(float, cells), np.float64, count=r * m).reshape(r, m)
        except ValueError:
            return None

    def _check(self, values: np.ndarray, kinds: np.ndarray) -> None:
        number = kinds == NUMBER
        with np.errstate(invalid="ignore"):
            whole = (values == np.round(values)) | ~number
            self.integral &= whole.all(axis=0)
            big = number & ~(np.abs(values) <= FLOAT32_MAX)
            wide = number & whole & (np.abs(values) > FLOAT32_EXACT)
        for j in np.flatnonzero(wide.any(axis=0)):
            self._keep_exact(int(self.wanted[j]), j)
        if big.any():
            for j in np.flatnonzero(big.any(axis=0)):
                k = int(self.wanted[j])
                if k not in self.problem:
                    i = int(np.argmax(big[:, j]))
                    what = "infinite" if np.isinf(values[i, j]) else "too large for float32"
                    self.problem[k] = (self.rows + i, values[i, j], what)

    def _huge_whole_numbers(self, chunk_rows, values, kinds, huge) -> None:
        """Whole numbers written with 16 digits or more (2**53 and beyond) are kept as their
        text: float64 cannot hold them (a tweet's or an order's id: 1234567890123456701 and
        ...702 were one number, so a column of distinct ids was "constant")."""
        for j in np.flatnonzero(huge.any(axis=0)):
            k = int(self.wanted[j])
            cells = [row[k] for row in chunk_rows]
            digits = [
                bool(h) and bool(_DIGITS.fullmatch(c.strip())) for h, c in zip(huge[:, j], cells)
            ]
            text = np.array(digits, dtype=bool)
            if text.any():
                kinds[text, j], values[text, j] = TEXT, np.nan
                self.text.setdefault(k, _TextColumn()).add(self.rows, cells, text)

    def _keep_exact(self, k: int, j: int) -> None:
        """Keep column ``k`` in float64 from now on: it holds whole numbers float32 rounds
        (123456781 and 123456783 are both 123456784 in float32), so codes would merge and a
        column of distinct codes look constant. Earlier chunks held none, so their float32
        values lose nothing that matters."""
        if k not in self.exact:
            self.exact.add(k)
            self.exact_values[k] = [chunk[:, j].astype(np.float64) for chunk in self.values]

    def build(self, head: list[list[str]]) -> list[Column]:
        m = len(self.wanted)
        values = np.concatenate(self.values) if self.values else np.zeros((0, m), np.float32)
        self.values = None
        kinds = np.concatenate(self.kinds) if self.kinds else np.zeros((0, m), np.int8)
        self.kinds = None
        columns = []
        values_t, kinds_t = values.T, kinds.T
        integral = self.integral.tolist()
        for j, k in enumerate(self.wanted.tolist()):
            text = self.text.get(k)
            v = np.concatenate(self.exact_values[k]) if k in self.exact else values_t[j]
            problem = self.problem.get(k)
            if problem is not None:
                i, value, what = problem
                cell = head[i][k].strip() if i < len(head) else repr(float(value))
                problem = (i, f"{cell!r} is {what} (float32 holds up to 3.4e38)")
            columns.append(
                Column(
                    self.names[k],
                    k,
                    v,
                    kinds_t[j],
                    None if text is None else text.build(self.rows),
                    [] if text is None else text.levels,
                    head,
                    integral[j],
                    problem,
                    None if k in self.exact else (values_t, kinds_t, j),
                    self.padded.get(k),
                    self.sheet_errors.get(k),
                )
            )
        return columns


def _examples(head: list[list[str]], k: int) -> list[str]:
    out: list[str] = []
    for row in head:
        if k >= len(row):
            break
        cell = row[k].strip()
        if cell and cell.lower() not in MISSING and cell not in out:
            out.append(cell)
            if len(out) == 3:
                break
    return out


@dataclass
class Columns:
    """A CSV file read column by column (see :func:`read_columns`)."""

    source: str
    names: list[str]
    columns: list[Column | None]
    lines: np.ndarray  # the 1-based line on which each row starts
    has_header: bool
    header_line: int | None
    delimiter: str
    number_format: NumberFormat
    encoding: str
    notes: list[str] = field(default_factory=list)
    charset: Charset | None = None  # how the file was decoded, to read it again
    repeated: dict = field(default_factory=dict)  # a name the header gives twice: its columns

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, name: str) -> Column:
        index = self.__dict__.get("_index")
        if index is None or len(index) != len(self.names):
            index = self.__dict__["_index"] = {n: k for k, n in enumerate(self.names)}
        return self.columns[index[name]]


def read_columns(
    path,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    decimal: str | None = None,
    min_rows: int = 1,
    keep=None,
    exact=(),
    trained: dict | None = None,
    encoding: str | None = None,
) -> Columns:
    # Over 80 lines only because of the docstring (its options' reference).
    """Stream a CSV file into columns, checking encoding, quoting and row lengths.

    Args:
        path: the file: UTF-8 (with or without BOM), UTF-16 with BOM or Windows-1252; LF,
            CRLF or CR line ends.
        delimiter: the cell separator; ``None`` picks the one of ``, ; TAB |`` found the same
            number of times on most of the first lines.
        header: whether the first row names the columns; ``None`` decides (see
            :func:`~chainrule.data.load_csv`).
        decimal: ``"."`` or ``","``; ``None`` detects decimal commas in files whose cells are
            not separated by commas.
        min_rows: the fewest data rows accepted.
        keep: names of the columns to convert (others are only checked for shape and are
            ``None`` in ``columns``); ``None``: all.
        exact: names (or 0-based positions) of columns kept as float64 (a target).
        trained: for new rows, the format of the model's training file (``{"decimal": ",",
            "grouped": False, "delimiter": ";"}``): numbers that read differently in the
            two conventions (``4.500``) are read as in training, and a file that plainly
            writes them otherwise gets a note. Its ``thousands_dots`` columns are read with
            thousands dots (by name; in a file without names, by their place in
            ``columns``, the model's columns in order).
        encoding: the file's text encoding (``"cp1252"``, ``"utf-16"``...); ``None``
            detects it (see :mod:`chainrule.data.charset`).
    """
    source = os.fspath(path)
    default = (trained or {}).get("delimiter") or ","
    charset = choose_charset(path, source, encoding)
    found: list[str] = []
    delimiter, rows = records(
        path, delimiter=delimiter, source=source, default=default, encoding=charset, notes=found
    )
    first_chunk = list(itertools.islice(rows, CHUNK_ROWS))
    if not first_chunk:
        raise DataError(f"{source}: the file is empty; expected a header and rows of data")
    cells = [row for _, row in first_chunk]
    fmt, format_notes = settle_number_format(cells[1:] or cells, delimiter, decimal, trained)
    inferred = header is None
    check_title(first_chunk[: TITLE_LINES + 1], source)  # new rows read headerless too
    if header is not False:
        check_one_column(cells[:21], source)
    if inferred:
        header = _is_header(cells[0], cells[1:], fmt)
    first_chunk_line = first_chunk[0][0]
    names, header_line, notes, repeated = _names(
        cells[0], header, inferred, source, first_chunk_line
    )
    notes += found + format_notes
    if trained and trained.get("thousands_dots") and decimal is None and fmt.decimal == ".":
        order = names if header else trained.get("columns", names)  # no names: training's
        fmt.thousands = tuple(k for k, n in enumerate(order) if n in trained["thousands_dots"])
    if header:
        first_chunk = first_chunk[1:]
    width = len(names)
    blank = [k for k, cell in enumerate(cells[0]) if header and not cell.strip()]
    wanted = list(range(width))
    if keep is not None:
        wanted = [k for k, n in enumerate(names) if n in keep or k in blank]
    exact = {e % width if isinstance(e, int) and -width <= e < width else e for e in exact}
    builder = _Builder(names, wanted, fmt, exact)
    header_row = cells[0] if header else None
    key = header_key(header_row) if header_row else ()
    # row i of head is the builder's row i: repeats of the header are skipped in both
    head = [row for _, row in first_chunk[:200] if not (key and header_key(row) == key)]
    repeats: list[int] = []
    lines = _stream(builder, first_chunk, rows, width, header_row, delimiter, source, repeats)
    if repeats:
        notes.append(repeated_header_note(repeats))
    _check_row_count(builder.rows, min_rows, bool(header), source)
    columns: list[Column | None] = [None] * width
    for col in builder.build(head):
        unwrap_excel_literals(col, fmt)  # ="00123": the text Excel shows
        columns[col.position] = col
    if blank:
        notes += blank_columns(cells[0], columns, names, source, first_chunk_line)
    notes += sheet_error_notes(columns)
    table = Columns(
        source,
        names,
        columns,
        np.concatenate(lines),
        bool(header),
        header_line,
        delimiter,
        fmt,
        charset.label,
        notes,
        charset,
        repeated,
    )
    check_totals(table)
    check_notes_below(table)
    check_units_rows(table)
    return table


def _stream(builder, chunk, rows, width: int, header_row, delimiter, source: str, repeats):
    """Feed ``chunk`` and the rest of ``rows`` to ``builder`` in chunks, checking each row's
    length; the 1-based start lines of the rows, one array per chunk. Rows equal to the
    header (``header_row``; files pasted together) are left out, their lines added to
    ``repeats``."""
    lines: list[np.ndarray] = []
    header = header_row is not None
    key = header_key(header_row) if header else ()

    def repeat(row) -> bool:  # the header again, perhaps spaced, cased or padded otherwise
        first = row[0].strip().lstrip("\ufeff").strip().casefold() if row else None
        return first == key[0] and header_key(row) == key

    while chunk:
        if header and key and any(repeat(row) for _, row in chunk):
            repeats += [start for start, row in chunk if repeat(row)]
            chunk = [(start, row) for start, row in chunk if not repeat(row)]
            if not chunk:
                chunk = list(itertools.islice(rows, CHUNK_ROWS))
                continue
        starts = np.fromiter((s for s, _ in chunk), np.int64, count=len(chunk))
        chunk_rows = [row for _, row in chunk]
        for i, (start, row) in enumerate(chunk):
            if len(row) > width and not "".join(row[width:]).strip():
                row = chunk_rows[i] = row[:width]  # Excel's empty cells past the last column
            if len(row) != width:
                what = "the header" if header else "the first row"
                fix = f"check for a missing or extra {delimiter!r}, or quote cells that contain it"
                if width == 1 < len(row):  # "Sales report 2024" above the real header
                    fix = f"if a title or notes sit above the header, delete those lines; {fix}"
                elif row and row[0].lstrip().startswith("#"):  # "# exported by ..." mid-file
                    fix = (
                        "the line starts with '#': if it is a comment, delete it (comment "
                        f"lines are skipped only above the header); else {fix}"
                    )
                elif len(row) == 1 < width and not _is_float(row[0]):  # "Source: ..." below
                    fix = (
                        f"if it is a note below the data (a source, a footnote: "
                        f"{row[0].strip()[:40]!r}), delete it; else {fix}"
                    )
                raise DataError(
                    f"{source}: line {start}: expected {width} columns (as in {what}), found "
                    f"{len(row)}; {fix}"
                )
        builder.add(chunk_rows)
        lines.append(starts)
        del chunk_rows
        chunk = list(itertools.islice(rows, CHUNK_ROWS))
    return lines


def repeated_header_note(repeats: list[int]) -> str:
    """The note for rows that repeat the header: which lines were left out."""
    shown = ", ".join(map(str, repeats[:5])) + (", ..." if len(repeats) > 5 else "")
    return (
        f"{len(repeats)} row(s) repeat the header (files pasted together?), on line(s) "
        f"{shown}: skipped, not read as data"
    )


def _check_row_count(n: int, min_rows: int, header: bool, source: str) -> None:
    if n >= min_rows:
        return
    if n == 0:
        if header:
            raise DataError(f"{source}: the file has a header but no rows of data")
        raise DataError(f"{source}: the file is empty; expected a header and rows of data")
    raise DataError(f"{source}: only {n} row of data; need at least {min_rows} to train")


def first_row_names(
    path, delimiter, expected: list[str], default: str = ",", encoding=None
) -> bool:
    """Whether a file of new rows starts with a header: its first row names a model column."""
    _, rows = records(path, delimiter=delimiter, default=default, encoding=encoding)
    first = next(rows, (0, []))[1]
    rows.close()
    names = {name.casefold() for name in expected}  # X1 for x1: a header, matched later
    return any(cell.strip().casefold() in names for cell in first)
