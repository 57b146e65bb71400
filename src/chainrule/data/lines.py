"""Opening a CSV file as rows of cells: the encoding, an Excel ``sep=;`` line, comment lines
above the header, and the delimiter. :func:`records` yields the raw rows with their lines."""

from __future__ import annotations

import csv
import itertools
import os

from chainrule.data.charset import choose_charset, decode_error, open_text
from chainrule.data.header import DELIMITERS, excel_separator
from chainrule.data.not_csv import check_text_kind
from chainrule.errors import DataError

__all__ = ["records", "sniff_delimiter"]


def sniff_delimiter(lines: list[str], default: str = ",") -> str:
    """The delimiter: the candidate found the same number of times on the most lines
    (``default`` when none is on the first line: a file of one column)."""
    lines = [line for line in lines if line.strip()][:20]
    if not lines:
        return default
    best, best_score = default, (0, 0)
    for d in DELIMITERS:
        counts = [line.count(d) for line in lines]
        if counts[0] == 0:
            continue
        score = (sum(c == counts[0] for c in counts), counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def _marked_lines(head: list[str]) -> int:
    """How many of the first lines start with ``#`` (all of them: none counted)."""
    n = 0
    while n < len(head) and head[n].lstrip().startswith("#"):
        n += 1
    return 0 if n == len(head) else n


def _comment_lines(head: list[str], marked: int, delimiter: str) -> int:
    """How many of the ``marked`` first lines (starting with ``#``) are comments above the
    table: those whose cell count differs from the first unmarked line's. A marked line
    as wide as the table is its header (``#,name,score``, ``# of items,price``): it and
    what follows are read."""
    if not marked:
        return 0
    width = head[marked].count(delimiter)
    n = 0
    while n < marked and head[n].count(delimiter) != width:
        n += 1
    return n


def _csv_error(err: str, place: str, delimiter: str) -> DataError:
    """The csv module's complaint, said with its cause and its fix."""
    fix = 'remove it, or write a quote inside a quoted cell as ""'
    if "unexpected end of data" in err:  # "open quote,a ... to the end
        return DataError(
            f"{place}: a quoted cell starts here and never ends (a stray '\"'?); {fix}"
        )
    if "expected after" in err:  # "a" , "b": a space after the closing quote
        return DataError(
            f"{place}: malformed CSV: text after a closing quote, before the next "
            f"{delimiter!r} (a space between a quoted cell and {delimiter!r}?); remove it, or "
            f"quote the whole cell"
        )
    if "field limit" in err:  # a stray quote swallowed the lines below it
        return DataError(
            f"{place}: a cell of over {FIELD_LIMIT >> 20} MB starts here: a quoted cell that "
            f"never ends (a stray '\"'?); {fix}"
        )
    return DataError(f"{place}: malformed CSV ({err})")


#: The longest cell read, in characters: Python's csv module stops at 128 KB, which a long
#: text (an article, a JSON blob in a cell) exceeds; past 16 MB it is a stray quote's doing.
FIELD_LIMIT = 16 << 20


def records(
    path,
    *,
    delimiter: str | None = None,
    source: str | None = None,
    default=",",
    encoding=None,
    notes: list | None = None,
):
    """``(delimiter, iterator of (start line, cells))`` over the non-blank rows of a file
    (``default``: the delimiter of a file where none is found, one column; ``encoding``: a
    codec name, a :class:`~chainrule.data.charset.Charset`, or ``None`` to detect it).
    Lines starting with ``#`` above the header (an export's comments) are skipped, with a
    note added to ``notes``."""
    source = os.fspath(path) if source is None else source
    charset = choose_charset(path, source, encoding)
    f = open_text(path, source, charset)
    try:
        head = list(itertools.islice(f, 21))
        f.seek(0)
    except UnicodeDecodeError:
        f.close()
        raise decode_error(path, source, charset) from None
    check_text_kind(head, source)  # HTML or JSON saved as .csv
    declared = excel_separator(head[0]) if head else None
    if declared is not None:
        head = head[1:]
        f.readline()  # the reader starts on line 2
    head = head[:20]
    marked = _marked_lines(head)  # "# exported by ..." above the header
    if delimiter is None and declared is not None:
        delimiter = declared
    elif delimiter is None:
        delimiter = sniff_delimiter(head[marked:], default if default in DELIMITERS else ",")
    elif not isinstance(delimiter, str) or len(delimiter) != 1:
        f.close()
        raise DataError(f"{source}: delimiter must be one character, got {delimiter!r}")
    comments = _comment_lines(head, marked, delimiter)
    for _ in range(comments):
        f.readline()
    if comments and notes is not None:
        first = 1 + int(declared is not None)
        notes.append(
            f"line(s) {first}-{first + comments - 1} above the header start with '#': "
            f"skipped as comments"
            if comments > 1
            else f"line {first} above the header starts with '#': skipped as a comment"
        )

    def rows():
        # skipinitialspace: `1, "Paris, FR"` (a space before a quoted cell, as people and some
        # tools write) is two cells, not three with the quotes kept as text
        if csv.field_size_limit() < FIELD_LIMIT:  # raised, never lowered: it is process-wide
            csv.field_size_limit(FIELD_LIMIT)
        reader = csv.reader(f, delimiter=delimiter, strict=True, skipinitialspace=True)
        skipped = int(declared is not None) + comments
        line = 1 + skipped
        try:
            for row in reader:
                start, line = line, reader.line_num + 1 + skipped
                if not row or (not row[0].strip() and not "".join(row).strip()):
                    continue  # a blank line, or Excel's blank row (",,,")
                yield start, row
        except csv.Error as err:
            raise _csv_error(str(err), f"{source}: line {line}", delimiter) from None
        except UnicodeDecodeError:
            raise decode_error(path, source, charset) from None
        finally:
            f.close()

    return delimiter, rows()
