"""How one raw column becomes its slice of the encoded rows (numbers, one-hot categories,
0/1 booleans, dates as days, times of day as hours), and the check of a saved column description."""

from __future__ import annotations

import math

import numpy as np

from chainrule.data.messages import braces, error, option, say, where
from chainrule.data.missing_words import read_missing_words
from chainrule.data.numbers import is_number
from chainrule.data.reader import ABSENT, NUMBER, TEXT, Column, number_key
from chainrule.data.sheet_errors import sheet_error_cell
from chainrule.errors import DataError


def _all_numbers(categories) -> bool:
    """Whether categories were all read from numbers (zip codes ``01234``, 0/1): a column
    of numbers in training, where missing-value words were missing cells."""
    return bool(categories) and all(is_number(c) for c in categories)


def _fill(spec: dict) -> float:
    return math.nan if spec.get("fill") is None else float(spec["fill"])


def _width(spec: dict) -> int:
    return len(spec["categories"]) if spec["kind"] == "categorical" else 1


def _located(spec, col: Column, i: int, source, lines, message) -> DataError:
    line = i + 1 if lines is None else int(lines[i])
    place = where(source, line, col.position, spec["name"])
    return error(say(braces(place) + ": {x}", x=(message, getattr(message, "cli", message))))


def _encode_one(spec: dict, col: Column, block: np.ndarray, unseen: dict, source, lines):
    """Write one raw column's encoding into ``block`` (its slice of the output)."""
    if spec["kind"] in ("numeric", "time") or _all_numbers(spec.get("categories")):
        read_missing_words(col, always=True)  # n.a., missing, NaT: as in training
    kinds = col.kinds
    absent = kinds == ABSENT
    if absent.any() and spec.get("fill") is None:
        i = int(np.argmax(absent))
        what = "missing value; "
        if (word := _missing_word(col, i)) is not None:  # NA: North America, or no value?
            what = f"missing value ({word!r} reads as one; if it is a value here, write it " + (
                "otherwise in the file); "
            )
        if (cell := sheet_error_cell(col, i)) is not None:
            total = sum(v for k, v in col.sheet_errors.items() if k != "rows")
            what = (
                f"{cell} is a spreadsheet error value (a formula that failed; {total} in this "
                "column), read as a missing value; fix the formula and export again, or "
            )
        raise _located(
            spec,
            col,
            i,
            source,
            lines,
            say(
                braces(what) + "fill the cell in or drop the row (or {o})",
                o=option("impute", "mean"),
            ),
        )
    kind = spec["kind"]
    if kind == "numeric":
        text = kinds == TEXT
        if text.any():
            i = int(np.argmax(text))
            raise _located(
                spec,
                col,
                i,
                source,
                lines,
                say(
                    f"{braces(repr(col.text_of(i)))} is not a number; this column holds numbers "
                    "(fix the cell, or read the column as categories with {o})",
                    o=option("categorical", [spec["name"]]),
                ),
            )
        if col.problem is not None:
            i, message = col.problem
            raise _located(spec, col, i, source, lines, message + "; use a finite number")
        block[:, 0] = col.values
        if absent.any():
            block[absent, 0] = spec["fill"]
        return
    if kind == "date":
        _encode_date(spec, col, block, absent, source, lines)
        return
    if kind == "time":
        _encode_time(spec, col, block, absent, source, lines)
        return
    keys = _category_index(spec, col)
    codes = np.full(len(kinds), -2, dtype=np.int64)  # -2: absent, -1: unseen
    if col.codes is not None:
        text = col.codes >= 0
        codes[text] = keys["levels"][col.codes[text]]
    number = kinds == NUMBER
    if number.any():
        codes[number] = [keys["numbers"](float(v)) for v in col.values[number]]
    if absent.any():
        codes[absent] = keys["fill"]
    missing_codes = codes == -1
    if missing_codes.any():
        unseen[spec["name"]] = int(missing_codes.sum())
    rows = np.flatnonzero(codes >= 0)
    if kind == "categorical":
        block[rows, codes[rows]] = 1.0
    else:  # boolean: one 0/1 feature; an unseen value sits halfway
        block[:, 0] = 0.5
        block[rows, 0] = codes[rows]


def _missing_word(col: Column, i: int) -> str | None:
    """The text of row ``i``'s missing cell (``NA``, ``null``) where the file's first rows
    show it, beside other text (a column of codes: ``NA`` may be North America); else None."""
    if i >= len(col.head) or col.position >= len(col.head[i]) or not col.levels:
        return None
    return col.head[i][col.position].strip() or None


_ANSWERS = {
    **dict.fromkeys(("true", "yes", "y", "t", "1"), 1),
    **dict.fromkeys(("false", "no", "n", "f", "0"), 0),
}


def _category_index(spec: dict, col: Column) -> dict:
    categories = spec["categories"]
    fold = spec["kind"] == "boolean"
    index = {(c.lower() if fold else c): k for k, c in enumerate(categories)}
    if fold:
        index.update({"1": 1, "0": 0})
        if all(c.lower() in _ANSWERS for c in categories):  # yes/no: Y, TRUE, no, N, False
            index.update({w: _ANSWERS[w] for w in _ANSWERS if w not in index})

    def look(key: str) -> int:
        return index.get(key.lower() if fold else key, -1)

    levels = np.array([look(level) for level in col.levels] or [0], dtype=np.int64)
    fill = spec.get("fill")
    return {
        "levels": levels,
        "numbers": lambda v: look(number_key(v)),
        "fill": -1 if fill is None else look(str(fill)),
    }


def _encode_date(spec, col: Column, block, absent, source, lines) -> None:
    from chainrule.data.iso_dates import NOT_ISO, dates_of

    days, reasons = dates_of(col.levels or [""])  # [""]: no text, nothing to look up
    text = col.codes >= 0 if col.codes is not None else np.zeros(len(absent), bool)
    codes = np.where(text, col.codes, 0) if col.codes is not None else np.zeros(len(text), int)
    bad = (col.kinds == NUMBER) | (text & np.isnan(days[codes]))
    if bad.any():  # named by line and column, as a cell of any other column is
        i = int(np.argmax(bad))
        why = NOT_ISO if col.kinds[i] == NUMBER else reasons[codes[i]]
        raise _located(
            spec,
            col,
            i,
            source,
            lines,
            say(
                f"{braces(repr(col.text_of(i)))} is not a date this column can read "
                f"({braces(why)}); it holds dates, read as days since 1970-01-01 (fix the "
                "cell or leave it empty, or read the column as categories with {o})",
                o=option("categorical", [spec["name"]]),
            ),
        )
    block[text, 0] = days[codes[text]]
    if absent.any():
        block[absent, 0] = spec["fill"]


def _encode_time(spec, col: Column, block, absent, source, lines) -> None:
    from chainrule.data.times import FORMATS, hours_of

    hours, reasons = hours_of(col.levels or [""])  # [""]: no text, nothing to look up
    text = col.codes >= 0 if col.codes is not None else np.zeros(len(absent), bool)
    codes = np.where(text, col.codes, 0) if col.codes is not None else np.zeros(len(text), int)
    bad = (col.kinds == NUMBER) | (text & np.isnan(hours[codes]))
    if bad.any():
        i = int(np.argmax(bad))
        why = f"not written {FORMATS}" if col.kinds[i] == NUMBER else reasons[codes[i]]
        raise _located(
            spec,
            col,
            i,
            source,
            lines,
            say(
                f"{braces(repr(col.text_of(i)))} is not a time of day ({braces(why)}); this "
                "column holds times of day, read as hours since midnight (fix the cell or "
                "leave it empty, or read the column as categories with {o})",
                o=option("categorical", [spec["name"]]),
            ),
        )
    block[text, 0] = hours[codes[text]]
    if absent.any():
        block[absent, 0] = spec["fill"]


def check_unit(unit, what: str) -> dict:
    """A saved unit (``{"sign", "decimal", "grouped"}``, see :mod:`chainrule.data.units`)."""
    from chainrule.data.units import CURRENCIES

    if (
        not isinstance(unit, dict)
        or unit.get("sign") not in ("%", *CURRENCIES)
        or unit.get("decimal") not in (".", ",")
        or not isinstance(unit.get("grouped"), bool)
    ):
        raise DataError(f"Preprocessor: {what}: unit must be {{'sign', 'decimal', 'grouped'}}")
    return {"sign": unit["sign"], "decimal": unit["decimal"], "grouped": unit["grouped"]}


def read_unit_column(spec: dict, col: Column, source, lines) -> None:
    """New rows of a column trained as numbers in a unit: the sign removed in place; a cell
    with another sign is an error (5 € is not $5)."""
    from chainrule.data.units import read_known_units

    wrong = read_known_units(col, spec["unit"])
    if wrong:
        i, cell = wrong[0]
        sign = spec["unit"]["sign"]
        raise _located(
            spec,
            col,
            i,
            source,
            lines,
            f"{cell!r} is written in another unit than the training file's {sign!r}; convert "
            f"it to {sign}",
        )


def _check_column(col) -> dict:
    if not isinstance(col, dict) or not isinstance(col.get("name"), str):
        raise DataError(f"Preprocessor: a column must be a dict with a 'name', got {col!r}")
    kind = col.get("kind")
    out = {"name": col["name"], "kind": kind}
    if kind in ("numeric", "date", "time"):
        fill = col.get("fill")
        if fill is not None and (isinstance(fill, bool) or not isinstance(fill, (int, float))):
            raise DataError(f"Preprocessor: column {col['name']!r}: fill must be a number")
        if fill is not None and not math.isfinite(fill):
            raise DataError(f"Preprocessor: column {col['name']!r}: fill must be finite")
        out["fill"] = None if fill is None else float(fill)
        if "unit" in col:
            out["unit"] = check_unit(col["unit"], f"column {col['name']!r}")
    elif kind in ("categorical", "boolean"):
        categories = col.get("categories")
        if (
            not isinstance(categories, list)
            or not categories
            or not all(isinstance(c, str) for c in categories)
            or len(set(categories)) != len(categories)
            or (kind == "boolean" and len(categories) != 2)
        ):
            raise DataError(
                f"Preprocessor: column {col['name']!r}: categories must be distinct strings"
                + (" (two for a boolean)" if kind == "boolean" else "")
            )
        fill = col.get("fill")
        if fill is not None and fill not in categories:
            raise DataError(f"Preprocessor: column {col['name']!r}: fill must be a category")
        out["categories"] = list(categories)
        out["fill"] = fill
    else:
        raise DataError(f"Preprocessor: column {col['name']!r}: unknown kind {kind!r}")
    return out
