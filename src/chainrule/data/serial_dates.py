"""Excel date serial numbers: a date column exported as numbers (``45292`` for 2024-01-01).

A spreadsheet stores a date as the count of days since 1899-12-30 and writes that count to
a CSV when the column is formatted as a number. Read as a number it is a time trend the
model can use, not a garbage feature, but nothing in the file says so: a note names the
column, the dates its range stands for, and the choices (leave it out, or export it as
dates, which are noted and left out unless chosen).

Dates written as ``yyyymmdd`` whole numbers (``20240101``, as databases and SAP export them)
get a note too: read as numbers they jump by 70 from January 31 to February 1 and by 8870
from December 31 to January 1, a scale that is no time at all.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from chainrule.data.messages import Message, braces, option, say
from chainrule.data.numbers import NUMBER

__all__ = ["compact_date_note", "serial_date_note"]

_DATE_NAME = re.compile(r"date|datum|fecha|(?:^|[\s_.-])(?:day|dt)$", re.IGNORECASE)
_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug, from March 1900)
#: Serial numbers from 1954-10-03 to 2099-11-10: the dates such a column plausibly holds.
LOW, HIGH = 20000, 73000


def serial_date_note(col) -> Message | None:
    """A note for a used numeric column named like a date holding whole numbers in the range
    of Excel's date serial numbers, or None."""
    if not col.integral or not _DATE_NAME.search(col.name):
        return None
    values = col.values[col.kinds == NUMBER]
    if len(values) == 0:
        return None
    low, high = int(values.min()), int(values.max())
    if low < LOW or high > HIGH or np.any(values != np.round(values)):
        return None
    first, last = (_EPOCH + dt.timedelta(days=d) for d in (low, high))
    text = (
        f"{col.name}: whole numbers from {low} to {high} in a column named like a date are "
        f"read as numbers; if they are Excel date serial numbers ({first} to {last}), the "
        f"model sees a count of days (a time trend); leave the column out with {{o}}, or "
        f"format it as dates (yyyy-mm-dd) before exporting"
    )
    return say(braces(text).replace("{{o}}", "{o}"), o=option("drop", [col.name]))


#: The yyyymmdd numbers accepted as dates: years 1900 to 2100.
FIRST_COMPACT, LAST_COMPACT = 19000101, 21001231


def compact_date_note(col) -> Message | None:
    """A note for a used numeric column whose every number is a valid ``yyyymmdd`` date
    (``20240131``), whatever its name, or None."""
    if not col.integral:
        return None
    values = col.values[col.kinds == NUMBER]
    if len(values) == 0 or values.min() < FIRST_COMPACT or values.max() > LAST_COMPACT:
        return None
    distinct = np.unique(values.astype(np.int64))
    try:
        dates = [_compact(int(v)) for v in distinct]
    except ValueError:  # 20241315: not a date
        return None
    low, high = int(distinct[0]), int(distinct[-1])
    text = (
        f"{col.name}: every value ({low} to {high}) is a date written yyyymmdd ({dates[0]} to "
        f"{dates[-1]}), read as a plain number: January 31 to February 1 is a step of 70 "
        f"there, so the model sees no real time scale; leave the column out with {{o}}, or "
        f"write it as yyyy-mm-dd (a date column, left out unless chosen)"
    )
    return say(braces(text).replace("{{o}}", "{o}"), o=option("drop", [col.name]))


def _compact(value: int) -> dt.date:
    return dt.date(value // 10000, value // 100 % 100, value % 100)
