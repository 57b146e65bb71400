"""ISO dates as numbers: days since 1970-01-01, the encoding of a date column used as a feature.

Only ISO dates (``2024-03-01``, ``2024-03-01 12:30``, ``2024-03-01T12:30:05.25+02:00``) are
read: ``03/04/2021`` is March 4th or April 3rd depending on who wrote it. A cell shaped like
an ISO date that names no day (``2021-02-30``, ``2021-13-01``, ``25:00``, a zone ``+25:00``)
is not one either: each gets a reason, so the error can name its line and column (it was
NumPy's ``Day out of range in datetime string "2021-02-30"``, naming neither).
"""

from __future__ import annotations

import re

import numpy as np

ISO_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)"
    r"(?:(Z)|([+-])(\d{2}):?(\d{2}))?"
)
NOT_ISO = "only ISO dates are: YYYY-MM-DD, with a time YYYY-MM-DD HH:MM"
#: UTC offsets in use run from -12:00 to +14:00.
_MAX_OFFSET_MINUTES = 14 * 60


def _offset_minutes(match: re.Match) -> int | None:
    """The zone's offset from UTC in minutes (0 without one), or None when it is no offset."""
    if not match[3]:
        return 0
    hours, minutes = int(match[4]), int(match[5])
    total = hours * 60 + minutes
    if minutes >= 60 or total > _MAX_OFFSET_MINUTES:
        return None
    return total if match[3] == "+" else -total


def _one_day(level: str) -> tuple[float, str]:
    match = ISO_DATE.fullmatch(level)
    if match is None:
        return np.nan, NOT_ISO
    offset = _offset_minutes(match)
    if offset is None:
        return np.nan, f"no such time zone offset {match[3]}{match[4]}:{match[5]}"
    try:
        stamp = np.datetime64(match[1].replace(" ", "T"), "ms")
    except ValueError:  # 2021-02-30, 2021-13-01, 25:00
        return np.nan, "no such day or time in the calendar"
    return (stamp.astype(np.float64) / 60000.0 - offset) / 1440.0, ""


def dates_of(levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Days since 1970-01-01 (UTC where a zone is given) of each text, NaN where it is not
    an ISO date, and the reasons (``""`` for a date)."""
    found = [ISO_DATE.fullmatch(level) for level in levels]
    if all(m is not None and not m[3] for m in found):
        try:  # the common case at once: a million timestamps in one conversion
            stamps = np.array([m[1].replace(" ", "T") for m in found], dtype="datetime64[ms]")
            return stamps.astype(np.float64) / 60000.0 / 1440.0, [""] * len(levels)
        except ValueError:
            pass  # a day the calendar lacks: find it below
    pairs = [_one_day(level) for level in levels]
    days = np.array([d for d, _ in pairs], dtype=np.float64)
    return days, [why for _, why in pairs]
