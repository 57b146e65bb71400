"""One spelling per text: letters with accents composed (Unicode NFC).

``é`` can be written as one character (U+00E9, what Windows and most tools write) or as ``e``
followed by a combining accent (U+0065 U+0301, what macOS writes in file names and some of
its exports). The two look the same and compare different, so a file of new rows exported on
a Mac named no model column (``no column(s) ['Größe'] ... the file has ['Größe']``) and its
categories were all unseen. Column names, text cells and a saved preprocessor's names are
composed as they are read, and lose invisible characters at their ends (a zero-width space
made ``b`` and ``b\u200b`` two classes); ASCII text, nearly all of it, is never touched.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters that show nothing, copied along with text from web pages and chat (a zero-width
#: space after a label), and a byte-order mark: at a cell's ends they only split one label
#: into two that print the same (``b`` and ``b\u200b``, two classes).
_INVISIBLE_ENDS = re.compile(
    r"^[\s\u200b\u200c\u200d\u2060\ufeff]+|[\s\u200b\u200c\u200d\u2060\ufeff]+$"
)


def tidy_text(text: str) -> str:
    """``text`` with its accents composed and, for words, no invisible characters at its
    ends; ASCII comes back as it is, at once."""
    if text.isascii():
        return text
    bare = _INVISIBLE_ENDS.sub("", text)
    if not any(ch.isalpha() for ch in bare):  # "2\u200b" stays: its "not a number" shows why
        bare = text
    return unicodedata.normalize("NFC", bare)


def tidy_all(value):
    """Every string inside lists, tuples and dicts composed (a saved preprocessor's state)."""
    if isinstance(value, str):
        return tidy_text(value)
    if isinstance(value, dict):
        return {tidy_all(k): tidy_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(tidy_all(v) for v in value)
    return value
