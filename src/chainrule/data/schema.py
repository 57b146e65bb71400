"""Schema inference: what each CSV column is, what it is used for, and why.

Each column gets a *type* (what its cells look like: number, integer, text, boolean, date,
empty) and a *role* (what training does with it):

=============  ==============================================================  ===========
role           rule                                                            used?
=============  ==============================================================  ===========
numeric        numbers (a few stray text cells are errors pointing at them)    yes
categorical    text with at most 1,000 distinct values, repeated across rows   yes (one-hot)
boolean        two values: 0/1, true/false, yes/no, y/n, t/f                    yes (0/1)
identifier     named like an id (``id``, ``PassengerId``, ``user_id``), or     no
               unique per row (text; integers counting 1, 2, 3, ...), or
               text with more distinct values than half the rows
free text      text averaging 30+ characters and 4+ words, mostly distinct     no
constant       a single value in every row                                     no
time           times of day (08:15, 17:40:05, 8:15 PM), as hours since midnight  yes
date           ISO (2024-03-01), 01/03/2024 or 01.03.2024 dates                no
comma          numbers with a decimal comma (172,3) in a file whose numbers    no
decimals       use a point (70.12): two conventions, neither reading is safe
units          numbers with a % or currency sign (51.3%, $5,125.70, (12.50))   no
empty          no values at all                                                no
=============  ==============================================================  ===========

Roles are overridden by naming columns: ``features`` (exactly these columns, whatever their
role), ``drop``, ``categorical`` (numbers read as category names) and ``numeric`` (ISO dates
become days since 1970-01-01).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from chainrule.data.accounting import read_parentheses
from chainrule.data.code_columns import code_role
from chainrule.data.messages import first_few
from chainrule.data.missing_words import missing_words_reason, read_missing_words
from chainrule.data.reader import (
    ABSENT,
    NUMBER,
    TEXT,
    Column,
    Columns,
    number_key,
    stack,
    where,
)
from chainrule.data.times import time_role
from chainrule.data.units import read_units
from chainrule.errors import DataError

USED_ROLES = ("numeric", "categorical", "boolean", "time")
#: A column of numbers may hold this share of text cells (one always): typos, reported as
#: errors; with more text it is read as text (numbers become category names).
STRAY_TEXT = 0.02
#: A text column with more distinct values than this is never a category.
MAX_CATEGORIES = 1000
#: Integer targets are class labels when they have at most this many distinct values ...
MAX_INTEGER_CLASSES = 20
#: ... and at least this many rows per distinct value on average (two values always are).
ROWS_PER_CLASS = 5
BOOLEAN_PAIRS = ({"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"})
TRUE_WORDS = frozenset({"true", "yes", "y", "t", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "f", "0"})

# "Unnamed: 0": pandas' name for a DataFrame's index read back without index_col and
# written again, row labels whatever their order
_ID_NAME = re.compile(
    r"(?:^|.*[_\s.-])(?:id|uuid|guid)$|^(?:index|key|row|unnamed: ?\d+)$", re.IGNORECASE
)
_CAMEL_ID = re.compile(r".*[a-z0-9](?:Id|ID)$")  # PassengerId, userID (case matters)
# customer_no, Order Nr., invoice #, OrderNumber, Kundennummer; not "number of rooms"
_NUMBER_ID = re.compile(
    r"(?i).*[a-z](?:[_\s.-]+(?:no|nr|num|#)\.?|[_\s.-]*(?:number|nummer)|-?nr\.?)"
)
# a number with a decimal comma that cannot be a thousands separator (not exactly 3 digits after)
_COMMA_DECIMAL = re.compile(r"[-+]?\d+,(?:\d{1,2}|\d{4,})")
# 51.3%, $5,125.70, -€12, (1,200.00 USD): a number with a percent or currency sign
_UNIT_NUMBER = re.compile(
    r"\(?[-+]?(?:[$€£¥₹]|USD|EUR|GBP|INR)?\s?[-+]?\d[\d,.' ]*\s?(?:%|[$€£¥₹]|USD|EUR|GBP|INR)?\)?"
)
_UNIT_SIGN = re.compile(r"%|[$€£¥₹]|USD|EUR|GBP|INR")
# a time after a date: 12:30, 12:30:05.25, 12:30 PM, with a zone (Z, UTC, +02:00, -0500)
_TIME = (
    r"(?:(?:[T ]|, ?)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?[AaPp][Mm])?"
    r"(?: ?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?)?"
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{4}}/\d{{1,2}}/\d{{1,2}}|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
    rf"|\d{{1,2}}[ -]{_MONTH}[ -]\d{{2,4}}|{_MONTH} \d{{1,2}},? \d{{4}}){_TIME}",
    re.IGNORECASE,
)
_PADDED = re.compile(r"0\d*[1-9]\d*")  # 007, 01234; not 0, 00 (a zero), 0.5 or 10


#: Names of postal-code columns: codes, never quantities, whether or not one starts with 0.
_POSTAL = re.compile(
    r"(?i)\s*(?:.*[_\s.-])?(?:zip|zip[_\s.-]?code|zipcode|post[_\s.-]?code|postal[_\s.-]?code|"
    r"plz|postleitzahl|code[_\s.-]postal)\s*"
)


#: Names of columns of people's names: identifiers, whatever their count of values.
_PERSON = re.compile(
    r"(?i)\s*(?:(?:customer|client|patient|employee|user|contact|person|first|last|full|given|"
    r"family|middle)[_\s.-]?)?name|(?:sur|fore|first|last)name|vorname|nachname|pr[ée]nom\s*"
)


def named_like_id(name: str) -> bool:
    """``id``, ``ID``, ``user_id``, ``PassengerId``, ``order-uuid``, ``index``, ``Unnamed: 0``:
    True."""
    name = name.strip()
    if re.fullmatch(r"(?i)(?:id|uuid|guid)", name):
        return True
    return bool(_ID_NAME.fullmatch(name) or _CAMEL_ID.fullmatch(name))


@dataclass(slots=True)
class ColumnInfo:
    """What one column is (``type``), what training does with it (``role``), and why."""

    name: str
    position: int
    type: str
    role: str
    missing: int
    distinct: int
    column: Column = field(repr=False)
    reason: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def examples(self) -> list[str]:
        return self.column.examples

    @property
    def used(self) -> bool:
        return self.role in USED_ROLES


@dataclass
class Schema:
    """Every column's :class:`ColumnInfo`, the target's, and the notes to show the user."""

    columns: list[ColumnInfo]
    target: ColumnInfo | None = None
    task: str | None = None
    task_reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[ColumnInfo]:
        return [c for c in self.columns if c.used and c is not self.target]

    @property
    def left_out(self) -> list[ColumnInfo]:
        return [c for c in self.columns if not c.used and c is not self.target]

    def __getitem__(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> list[dict]:
        keys = ("name", "type", "role", "missing", "distinct", "examples", "reason", "stats")
        return [{k: getattr(c, k) for k in keys} for c in self.columns]


def summarise(columns: list[Column]) -> list[tuple]:
    """Per column: (numbers, text cells, distinct numbers, min, max, mean).

    Many short columns are summarised together (one sort for all), few long ones one by one.
    """
    if len(columns) > 64 and len(columns[0].kinds) * len(columns) <= 5_000_000:
        return _summarise_block(columns)
    return [_summarise_block([col])[0] for col in columns]


def _summarise_block(columns: list[Column]) -> list[tuple]:
    kinds = stack(columns, "kinds")
    values = stack(columns).astype(np.float64)
    number = kinds == NUMBER
    n_number = number.sum(axis=0)
    n_text = (kinds == TEXT).sum(axis=0)
    ordered = np.sort(np.where(number, values, np.inf), axis=0)
    with np.errstate(invalid="ignore"):
        steps = np.diff(ordered, axis=0) != 0
    rows = np.arange(len(ordered) - 1)[:, None]
    distinct = (steps & (rows < n_number - 1)).sum(axis=0) + (n_number > 0)
    last = np.maximum(n_number - 1, 0)
    low = ordered[0] if len(ordered) else np.zeros(len(columns))
    high = ordered[last, np.arange(len(columns))] if len(ordered) else low
    scale = np.maximum(np.maximum(np.abs(low), np.abs(high)), 1e-300)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(number, values / scale, 0).sum(axis=0) / np.maximum(n_number, 1) * scale
    columns = zip(
        n_number.tolist(),
        n_text.tolist(),
        distinct.tolist(),
        low.tolist(),
        high.tolist(),
        mean.tolist(),
    )
    return list(columns)


def describe(col: Column, summary: tuple | None = None, *, times: bool = True) -> ColumnInfo:
    """Infer a column's type and role from its cells (see the module's table)."""
    summary = summary or _summarise_block([col])[0]
    n = len(col.kinds)
    n_number, n_text = summary[0], summary[1]
    missing = n - n_text - n_number
    info = ColumnInfo(col.name, col.position, "empty", "empty", missing, 0, col)
    if n_text == 0 and n_number == 0:
        info.reason = "no values"
        return info
    if _answers_and_digits(col, summary):  # yes, no, TRUE, FALSE, 1, 0: one boolean
        return _text(col, info, n_number, n_text)
    if n_number >= n_text and n_text <= max(1, STRAY_TEXT * (n_text + n_number)):
        return _numeric(col, info, summary)
    return _text(col, info, n_number, n_text, times)


def _digit_answers(col: Column) -> set[str]:
    """``{"0", "1"}`` (or one of them) when a column's numbers are only 0 and 1, else
    ``{"?"}`` (which no answer set holds)."""
    numbers = col.values[col.kinds == NUMBER]
    found = {number_key(float(v)) for v in np.unique(numbers)}
    return found if found <= {"0", "1"} else {"?"}


def _answers_and_digits(col: Column, summary: tuple) -> bool:
    """Whether a column mixes yes/no words with the numbers 0 and 1 (yes, no, TRUE,
    FALSE, 1, 0, as columns filled by several people or tools hold them)."""
    n_number, n_text, distinct, low, high = summary[:5]
    if not (n_number and n_text) or distinct > 2 or low < 0 or high > 1:
        return False
    return _answers({level.lower() for level in col.levels} | _digit_answers(col))


def _numeric(col: Column, info: ColumnInfo, summary: tuple) -> ColumnInfo:
    n_number, n_text, distinct, low, high, mean = summary
    info.distinct = distinct + (len(col.levels) if n_text else 0)
    info.type = "integer" if col.integral else "number"
    info.stats = {"min": low, "max": high, "mean": mean}
    if n_text:
        info.role, info.reason = "numeric", f"numbers with {n_text} text cell(s)"
    elif distinct == 1 and n_number >= 3:
        info.role, info.reason = "constant", f"every row holds {number_key(low)}"
    elif col.integral and named_like_id(col.name) and distinct >= 0.9 * n_number:
        info.role, info.reason = "identifier", "named like an id"
    elif col.integral and _NUMBER_ID.fullmatch(col.name) and distinct >= 0.9 * n_number:
        # customer_no, Kundennummer: one per row, a code whose size means nothing
        info.role, info.reason = "identifier", "named like a customer or order number"
    elif col.integral and distinct == n_number >= 20 and high - low + 1 == distinct:
        info.role, info.reason = "identifier", "counts 1, 2, 3, ... (one per row)"
    elif distinct == 2 and low == 0.0 and high == 1.0:
        info.role, info.type, info.reason = "boolean", "boolean", "0/1"
    elif col.integral and ((code := _zero_padded(col)) is not None or _POSTAL.fullmatch(col.name)):
        # 01234, 00501: zip codes, account or product codes; no quantity is written so. A
        # zip code is a code even where none starts with 0 (German 10115, 80331)
        info.reason = (
            f"codes written with leading zeros (e.g. {code!r})"
            if code is not None
            else "postal codes (named so)"
        )
        many = distinct > MAX_CATEGORIES or (distinct > 0.5 * n_number and distinct > 20)
        info.role = "identifier" if many else "categorical"
        info.reason += "" if many else ", read as categories"
    elif col.integral and (
        code := code_role(col.name, named_like_id(col.name), distinct, n_number)
    ):
        info.role, info.reason = code  # store_id, region_code: codes, not amounts
    else:
        info.role = "numeric"
    return info


def _zero_padded(col: Column) -> str | None:
    """A cell written as a whole number with a leading zero (anywhere in the column), or
    None."""
    if col.padded is not None:
        return col.padded
    for row in col.head:
        cell = row[col.position].strip() if col.position < len(row) else ""
        if _PADDED.fullmatch(cell):
            return cell
    return None


def _text(
    col: Column, info: ColumnInfo, n_number: int, n_text: int, times: bool = True
) -> ColumnInfo:
    codes = col.codes[col.codes >= 0]
    counts = np.bincount(codes, minlength=len(col.levels))
    levels = col.levels
    info.distinct = len(levels) + (
        len(np.unique(col.values[col.kinds == NUMBER])) if n_number else 0
    )
    present = n_text + n_number
    lengths = np.array([len(level) for level in levels], dtype=np.float64)
    words = np.array([len(level.split()) for level in levels], dtype=np.float64)
    mean_length = float((lengths * counts).sum() / max(counts.sum(), 1))
    mean_words = float((words * counts).sum() / max(counts.sum(), 1))
    info.type = "text"
    lowered = {level.lower() for level in levels}
    dates = sum(1 for level in levels if _DATE.fullmatch(level))
    if n_number == 0 and len(levels) == 2 and any(lowered == pair for pair in BOOLEAN_PAIRS):
        info.role = info.type = "boolean"
        info.reason = "/".join(sorted(levels))
    elif (n_number == 0 and _answers(lowered)) or (
        n_number and _answers(lowered | _digit_answers(col))
    ):
        # yes, Y, TRUE, no, N, False (and 1, 0) in one column: two answers, however spelt
        info.role = info.type = "boolean"
        info.reason = "/".join(sorted(levels))
    elif n_number == 0 and dates >= 0.9 * len(levels):
        info.role = info.type = "date"
        info.reason = "dates"
    elif info.distinct == 1 and present >= 3:
        info.role, info.reason = "constant", f"every row holds {levels[0]!r}"
    elif times and (clock := time_role(col, counts, n_number)) is not None:
        # 08:15, 17:40:05, 8:15 PM: hours since midnight (as text: an identifier, left out)
        info.role, info.reason = clock
        info.type = "time" if clock[0] == "time" else info.type
    elif n_number == 0 and sum(1 for v in levels if _COMMA_DECIMAL.fullmatch(v)) >= 0.9 * len(
        levels
    ):
        # 172,3 in a file whose other numbers are 70.12: two conventions in one file, so
        # neither reading is safe; say so rather than call the column an identifier
        info.role = "comma decimals"
        info.reason = "numbers with a decimal comma in a file whose numbers use a point"
    elif _comma_decimals_among_thousands(col, n_number):
        # "2,764" read as 2764 beside "0,261", which only a decimal comma reads: emptying the
        # odd cells (the mixed column's advice) kept numbers a thousand times too large
        info.role = "comma decimals"
        info.reason = (
            f"numbers with a decimal comma ({levels[0]!r}) whose other cells were read with "
            f"',' as a thousands separator"
        )
    elif _with_units(levels):
        # 51.3%, $5,125.70: numbers, but the sign makes them text; say so rather than call
        # the column an identifier
        info.role = "units"
        info.reason = "numbers with a % or currency sign; remove the signs to use them"
    elif named_like_id(col.name):
        info.role, info.reason = "identifier", "named like an id"
    elif _PERSON.fullmatch(col.name) and info.distinct > 2:
        # a customer's name says who, not what: new rows hold new names (all zeros)
        info.role, info.reason = "identifier", "named like a person's name"
    elif _mostly_measurements(col, n_number, present):
        # 0.126, 1.53, ..., "unknown": numbers with a few words, not an identifier (whose
        # values would be all distinct) nor categories (one-hot of every number)
        info.role = "mixed"
        info.reason = _mixed_reason(col, counts)
    elif info.distinct > 0.5 * present and mean_length >= 30 and mean_words >= 4:
        info.role, info.reason = "text", f"free text ({mean_length:.0f} characters on average)"
    elif info.distinct == present and present >= 10:
        info.role, info.reason = "identifier", "unique per row"
    elif info.distinct > 0.5 * present and info.distinct > 20:
        info.role = "identifier"
        info.reason = f"{info.distinct} distinct values in {present} rows"
    elif info.distinct > MAX_CATEGORIES:
        info.role, info.reason = "identifier", f"{info.distinct} distinct values"
    else:
        info.role = "categorical"
        if n_number:
            info.reason = f"text with {n_number} number(s), read as categories"
    return info


def _answers(lowered: set[str]) -> bool:
    """Whether a column's values (lower case) are yes/no words, both answers present."""
    return (
        lowered <= TRUE_WORDS | FALSE_WORDS
        and bool(lowered & TRUE_WORDS)
        and bool(lowered & FALSE_WORDS)
    )


#: More distinct numbers than this in a mostly numeric column with words: a measurement
#: (ages, prices), not codes mixing numbers and words (sizes 38, 40, S, M).
MAX_CODE_NUMBERS = 20


def _mostly_measurements(col: Column, n_number: int, present: int) -> bool:
    """Whether most cells are numbers taking many values (a measurement, not codes such as
    clothing sizes ``38, 40, S, M``) and the rest are text."""
    if n_number < 0.5 * present:
        return False
    return len(np.unique(col.values[col.kinds == NUMBER])) > MAX_CODE_NUMBERS


_DECIMAL_COMMA_CELL = re.compile(r"[-+]?\d+,\d+")


def _comma_decimals_among_thousands(col: Column, n_number: int) -> bool:
    """Whether every text cell is a number with a decimal comma that thousands grouping
    cannot read (``0,261``, ``-0,5``) and every number is whole and was written with a
    comma (``2,764``): one column of decimal commas, quoted in a comma-separated file."""
    if not n_number or not col.integral or not col.levels:
        return False
    if not all(_DECIMAL_COMMA_CELL.fullmatch(level) for level in col.levels):
        return False
    cells = [row[col.position].strip() for row in col.head if col.position < len(row)]
    return any("," in cell and cell not in col.levels for cell in cells)


def _mixed_reason(col: Column, counts: np.ndarray) -> str:
    """Which words sit among a column's numbers, and the fix."""
    order = np.argsort(-counts, kind="stable")[:3]
    words = ", ".join(f"{col.levels[k]!r} ({int(counts[k])}x)" for k in order)
    return (
        f"numbers with {int(counts.sum())} text cell(s) ({words}); write those cells empty "
        f"(missing) to use the column, or choose it as categorical if it holds codes"
    )


def _read_units(table: Columns, skip: set) -> dict:
    """Columns of numbers with one ``%`` or currency sign, turned into numbers in place
    (:mod:`chainrule.data.units`); by name, with what was found. Columns in ``skip`` (named
    categorical by the user) keep their cells as written."""
    found = {}
    for col in table.columns:
        if col is not None and col.codes is not None and col.name not in skip:
            units = read_units(col, table.number_format)
            if units is not None:
                found[col.name] = units
    return found


def _with_units(levels: list[str]) -> bool:
    """Whether nearly all text cells are numbers with a percent or currency sign."""
    signed = sum(1 for v in levels if _UNIT_SIGN.search(v) and _UNIT_NUMBER.fullmatch(v))
    return bool(levels) and signed >= 0.9 * len(levels)


def infer_schema(
    table: Columns,
    target: str | None = None,
    *,
    features=None,
    drop=None,
    categorical=None,
    numeric=None,
    task: str | None = None,
) -> Schema:
    """Each column's :class:`ColumnInfo`, with the user's choices applied, and the task."""
    source = table.source
    named = {"features": features, "drop": drop, "categorical": categorical, "numeric": numeric}
    named = {k: None if v is None else set(v) for k, v in named.items()}
    known = set(table.names)
    for option, names in named.items():
        for name in names or ():
            if name not in known:
                raise DataError(
                    f"{source}: no column named {name!r} ({option}); the columns are: "
                    f"{first_few(table.names, 20)}",
                )
    units = _read_units(table, skip=named["categorical"] or set())
    negatives = {
        col.name: read_parentheses(col, table.number_format)
        for col in table.columns
        if col is not None and col.codes is not None and col.name not in (categorical or ())
    }
    words = {
        col.name: found
        for col in table.columns
        if col is not None and col.name != target and col.name not in (categorical or ())
        if (found := read_missing_words(col))
    }
    infos = [describe(c, s) for c, s in zip(table.columns, summarise(table.columns))]
    for info in infos:
        if info.role == "time" and info.name not in {target, *(categorical or ())}:
            _time_missing_words(info, words)
        if negatives.get(info.name) and info.role == "numeric":
            info.stats["accounting"] = negatives[info.name]
        found = units.get(info.name)
        if found is not None and found.read:
            info.stats["unit"] = found.to_dict()  # new rows are read the same way
        if found is not None and found.read and info.role == "numeric":
            bare = f"; {found.bare} cell(s) without it read as {found.sign} too"
            bare = bare if found.bare else ""
            info.reason = f"numbers in {found.sign} (the sign removed{bare})"
        elif found is not None and not found.read:
            info.role, info.reason = "units", f"numbers with {found.sign} that {found.reason}"
        if info.name in words:
            said = missing_words_reason(words[info.name])
            info.reason = f"{info.reason}; {said}" if info.reason else f"numbers; {said}"
    schema = Schema(infos)
    if target is not None:
        k = table.names.index(target)
        if infos[k].role in ("time", "mixed") and infos[k].type != "number":
            # a target of times is read as before: class labels (a time feature is hours)
            infos[k] = describe(table.columns[k], times=False)
        schema.target = infos[k]
        schema.task, schema.task_reason = target_task(table[target], schema.target, task)
    both = set(categorical or ()) & set(numeric or ())
    if both:
        raise DataError(f"{source}: column(s) {sorted(both)} are both categorical and numeric")
    both = set(features or ()) & set(drop or ())  # drop won, without a word
    if both:
        raise DataError(
            f"{source}: column(s) {sorted(both)} are listed both as features and to drop; "
            f"name each in one of the two"
        )
    for info in infos:
        if info is schema.target:
            continue
        _override(info.column, info, named, source)
    if target is not None and features and target in features:
        raise DataError(f"{source}: the target column {target!r} is also listed as a feature")
    if target is not None and target in (named["drop"] or ()):  # was dropped without a word
        raise DataError(f"{source}: the target column {target!r} is also listed to drop")
    return schema


def _time_missing_words(info: ColumnInfo, words: dict) -> None:
    """``n.a.``, ``NaT`` among times of day: missing cells, as among numbers."""
    found = read_missing_words(info.column, always=True)
    if found:
        info.missing += sum(found.values())
        words[info.name] = found


def _override(col: Column, info: ColumnInfo, named: dict, source: str) -> None:
    name = info.name
    if named["drop"] and name in named["drop"]:
        info.role, info.reason = "dropped", "dropped by the user"
        return
    if named["features"] is not None and name not in named["features"]:
        info.role, info.reason = "dropped", "not among the chosen features"
        return
    if named["categorical"] and name in named["categorical"]:
        info.role, info.reason = "categorical", "chosen by the user"
        return
    chosen = (named["numeric"] or set()) | (named["features"] or set())
    if info.role == "mixed" and name in chosen:
        # neither reading is right: one-hot of every number, or words read as numbers
        raise DataError(f"{where(source, None, col.position, name)}: {info.reason}")
    if named["numeric"] and name in named["numeric"]:
        if info.type in ("text", "empty") and not info.role == "numeric":
            raise DataError(
                f"{where(source, None, col.position, name)}: holds text (e.g. "
                f"{info.examples[0]!r}), not numbers; it cannot be numeric"
                if info.examples
                else f"{where(source, None, col.position, name)}: has no values"
            )
        info.role = "time" if info.type == "time" else "numeric"  # ISO dates: days
        info.reason = "chosen by the user"
        return
    if named["features"] is not None and not info.used:
        # Chosen by name: use it whatever it looked like.
        if info.type == "empty":
            raise DataError(f"{where(source, None, col.position, name)}: the column has no values")
        info.role = "numeric" if info.type in ("number", "integer", "date") else "categorical"
        info.reason = "chosen by the user"


def target_task(col: Column, info: ColumnInfo, task: str | None) -> tuple[str, str]:
    """``("classification" | "regression", why)`` for a target column.

    Text and booleans are class labels. Integers are class labels when they have at most
    :data:`MAX_INTEGER_CLASSES` distinct values and on average at least
    :data:`ROWS_PER_CLASS` rows per value (two values always are); other numbers are a
    regression target. ``task`` overrides.
    """
    if task not in (None, "classification", "regression"):
        raise DataError(f"task must be 'classification' or 'regression', got {task!r}")
    if task is not None:
        return task, "chosen by the user"
    if col.codes is not None and (col.kinds == TEXT).any():
        return "classification", "the target holds text labels"
    n = int((col.kinds != ABSENT).sum())
    if not col.integral:
        return "regression", "the target holds fractional numbers"
    if info.distinct <= 2:
        return "classification", "the target holds two integer values"
    if info.distinct <= MAX_INTEGER_CLASSES and info.distinct * ROWS_PER_CLASS <= n:
        return "classification", (
            f"{info.distinct} integer values (at most {MAX_INTEGER_CLASSES}, with "
            f"{ROWS_PER_CLASS}+ rows each on average)"
        )
    return "regression", (
        f"{info.distinct} distinct integers in {n} rows (classes need at most "
        f"{MAX_INTEGER_CLASSES} values with {ROWS_PER_CLASS}+ rows each)"
    )
