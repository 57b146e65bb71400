"""Times of day (``08:15``, ``17:40:05``, ``8:15 PM``): a column of them is a feature read as
hours since midnight (``08:15`` is 8.25), not text.

Read as text, a column of times was an identifier (nearly every value distinct) and left
out without a word, or one-hot categories with their order lost (9:00 < 13:45); a model whose
target depends on the hour then trained "successfully" into one that could not predict.

Accepted: ``H:MM``, ``HH:MM``, ``HH:MM:SS``, fractional seconds (``08:15:30.25``, or with a
decimal comma), a 12-hour clock with ``AM``/``PM`` in any case (``8:15 pm``, ``8:15PM``,
``8:15 p.m.``; hours 1 to 12, ``12 AM`` is midnight), and ``24:00`` (``24:00:00``), the end
of a day in ISO 8601, read as 24.0. Anything else (``25:10``, ``24:30``, ``13:15 PM``,
``8:61``) is not a time of day, and the reason says why.

Hours since midnight is one column: 23:59 and 00:01 are 23.97 hours apart, as the clock
reads them. A network learns "busy from 8 to 18" from it directly; a pattern that wraps
around midnight is easier with sine and cosine columns, which the user adds to the file.
"""

from __future__ import annotations

import re

import numpy as np

from chainrule.data.messages import braces, option, say
from chainrule.data.missing_words import NUMBER_MISSING
from chainrule.data.reader import Column

__all__ = ["hours_of", "parse_time", "time_role", "time_notes", "datetime_notes", "FORMATS"]

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s?([AaPp])\.?\s?[Mm]\.?)?")
#: How a time of day may be written, for messages.
FORMATS = "H:MM, HH:MM:SS, HH:MM:SS.fff or 8:15 PM"
#: A column of times may hold this share of cells that are not times (one always): typos,
#: reported as errors pointing at them, as a column of numbers does with words.
STRAY_SHARE = 0.02
#: A column with more cells that are not times, but more than this many distinct times in
#: at least half its rows, is "mixed" (named, left out); with fewer, categories as before.
MANY_TIMES = 20
#: A column none of whose first this many distinct values is a time is not one.
_SAMPLE = 200


def parse_time(text: str) -> tuple[float | None, str]:
    """``(hours since midnight, "")`` for a time of day, or ``(None, why not)``.

    >>> parse_time("08:15")
    (8.25, '')
    >>> parse_time("12:30 am")
    (0.5, '')
    >>> parse_time("25:10")[1]
    'hour 25 is past 23'
    """
    m = _TIME.fullmatch(text.strip())
    if m is None:
        return None, f"not written {FORMATS}"
    hour, minute = int(m[1]), int(m[2])
    second = int(m[3]) if m[3] else 0
    fraction = float("0." + m[4]) if m[4] else 0.0
    meridiem = m[5].lower() if m[5] else None
    if minute > 59:
        return None, f"minute {minute} is past 59"
    if second > 59:
        return None, f"second {second} is past 59"
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None, f"hour {hour} with {m[5].upper()}M (a 12-hour clock runs 1 to 12)"
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif hour == 24:
        if minute or second or fraction:
            return None, "24:00 is the end of a day; past it is the next day's 00:…"
        return 24.0, ""
    elif hour > 23:
        total = f"{hour + minute / 60 + (second + fraction) / 3600:.6g}"
        return None, (
            f"hour {hour} is past 23; a duration is not a time of day: write it as a number of "
            f"hours ({total})"
        )
    return hour + minute / 60 + (second + fraction) / 3600, ""


def hours_of(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Hours since midnight of each text (NaN where it is not a time) and the reasons."""
    hours = np.full(len(levels), np.nan)
    reasons = [""] * len(levels)
    for k, level in enumerate(levels):
        value, reasons[k] = parse_time(level)
        if value is not None:
            hours[k] = value
    return hours, reasons


def _missing_word(level: str) -> bool:
    return level.strip().lower() in NUMBER_MISSING


def time_role(col: Column, counts: np.ndarray, n_number: int) -> tuple[str, str] | None:
    """``("time", why)`` for a column of times of day (a few other cells allowed: errors
    pointing at them), ``("mixed", why)`` for many times with many words, or None.

    Args:
        col: the column (text levels, with numbers among them counted in ``n_number``).
        counts: how many rows hold each level.
        n_number: cells read as numbers (``8``, ``800``): never a time.
    """
    if not col.levels or not any(parse_time(v)[0] is not None for v in col.levels[:_SAMPLE]):
        return None  # ids, words: one look at the first levels, not a parse of a million
    hours, _ = hours_of(col.levels)
    ok = ~np.isnan(hours)
    if not ok.any():
        return None
    missing = np.array([_missing_word(level) for level in col.levels])
    times = int(counts[ok].sum())
    other = ~ok & ~missing
    stray = int(counts[other].sum()) + n_number
    if stray == 0:
        return "time", "times of day, read as hours since midnight"
    if stray <= max(1, STRAY_SHARE * (times + stray)):
        words = _words(col, counts, other, n_number)
        return "time", f"times of day with {stray} cell(s) that are not ({words})"
    if times >= 0.5 * (times + stray) and int(ok.sum()) > MANY_TIMES:
        words = _words(col, counts, other, n_number)
        return "mixed", (
            f"times of day with {stray} cell(s) that are not ({words}); write those cells "
            f"empty (missing) to use the column as hours since midnight, or choose it as "
            f"categorical"
        )
    return None


def _words(col: Column, counts: np.ndarray, other: np.ndarray, n_number: int) -> str:
    order = [k for k in np.argsort(-counts, kind="stable") if other[k]][:3]
    shown = [f"{col.levels[k]!r} ({int(counts[k])}x)" for k in order]
    if n_number:
        shown.append(f"{n_number} number(s)")
    return ", ".join(shown)


def time_notes(specs: list[dict], columns: list[Column]) -> list[str]:
    """One note per feature read as a time of day: how its cells became numbers."""
    notes = []
    for spec, col in zip(specs, columns):
        if spec.get("kind") != "time" or not col.levels:
            continue
        example = next((v for v in col.levels if parse_time(v)[0] is not None), None)
        if example is None:
            continue
        hours = parse_time(example)[0]
        notes.append(
            f"{spec['name']}: times of day, read as hours since midnight ({example!r} is "
            f"{hours:.4g}; one number, so 23:59 and 00:01 are far apart)"
        )
    return notes


def datetime_notes(specs: list[dict], columns: list[Column]) -> list[str]:
    """A note per date feature whose cells carry a time: the time is the fraction of a day
    on a count of days since 1970, a ripple on a trend that no network reads as an hour."""
    notes = []
    for spec, col in zip(specs, columns):
        if spec.get("kind") != "date" or not any(":" in v for v in col.levels):
            continue
        text = braces(
            f"{spec['name']}: dates with a time of day, read as days since 1970-01-01 with the "
            f"time as the fraction of a day (12:00 is .5); the hour is a small ripple on that "
            f"trend, so to use the hour of the day put the time in a column of its own "
            f"(read as hours since midnight), or leave this column out with "
        )
        notes.append(say(text + "{o}", o=option("drop", [spec["name"]])))
    return notes
