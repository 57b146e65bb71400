"""Windows-1252 files whose every byte beyond ASCII happens to be valid UTF-8.

In Windows-1252 an accented capital (``É``, 0xC9) then a curly quote or another symbol
(``’``, 0x92) is also a two-byte UTF-8 letter: ``JOSÉ’S`` reads as UTF-8 ``JOSɒS``. A file
whose only text beyond ASCII is such pairs is valid UTF-8 throughout, yet garbled when read
so. Genuine UTF-8 rarely looks like that: its ``é``, ``ü``, ``ł`` (U+00A0 to U+017F) never
count, Greek, Cyrillic, Hebrew or Arabic letters come in runs or, used as symbols, after a
space or digit (``ΔT``, ``5 Ω``), and a lone IPA or Latin Extended-B letter sits after a
lower-case letter (Azerbaijani ``Məmmədov``). So the file is
read as Windows-1252 only when every letter beyond ASCII is a chance pair (see
:func:`chance_pair`), with a note that says so and how to force UTF-8.
"""

from __future__ import annotations

import numpy as np

__all__ = ["chance_pairs_only"]

#: Two-byte UTF-8 letters a Windows-1252 accented capital and symbol can make (0xC6 0x80
#: up): U+0180 to U+07FF. Combining marks (U+0300 to U+036F) follow letters by design.
_LOW, _HIGH = 0x0180, 0x07FF
_COMBINING = range(0x0300, 0x0370)
#: Windows-1252 capitals from 0xC6 to 0xDE (not × at 0xD7): the first byte of a chance pair.
_CAPITALS = frozenset(bytes(range(0xC6, 0xDF)).decode("cp1252")) - {"×"}


def chance_pair(letter: str, before: str) -> bool:
    """Whether one UTF-8 letter beyond ASCII, standing alone (no other such letter beside
    it) after ``before``, is more likely a Windows-1252 capital and symbol: in the range
    such pairs make, not a combining mark, its second byte a Windows-1252 symbol (``’``,
    ``™``, ``°``; not a letter nor one of the five undefined bytes), and right after an
    ASCII capital: ``É’`` ends a word in capitals (``JOSÉ’S``), while ``mə`` is a word and
    a Greek letter used as a symbol follows a space, a digit or a comma (``ΔT``, ``5 Ω``)."""
    code = ord(letter)
    if not _LOW <= code <= _HIGH or code in _COMBINING:
        return False
    if not ("A" <= before <= "Z"):
        return False
    lead, trail = letter.encode("utf-8")
    if trail in (0x81, 0x8D, 0x8F, 0x90, 0x9D):
        return False
    symbol = bytes([trail]).decode("cp1252")
    return bytes([lead]).decode("cp1252") in _CAPITALS and not symbol.isalnum()


def chance_pairs_only(f, limit: int = 1 << 20) -> bool:
    """Whether a binary file, valid UTF-8 throughout, holds letters beyond ASCII and every
    one is a lone :func:`chance_pair`. Bytes are scanned in NumPy and the look stops at
    the first letter that is not one, so an ASCII file costs a pass in C and a file of
    genuine accents (or CJK, or emoji) one look at its first such letter."""
    found = False
    before = ""  # the character before the block: a block always ends on an ASCII byte
    for block in iter(lambda: f.read(limit), b""):
        while block[-1] >= 0x80 and (more := f.read(1)):
            block += more
        high = np.flatnonzero(np.frombuffer(block, np.uint8) >= 0x80)
        if not len(high):
            before = chr(block[-1])
            continue
        if len(high) % 2 or np.any(np.diff(high)[::2] != 1):
            return False  # a letter of three or four bytes, or two letters side by side
        for i in high[::2].tolist():
            after = block[i + 2] if i + 2 < len(block) else 0
            if block[i] >= 0xE0 or after >= 0x80:
                return False
            previous = chr(block[i - 1]) if i else before
            if not chance_pair(block[i : i + 2].decode("utf-8"), previous):
                return False
            found = True
        before = chr(block[-1])
    return found
