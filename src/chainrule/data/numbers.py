"""Numbers as people write them: decimal points or commas, thousands separators, and
the markers of a missing cell."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from chainrule.data.messages import braces, option, say
from chainrule.errors import DataError

#: Cells read as "no value" (compared after stripping spaces, ignoring case): ours, and
#: those pandas reads as missing by default (``#N/A`` from Excel, ``<NA>`` from pandas), and
#: ``\N``, the NULL of MySQL's and PostgreSQL's text exports.
#: Excel's and LibreOffice's error values, where a formula failed (``#DIV/0!``): no value,
#: not a word. Read as missing, and counted in a note. (``#N/A``, "not available", which
#: users also type on purpose and pandas reads as missing, is a plain missing marker.)
SHEET_ERRORS = frozenset(
    {"#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!", "#spill!", "#calc!"}
)
MISSING = (
    frozenset(
        {"", "na", "n/a", "nan", "null", "none", "?", "-", "--", "\\n"}
        | {"#n/a", "#na", "#n/a n/a", "<na>", "-nan", "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan"}
    )
    | SHEET_ERRORS
)
NUMBER, ABSENT, TEXT = 0, 1, 2

# Cells that are numbers written with a decimal comma or with thousands separators. A
# grouped number never starts with a group of 0 (0.939 is not 939, 0,939 not 939).
_COMMA_DECIMAL = re.compile(
    r"[+\-\u2212]?(?:[1-9]\d{0,2}(?:[. \u00a0\u202f']\d{3})+|\d*),\d+(?:[eE][+\-]?\d{1,3})?"
)  # 1,5E-3: Excel's scientific format in a decimal-comma locale
# 1,234.5, and India's lakh grouping, 12,34,567.89 (two digits a group above the thousands)
_DOT_GROUPED = re.compile(
    r"[+\-\u2212]?(?:[1-9]\d{0,2}(?:[, \u00a0\u202f']\d{3})+|[1-9]\d?(?:,\d\d)+,\d{3})(?:\.\d*)?"
)
_DOT_DECIMAL = re.compile(r"[+\-\u2212]?\d+\.(?:\d{1,2}|\d{4,})")  # never a thousands group
_GROUP_HINT = re.compile(r"\d[, \u00a0\u202f']\d{3}")
# 4.500 in a decimal-comma file
_COMMA_THOUSANDS = re.compile(r"[+\-\u2212]?[1-9]\d{0,2}(?:\.\d{3})+")
_SPACE_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+")
_GROUP_MARKS = str.maketrans("", "", ". \u00a0\u202f'")
_GROUP_MARKS_DOT = str.maketrans("", "", ", \u00a0\u202f'")


@dataclass
class NumberFormat:
    """How numbers are written in a file: the decimal mark and any thousands separator.
    ``thousands``: the 0-based columns of a decimal-point file whose dots are thousands
    separators (``1.500`` beside ``750``, see :func:`thousands_dot_columns`); they are read
    as a decimal-comma file's cells are. ``unsure``: columns of such a file that could be
    either (``1.500``, ``2.250`` and no other number), read with the decimal point."""

    decimal: str = "."
    grouped: bool = False
    thousands: tuple[int, ...] = ()
    unsure: tuple[int, ...] = ()

    def describe(self) -> str:
        if self.decimal == ",":
            return "decimal comma (1.234,5)"
        return "thousands separators (1,234.5)" if self.grouped else "decimal point"


def detect_number_format(rows: list[list[str]], delimiter: str, decimal: str | None):
    """Decimal commas (only where ``,`` is not the delimiter) and thousands separators."""
    if decimal not in (None, ".", ","):
        raise DataError(f"decimal must be '.' or ',', got {decimal!r}")
    cells = [cell.strip() for row in rows[:2000] for cell in row]
    thousands: tuple[int, ...] = ()
    unsure: tuple[int, ...] = ()
    if decimal is None:
        comma = delimiter != "," and any(_COMMA_DECIMAL.fullmatch(c) for c in cells if "," in c)
        dotted = comma and any(_DOT_DECIMAL.fullmatch(c) for c in cells if "." in c)
        decimal = "," if comma and not dotted else "."
        if not comma and delimiter != "," and thousands_dots(rows[:2000]):
            decimal = ","  # 519 beside 1.260 in one column: 1260, not 1.26
        elif not comma and delimiter != ",":
            thousands, unsure = thousands_dot_columns(rows[:2000])  # ... beside 4.5 elsewhere
    grouped = False
    if decimal == "." and _GROUP_HINT.search("\n".join(cells)):
        grouped = any(_DOT_GROUPED.fullmatch(c) and not _is_float(c) for c in cells)
    return NumberFormat(decimal, grouped, thousands, unsure)


_WHOLE = re.compile(r"[+\-]?\d+")


def _thousands_column(cells: list[str]) -> bool | None:
    """For one column: True when every dotted cell is groups of three digits (``1.260``)
    and a whole number from 100 to 999 sits beside them (``519``); False when a dotted
    number is a decimal (``4.5``, ``0.250``); None when it says neither."""
    dotted = [c for c in cells if "." in c]
    if not dotted:
        return None
    if not all(_COMMA_THOUSANDS.fullmatch(c) for c in dotted):
        return False if any(_is_float(c) for c in dotted) else None  # or Dr. Smith, 01.03.
    return any(_WHOLE.fullmatch(c) and 100 <= abs(int(c)) < 1000 for c in cells) or None


def thousands_dot_columns(rows: list[list[str]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The columns of a decimal-point file (``4.5`` somewhere) whose dots are thousands
    separators all the same: ``1.500``, ``2.250`` beside ``750``, ``900``. Read with the
    file's decimal point they would be 1.5 and 2.25 among hundreds; a column with one
    decimal of its own (``2.25``, ``0.750``) keeps the point. Second, where the first is
    not empty: the columns of groups of three digits with no such evidence either way
    (``1.500``, ``2.250``, ``12``), read with the decimal point, for a note."""
    sure, unsure = [], []
    for k, column in enumerate(zip(*rows)):
        cells = [c.strip() for c in column]
        verdict = _thousands_column(cells)
        if verdict:
            sure.append(k)
        elif verdict is None and _all_groups(cells):
            unsure.append(k)
    return tuple(sure), tuple(unsure) if sure else ()


def _all_groups(cells: list[str]) -> bool:
    dotted = [c for c in cells if "." in c]
    return bool(dotted) and all(_COMMA_THOUSANDS.fullmatch(c) for c in dotted)


def thousands_dots(rows: list[list[str]]) -> bool:
    """Whether dots are thousands separators in a file with no decimal comma (``;``-separated,
    European): a column mixes ``1.260``, ``4.076`` (every dotted cell groups of three digits)
    with whole numbers from 100 to 999 (``519``), and no number in the file has a dot that
    cannot be a thousands separator (``4.5``). Read with a decimal point, 519 and 1.26 would
    sit in one column, out of order; read as thousands, 519 and 1260 follow on."""
    if not rows:
        return False
    found = False
    for column in zip(*rows):
        verdict = _thousands_column([c.strip() for c in column])
        if verdict is False:
            return False  # a real decimal point (4.5, 0.250) somewhere in the file
        found = found or bool(verdict)
    return found


def settle_number_format(rows, delimiter: str, decimal: str | None, trained: dict | None):
    """The number format of a file of NEW rows, for a model trained on a file written with
    ``trained`` (``{"decimal": ..., "grouped": ...}``, ``None`` for older models).

    Cells only one convention reads (``4,5``, ``4.5``, ``1.234,5``) decide; cells both read
    differently (``4.500``, ``4,500``) are read as in the training file. Returns the
    :class:`NumberFormat` and the notes the user should see.
    """
    fmt = detect_number_format(rows, delimiter, decimal)
    if decimal is not None or not trained or trained.get("decimal") not in (".", ","):
        return fmt, []
    before = trained["decimal"]
    if delimiter == "," and before == ".":
        return fmt, []  # comma-separated cells: decimal commas are never guessed
    comma, dot, both = convention_evidence(rows)
    if comma and dot:
        return fmt, []  # two conventions in one file: the schema reports the odd cells
    own = "," if comma else "." if dot else None
    fmt = detect_number_format(rows, delimiter, own or before)
    other = "." if before == "," else ","
    if own is not None and own != before:
        text = (
            f"this file writes numbers with {_MARKS[own]} (e.g. {braces(repr(comma or dot))}), the "
            f"training file with {_MARKS[before]}; they are read as this file writes them "
            f"(pass {{o}} to read them as in training)"
        )
        return fmt, [say(text, o=option("decimal", before))]
    if own is None and both is not None:
        text = (
            f"numbers like {braces(repr(both))} are read as in the training file, which used "
            f"{_MARKS[before]} ({braces(both)} = {_to_float(both, fmt):g}); pass {{o}} if "
            f"that is wrong"
        )
        return fmt, [say(text, o=option("decimal", other))]
    return fmt, []


_MARKS = {",": "a decimal comma", ".": "a decimal point"}


def convention_evidence(rows) -> tuple[str | None, str | None, str | None]:
    """A cell only a decimal comma reads (``4,5``), one only a decimal point reads (``4.5``),
    and one both read, with different values (``4.500``); ``None`` where there is none."""
    comma = dot = both = None
    for row in rows[:2000]:
        for cell in row:
            s = cell.strip()
            if "." not in s and "," not in s:
                continue
            as_comma = _to_float(s, NumberFormat(",")) if _comma_number(s) else None
            as_dot = _to_float(s, NumberFormat(".", True))
            if as_comma is not None and as_dot is not None:
                if both is None and as_comma != as_dot:
                    both = s
            elif as_comma is not None:
                comma = comma or s
            elif as_dot is not None:
                dot = dot or s
        if comma and dot:
            break
    return comma, dot, both


def _comma_number(s: str) -> bool:
    return bool(_COMMA_DECIMAL.fullmatch(s) or _COMMA_THOUSANDS.fullmatch(s))


def is_grouped(cell: str) -> bool:
    """Whether a cell is a number written with thousands separators (``1,234.5``,
    ``29'874``), which plain ``float`` cannot read."""
    return bool(_DOT_GROUPED.fullmatch(cell.strip())) and not _is_float(cell)


def is_number(cell: str) -> bool:
    """Whether a cell is a plain number (``01234``, ``2.5``, ``-3``)."""
    return _WHOLE.fullmatch(cell.strip()) is not None or _is_float(cell)


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _normalise(cell: str, fmt: NumberFormat) -> str | None:
    """The cell in Python's float syntax, or None when it is not a number in ``fmt``."""
    s = cell.strip()
    if fmt.decimal == ",":
        if _COMMA_DECIMAL.fullmatch(s):
            head, _, tail = s.rpartition(",")
            return head.translate(_GROUP_MARKS) + "." + tail
        if re.fullmatch(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+", s):
            return s.replace(".", "")
        if _SPACE_GROUPED.fullmatch(s):  # 12 345 (French, Nordic): a whole number
            return s.translate(_GROUP_MARKS)
        return None
    if fmt.grouped and _DOT_GROUPED.fullmatch(s):
        return s.translate(_GROUP_MARKS_DOT)
    return None


def _to_float(cell: str, fmt: NumberFormat) -> float | None:
    if cell[:2] in ("'-", "'+"):  # '-5.2: the guard web apps' CSV exports put before a sign
        cell = cell[1:]
    if "_" in cell:
        return None  # 1_000, 10_20: Python's syntax, no spreadsheet's; a code, not a number
    if "\u2212" in cell:  # -3,1 written with the minus sign (U+2212) some locales export
        stripped = cell.strip()
        if not stripped.startswith("\u2212"):
            return None
        cell = "-" + stripped[1:]
    text = cell
    if fmt.decimal == ",":
        text = _normalise(cell, fmt)
        if text is None:
            if "." in cell:
                return None  # a dot that is not a thousands group, in a decimal-comma file
            text = cell
    try:
        return float(text)
    except ValueError:
        if fmt.grouped:
            text = _normalise(cell, fmt)
            if text is not None:
                return float(text)
        return None


def parse_cells(cells, fmt: NumberFormat | None = None):
    """Numbers and kinds of a sequence of text cells.

    Returns ``(values, kinds)``: float64 (NaN where there is no number) and int8
    ``NUMBER`` / ``ABSENT`` (a :data:`MISSING` marker or NaN) / ``TEXT``.
    """
    fmt = fmt or NumberFormat()
    n = len(cells)
    if fmt.decimal == "." and "_" not in "".join(cells):  # float reads 1_000
        try:
            values = np.fromiter(map(float, cells), np.float64, count=n)
            kinds = np.where(np.isnan(values), ABSENT, NUMBER).astype(np.int8)
            return values, kinds
        except ValueError:
            pass
    values = np.full(n, np.nan)
    kinds = np.zeros(n, dtype=np.int8)
    for i, cell in enumerate(cells):
        if cell[:1].isalpha() and cell[:1] not in "iInN":  # quick: text, not inf/nan
            kinds[i] = TEXT if cell.strip().lower() not in MISSING else ABSENT
            continue
        value = _to_float(cell, fmt)
        if value is None:
            kinds[i] = ABSENT if cell.strip().lower() in MISSING else TEXT
        elif value != value:
            kinds[i] = ABSENT
        else:
            values[i] = value
    return values, kinds
