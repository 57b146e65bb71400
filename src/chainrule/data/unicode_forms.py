"""One spelling per text: letters with accents composed (Unicode NFC).

``é`` can be written as one character (U+00E9, what Windows and most tools write) or as ``e``
followed by a combining accent (U+0065 U+0301, what macOS writes in file names and some of
its exports). The two look the same and compare different, so a file of new rows exported on
a Mac named no model column (``no column(s) ['Größe'] ... the file has ['Größe']``) and its
categories were all unseen. Column names, text cells and a saved preprocessor's names are
composed as they are read; ASCII text, nearly all of it, is never touched.
"""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """``text`` with its accents composed; ASCII comes back as it is, at once."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def nfc_all(value):
    """Every string inside lists, tuples and dicts composed (a saved preprocessor's state)."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {nfc_all(k): nfc_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(nfc_all(v) for v in value)
    return value
