"""Quantities written as text that the schema reads as categories: numbers with a suffix
(``45k``, ``12 kg``, ``3 yrs``) and times of day (``13:45``). One-hot encoded, each value is
a feature of its own and their order (45k < 50k, 9:00 < 13:45) is lost; nothing in the file
says so, hence a note naming the column and how to write the values as numbers."""

from __future__ import annotations

import re

from chainrule.data.messages import Message, braces, option, say
from chainrule.data.times import parse_time

__all__ = ["text_number_note"]

_SUFFIXED = re.compile(r"[+\-]?\d+(?:[.,]\d+)?\s?([A-Za-z]{1,4})\.?")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
#: Suffixes that scale the number (45k is 45000): how many zeros they stand for.
_SCALES = {"k": 3, "mio": 6, "bn": 9, "mrd": 9}
#: Fewer distinct values than this are left alone: S/M/L sizes, 2 tiers of "1k", "2k".
MIN_LEVELS = 3


def text_number_note(name: str, levels: list[str]) -> Message | None:
    """A note for a categorical column whose every category is a number with one suffix
    (``45k``) or a time of day (``13:45``), or None."""
    levels = [level.strip() for level in levels]
    if len(levels) < MIN_LEVELS:
        return None
    example = levels[0]
    if all(parse_time(level)[0] is not None for level in levels):  # chosen categorical
        what = "times of day"
        fix = "leave the column out of categorical= (times are read as hours since midnight)"
    elif all(_TIME.fullmatch(level) for level in levels):  # 25:30: hours past a day
        what = "times of day"
        fix = "write them as numbers (13:45 as 13.75 hours)"
    else:
        found = [_SUFFIXED.fullmatch(level) for level in levels]
        suffixes = {m[1].lower() for m in found if m is not None}
        if None in found or len(suffixes) != 1:
            return None
        suffix = found[0][1]
        what = f"numbers followed by {suffix!r}"
        number = example[: found[0].start(1)].strip()
        scale = _SCALES.get(suffix.lower())
        shown = f"{number}{'0' * scale}" if scale and number.isdigit() else number
        fix = f"write them as plain numbers in the file ({example} as {shown})"
    text = braces(
        f"{name}: values like {example!r} are {what}, read as {len(levels)} categories (one "
        f"feature each, their order lost); to use them as a quantity, {fix}; or leave the "
        f"column out with "
    )
    return say(text + "{o}", o=option("drop", [name]))
