"""Which text encoding a CSV file is written in, and opening it as text.

Files come as Excel and other tools write them: UTF-8 (with or without a byte-order mark),
UTF-16 with a byte-order mark (Excel's "Unicode text", often tab-separated), or, from
Excel's plain "CSV" on Windows, Windows-1252 (``é``, ``ü``, ``€``, curly quotes as single
bytes). A file without a byte-order mark is read as UTF-8 when all of it is valid UTF-8,
else as Windows-1252, whose five undefined bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) are read as
Latin-1 does; a note says which encoding was used and how to force another
(``encoding=...``, ``--encoding``). UTF-8 letters beside bytes that are not UTF-8 make an
error naming those bytes' lines (a damaged UTF-8 file), unless they are a few chance pairs
among many Windows-1252 letters, or pairs an accented capital and a symbol make by chance
("É’") outnumbered by the bytes that are not UTF-8 (see :func:`_damaged`). A workbook,
archive or other binary file saved with a ``.csv`` name is refused with a message saying
what it is.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import numpy as np

from chainrule.data.chance_utf8 import chance_pairs_only
from chainrule.data.messages import Message, braces, error, option, say
from chainrule.errors import DataError
from chainrule.io.guard import CSV_MEMORY_PER_BYTE, check_file

__all__ = ["Charset", "choose_charset", "decode_error", "encoding_note", "open_text"]

#: Error handler that reads a byte Windows-1252 leaves undefined as Latin-1 does (U+0081).
LATIN1_FALLBACK = "chainrule.latin1"
WINDOWS_1252 = "Windows-1252"
#: A Windows-1252 file whose accented capitals and symbols happen to be valid UTF-8.
CHANCE_UTF8 = "Windows-1252 (also valid UTF-8)"


def _latin1(err: UnicodeDecodeError):
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error(LATIN1_FALLBACK, _latin1)


@dataclass(frozen=True)
class Charset:
    """How to decode a file: Python's ``codec`` and ``errors``, and a ``label`` for notes."""

    codec: str
    label: str
    errors: str = "strict"
    chosen: bool = False  # named by the user


#: The first bytes of files that are not text, and what to tell the user.
_SIGNATURES = (
    (
        b"PK\x03\x04",
        "is a zip archive (an Excel .xlsx workbook is one), not a CSV file; in Excel use "
        "File > Save As > 'CSV UTF-8', or unzip the archive and give the CSV inside",
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "is an Excel 97-2003 workbook (.xls), not a CSV file; in Excel use File > Save As > "
        "'CSV UTF-8'",
    ),
    (b"\x1f\x8b", "is gzip-compressed; decompress it (gunzip) and give the CSV inside"),
    (b"PAR1", "is a Parquet file, not a CSV file; write it as CSV (pandas: to_csv)"),
    (b"%PDF", "is a PDF document, not a CSV file"),
    (b"SQLite format 3\x00", "is an SQLite database, not a CSV file"),
)


def _is_safetensors(head: bytes) -> bool:
    """A safetensors file: an 8-byte little-endian header length, then that header, JSON."""
    size = int.from_bytes(head[:8], "little") if len(head) >= 10 else 0
    return 2 <= size <= 100_000_000 and head[8:10] in (b'{"', b"{}")


def _check_file(path, source: str) -> None:
    # Only regular files of a size memory can hold: a folder, FIFO, device, symlink loop or
    # sparse giant is refused before a byte is read (io.guard), in a message naming the file.
    try:
        check_file(path, DataError, what="CSV file", expansion=CSV_MEMORY_PER_BYTE)
    except DataError:
        raise
    except (TypeError, ValueError) as err:
        raise DataError(f"{source}: not a file path ({err})") from None


def _named(encoding, source: str) -> str:
    if not isinstance(encoding, str):
        raise DataError(f"{source}: encoding must be a name such as 'cp1252', got {encoding!r}")
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise DataError(
            f"{source}: unknown encoding {encoding!r}; use e.g. 'utf-8', 'cp1252' (Excel on "
            f"Windows), 'latin-1', 'utf-16' or 'mac-roman'"
        ) from None


def choose_charset(path, source: str, encoding=None) -> Charset:
    """The file's :class:`Charset`: ``encoding`` when given, else from its byte-order mark or
    its bytes (UTF-8 when all of it is valid UTF-8, else Windows-1252)."""
    if isinstance(encoding, Charset):  # chosen already (the file is read twice)
        return encoding
    _check_file(path, source)
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            if encoding is not None:
                codec = _named(encoding, source)
                if codec == "utf-8" and head.startswith(codecs.BOM_UTF8):
                    codec = "utf-8-sig"  # the mark is not part of the first column's name
                return Charset(codec, encoding, chosen=True)
            if head.startswith(codecs.BOM_UTF8):
                return Charset("utf-8-sig", "UTF-8 with BOM")
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return Charset("utf-16", "UTF-16")
            for signature, what in _SIGNATURES:
                if head.startswith(signature):
                    raise DataError(f"{source}: the file {what}")
            if _is_safetensors(head):  # the model given where the data goes (train model.st)
                raise DataError(
                    f"{source}: the file is a model (safetensors), not a CSV file; give the CSV "
                    f"of data (chainrule predict and evaluate take the model first, then the CSV)"
                )
            if b"\x00" in head:
                raise DataError(f"{source}: {_nul_reason(head)}")
            f.seek(0)
            if _valid_utf8(f):
                f.seek(0)
                if not chance_pairs_only(f):
                    return Charset("utf-8", "UTF-8")
                return Charset("cp1252", CHANCE_UTF8, LATIN1_FALLBACK)
            f.seek(0)
            strong, weak, stray = _utf8_counts(f)
    except OSError as err:
        raise DataError(f"{source}: cannot read the file ({err.strerror or err})") from None
    if _damaged(strong, weak, stray):
        raise _damaged_utf8(path, source, strong + weak, stray)
    return Charset("cp1252", WINDOWS_1252, LATIN1_FALLBACK)


#: Windows-1252 bytes per UTF-8-looking letter below which a file is UTF-8 with damaged bytes.
CHANCE_PAIRS = 20


def _damaged(strong: int, weak: int, stray: int) -> bool:
    """Whether a file with bytes that are not UTF-8 (``stray``) is a UTF-8 file with damaged
    bytes (or two encodings in one) rather than a Windows-1252 file.

    Its UTF-8 letters are the evidence. ``strong`` ones (é as 0xC3 0xA9, read as Windows-1252
    "Ã©"; three-byte ones, "â€™") almost never occur by chance in Windows-1252 text. ``weak``
    ones (0xC4 to 0xDF then a byte from 0x80 to 0xBF) do: "CAFÉ’" is 0xC9 0x92, a valid UTF-8
    letter; they count only when they outnumber the stray bytes (a damaged Polish file's ł, ą).
    A few chance letters among many Windows-1252 ones leave the file Windows-1252; read so, a
    damaged UTF-8 file would turn every é into Ã©, hence the error."""
    evidence = strong + (weak if weak > stray else 0)
    return bool(evidence) and stray < CHANCE_PAIRS * evidence


def _utf8_counts(f) -> tuple[int, int, int]:
    """(strong and weak UTF-8 letters beyond ASCII (see :func:`_damaged`), bytes that are not
    UTF-8) in a binary file, read in blocks and counted in C (the decoder and NumPy), so a
    50 MB file takes a fraction of a second."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
    strong = weak = total = kept = 0
    for block in iter(lambda: f.read(1 << 22), b""):
        valid = decoder.decode(block).encode("utf-8")
        total, kept = total + len(block), kept + len(valid)
        lead = np.frombuffer(valid, np.uint8)
        lead = lead[lead >= 0xC2]  # the first byte of each letter beyond ASCII
        loose = int(np.count_nonzero((lead >= 0xC4) & (lead <= 0xDF)))
        strong, weak = strong + len(lead) - loose, weak + loose
    kept += len(decoder.decode(b"", final=True).encode("utf-8"))
    return strong, weak, total - kept


def _damaged_utf8(path, source: str, letters: int, stray: int) -> DataError:
    """The error for a UTF-8 file with bytes that are not UTF-8, naming their first lines."""
    with open(path, "rb") as f:
        data = f.read()
    found, start = [], 0
    while len(found) < 5:
        try:
            data[start:].decode("utf-8")
            break
        except UnicodeDecodeError as err:
            at = start + err.start
            line = data.count(b"\n", 0, at) + 1
            found.append(f"line {line} (byte 0x{data[at]:02x})")
            start = start + err.end
    more = ", ..." if stray > len(found) else ""
    text = (
        f"{braces(source)}: the file is UTF-8 ({letters} character(s) beyond ASCII, such as "
        f"é, written as UTF-8) but {stray} byte(s) are not UTF-8: {', '.join(found)}{more}; "
        f"a damaged file or two encodings in one, and read as Windows-1252 every é would "
        f"become Ã©. Fix those lines (re-type the letters and save as UTF-8), or if the file is "
        f"Windows-1252 throughout, name it with {{o}}"
    )
    return error(say(text, o=option("encoding", "cp1252")))


def _valid_utf8(f) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in iter(lambda: f.read(1 << 20), b""):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def open_text(path, source: str, charset: Charset):
    """The file opened as text in ``charset``, line ends untranslated for ``csv``."""
    try:
        return open(path, encoding=charset.codec, newline="", errors=charset.errors)
    except OSError as err:
        raise DataError(f"{source}: cannot read the file ({err.strerror or err})") from None


def _nul_reason(head: bytes) -> str:
    """Why a file without a byte-order mark holds NUL bytes: UTF-16 (every other byte is
    NUL in ASCII text), or not text at all."""
    even, odd = head[0::2], head[1::2]
    for zeros, order in ((odd, "little-endian"), (even, "big-endian")):
        if zeros and zeros.count(0) >= 0.9 * len(zeros):
            return (
                f"the file looks like UTF-16 ({order}) without a byte-order mark; save it as "
                f"UTF-8 (or as UTF-16 with a byte-order mark), or pass encoding='utf-16-le'"
            )
    return "the file holds NUL bytes, so it is not a text CSV file; save it as UTF-8 CSV"


def decode_error(path, source: str, charset: Charset) -> DataError:
    """Locate the first byte that is not valid in the file's encoding."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        data.decode(charset.codec, errors=charset.errors)
    except UnicodeDecodeError as err:
        skip = len(codecs.BOM_UTF8) if charset.codec == "utf-8-sig" else 0
        start = err.start + skip
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        text = (
            f"{braces(source)}: line {line}: byte 0x{data[start]:02x} at byte offset {start} "
            f"(character {column} of the line) is not {charset.label}; save the file as "
            f"UTF-8, or name its encoding ({{o}})"
        )
        return error(say(text, o=option("encoding", "cp1252")))
    return DataError(f"{source}: the file could not be decoded as {charset.label}")


def encoding_note(label: str) -> Message:
    """The note for a file not read as plain UTF-8: which encoding, and how to force one."""
    if label == CHANCE_UTF8:
        text = (
            "the file is valid UTF-8, but its only letters beyond ASCII are pairs a "
            "Windows-1252 accented capital and symbol make (JOSÉ’S would read JOSɒS): read "
            "as Windows-1252; if letters look wrong, name the encoding with {}"
        )
        return Message(text.format("encoding='utf-8'"), text.format("--encoding utf-8"))
    if label != WINDOWS_1252:
        return Message(f"read as {label}")
    text = (
        "the file is not UTF-8: read as Windows-1252 (Excel's CSV on Windows); if letters "
        "look wrong (Ã© for é), name the encoding with {}"
    )
    return Message(
        text.format("encoding='...' (e.g. 'mac-roman')"),
        text.format("--encoding NAME (e.g. mac-roman)"),
    )
