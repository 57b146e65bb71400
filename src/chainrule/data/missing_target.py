"""Rows without a target value: an error naming them and the option that drops them, or,
with ``drop_missing_target=True`` (``--drop-missing-target``), those rows left out of a read
table with a note naming how many and which lines. Never dropped silently."""

from __future__ import annotations

import numpy as np

from chainrule.data.messages import Message
from chainrule.data.reader import ABSENT, FLOAT32_MAX, NUMBER, Column, Columns
from chainrule.errors import DataError

__all__ = ["DROP_HINT", "drop_missing_target", "shown_lines", "unknown_class_note"]

#: How a missing-target error names the way out, in Python's and the command line's words.
DROP_HINT = Message(
    "drop the rows without it (or pass drop_missing_target=True to leave them out, with a "
    "note); imputation never fills targets",
    "drop the rows without it (or pass --drop-missing-target to leave them out, with a "
    "note); imputation never fills targets",
)

#: The most line numbers a note or an error lists.
SHOWN_LINES = 20


def shown_lines(lines: np.ndarray, limit: int = SHOWN_LINES) -> str:
    """``2, 11, 20`` or the first ``limit`` lines then ``...``."""
    shown = ", ".join(str(int(line)) for line in lines[:limit])
    return shown + (", ..." if len(lines) > limit else "")


def drop_missing_target(table: Columns, target: str, min_rows: int = 1) -> Message | None:
    """Leave the rows whose ``target`` cell is empty out of ``table`` (in place); the note
    saying how many and which lines, or None when every row has a target."""
    missing = table[target].kinds == ABSENT
    if not missing.any():
        return None
    gone = table.lines[missing]
    kept = int((~missing).sum())
    if kept < min_rows:
        need = "" if kept == 0 else f" ({kept} left; at least {min_rows} needed)"
        raise DataError(
            f"{table.source}: {len(gone)} of {len(missing)} rows have no value in the target "
            f"column {target!r}{need}: too few rows left; fill the target column in"
        )
    keep = ~missing
    for col in table.columns:
        if col is not None:
            _keep_rows(col, keep)
    table.lines = table.lines[keep]
    lead = f"{len(gone)} of {len(missing)} rows have no {target!r} value and were left out "
    tail = f": line(s) {shown_lines(gone)}"
    return Message(lead + "(drop_missing_target)" + tail, lead + "(--drop-missing-target)" + tail)


#: Class labels that usually mean "no value" rather than a class (compared ignoring case).
UNKNOWN_LABELS = frozenset(
    {"unknown", "n.a.", "n.a", "k.a.", "k.a", "missing", "not available", "not known", "tbd"}
    | {"unbekannt", "inconnu", "desconocido", "sconosciuto", "onbekend"}
)


def unknown_class_note(target: str, class_names, y) -> Message | None:
    """A note when a class of the target is a word for "no value" (``unknown``): the model
    learns to predict it as a class; the way to leave those rows out instead. None if none."""
    if class_names is None:
        return None
    found = [k for k, name in enumerate(class_names) if name.strip().casefold() in UNKNOWN_LABELS]
    if not found:
        return None
    counts = np.bincount(np.asarray(y), minlength=len(class_names))
    shown = ", ".join(f"{class_names[k]!r} ({int(counts[k])} rows)" for k in found)
    lead = (
        f"{target}: {shown} is read as a class the model learns to predict; if it means the "
        f"value is not known, write those cells empty and pass "
    )
    return Message(lead + "drop_missing_target=True", lead + "--drop-missing-target")


def _keep_rows(col: Column, keep: np.ndarray) -> None:
    """Column ``col`` with only the rows ``keep`` marks; text levels no kept row uses go,
    so a category seen only in a dropped row gets no one-hot feature."""
    col.values, col.kinds = col.values[keep], col.kinds[keep]
    col.block = None  # the file-wide arrays still hold every row
    if col.codes is not None:
        codes = col.codes[keep]
        used = np.unique(codes[codes >= 0])
        if len(used) == 0:
            col.codes, col.levels = None, []
        else:
            remap = np.full(len(col.levels), -1, dtype=np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            col.codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int32)
            col.levels = [col.levels[k] for k in used.tolist()]
    number = col.kinds == NUMBER
    with np.errstate(invalid="ignore"):
        col.integral = bool(np.all(col.values[number] == np.round(col.values[number])))
    if col.problem is not None:
        col.problem = _kept_problem(col, keep)
    if col.sheet_errors and col.sheet_errors.get("rows"):  # #DIV/0! by row: renumbered
        new_index = np.cumsum(keep) - 1
        rows = col.sheet_errors["rows"]
        kept_rows = {int(new_index[i]): cell for i, cell in rows.items() if keep[i]}
        col.sheet_errors = {**col.sheet_errors, "rows": kept_rows}


def _kept_problem(col: Column, keep: np.ndarray):
    """The float32 overflow a column reports, at its row among the kept ones (None when no
    kept row holds one)."""
    i, message = col.problem
    if keep[i]:
        return int(keep[:i].sum()), message
    big = (col.kinds == NUMBER) & ~(np.abs(col.values) <= FLOAT32_MAX)
    if not big.any():
        return None
    j = int(np.argmax(big))
    return j, f"{float(col.values[j])!r} is too large for float32 (float32 holds up to 3.4e38)"
