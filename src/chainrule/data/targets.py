"""The target column: class labels or regression values, for training and for new rows."""

from __future__ import annotations

import re

import numpy as np

from chainrule.data.messages import Message, braces, error, first_few, option, say, where
from chainrule.data.missing_target import DROP_HINT, shown_lines
from chainrule.data.reader import ABSENT, NUMBER, TEXT, Columns, NumberFormat, number_key
from chainrule.data.schema import MAX_INTEGER_CLASSES, Schema
from chainrule.data.sheet_errors import sheet_error_cell
from chainrule.errors import DataError


def _target(table: Columns, schema: Schema, name: str, label_case: str | None = None):
    """``(y, task, class_names)`` for the target column; ``label_case`` settles labels that
    differ only in case (:func:`settle_case`)."""
    col, source = table[name], table.source
    kinds = col.kinds
    place = lambda i: where(source, int(table.lines[i]), col.position, name)  # noqa: E731
    if len(kinds) and (kinds == ABSENT).all():  # --drop-missing-target would leave nothing
        others = first_few([n for n in table.names if n != name], 8)
        raise error(
            say(
                braces(
                    f"{where(source, None, col.position, name)}: the target column is empty (no "
                    f"value in any of its {len(kinds)} rows); is it the column to predict? "
                    f"Choose it with "
                )
                + "{t}"
                + braces(f" (the other columns: {others})"),
                t=("target='COLUMN'", "--target COLUMN"),
            )
        )
    if (kinds == ABSENT).any():
        rows = np.flatnonzero(kinds == ABSENT)
        i = int(rows[0])
        more = ""
        if len(rows) > 1:  # a Kaggle-style file: say how many rows to drop, not just one
            more = f" ({len(rows)} of {len(kinds)} rows have none: lines "
            more += shown_lines(table.lines[rows], 5) + ")"
        if (cell := sheet_error_cell(col, i)) is not None:
            more += f" ({cell} there is a spreadsheet error value: a formula that failed)"
        raise missing_target_error(place(i), more)
    text = kinds == TEXT
    if text.any() and not text.all():
        raise _mixed_target(table, col, text, place)
    if schema.task == "regression":
        return _regression_target(col, text, place, where(source, None, col.position, name))
    if text.all():
        labels = np.array(col.levels, dtype=object)[col.codes]
        labels = settle_case(labels, label_case, where(source, None, col.position, name))
        names, y = np.unique(labels, return_inverse=True)
        class_names = [str(c) for c in names]
        if label_case != "keep":
            _check_answer_spellings(class_names, where(source, None, col.position, name))
    else:
        if np.isinf(col.values).any():
            i = int(np.argmax(np.isinf(col.values)))
            raise DataError(f"{place(i)}: infinite target value {col.text_of(i)!r}")
        integral = col.values == np.round(col.values)
        if not integral.all():
            i = int(np.argmax(~integral))
            raise error(
                say(
                    braces(f"{place(i)}: class label {col.text_of(i)!r} is not an integer")
                    + "; use {o} for a numeric target",
                    o=option("task", "regression"),
                )
            )
        distinct = np.unique(col.values)
        y = np.searchsorted(distinct, col.values)
        class_names = _written_labels(table, col, distinct, y)
    if len(class_names) < 2:
        raise DataError(
            f"{where(source, None, col.position, name)}: the target has only one class "
            f"({class_names[0]!r}); a classifier needs at least two"
        )
    kind = "binary" if len(class_names) == 2 else "multiclass"
    return np.asarray(y, dtype=np.int64).reshape(-1), kind, class_names


def _regression_target(col, text: np.ndarray, place, column: str):
    """``(y, "regression", None)``: finite numbers that are not all the same."""
    if text.any():
        raise error(
            say(
                braces(f"{place(0)}: a regression needs a numeric target, got ")
                + braces(repr(col.text_of(0)))
                + " (use {o})",
                o=option("task", "classification"),
            )
        )
    bad = np.isinf(col.values) | (np.abs(col.values) > 3.4e38)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{place(i)}: infinite target value {col.text_of(i)!r}")
    if len(col.values) > 1 and np.ptp(col.values) == 0:
        raise _constant_target(column, col)
    return col.values.astype(np.float64), "regression", None


def _constant_target(place: str, col) -> DataError:
    """A regression target with one value in every row: as with one class, there is
    nothing to learn, and the model "trains" to an r2 of 0 that predicts that value."""
    text = braces(
        f"{place}: the target holds one value ({col.text_of(0)!r}) in every row "
        f"({len(col.values)} rows), so a model has nothing to learn and would predict it "
        f"whatever the row; is it the column to predict? Choose that one with "
    )
    return error(say(text + "{t}", t=option("target", "COLUMN")))


_YES, _NO = ("true", "yes", "y", "t"), ("false", "no", "n", "f")


def missing_target_error(place: str, more: str) -> DataError:
    """The error for rows without a target value, naming the option that leaves them out."""
    lead = f"{place}: missing target value{more}; every row needs one: "
    return error(Message(lead + DROP_HINT, lead + DROP_HINT.cli))


def _check_answer_spellings(labels: list[str], place: str) -> None:
    """Refuse yes/no labels written several ways (``yes``, ``Y``, ``no``, ``N``): as classes
    they train a 4-class model of spellings, not of answers."""
    folded = [label.casefold() for label in labels]
    if len(labels) <= 2 or not all(f in _YES + _NO for f in folded):
        return
    yes = [label for label, f in zip(labels, folded) if f in _YES]
    no = [label for label, f in zip(labels, folded) if f in _NO]
    if not (yes and no):
        return
    shown = ", ".join(repr(label) for label in labels)
    raise error(
        say(
            braces(
                f"{place}: the labels {shown} are two answers written several ways (yes: "
                f"{', '.join(map(repr, yes))}; no: {', '.join(map(repr, no))}); write each "
                f"class one way in the file, or pass "
            )
            + "{o} to keep them as separate classes",
            o=option("label_case", "keep"),
        )
    )


def _mixed_target(table: Columns, col, text: np.ndarray, place) -> DataError:
    """The error for a target holding both numbers and words, naming every odd row: a few
    words among numbers are cells to fix or rows to drop."""
    odd = text if (~text).sum() >= text.sum() else ~text
    rows = np.flatnonzero(odd)
    i = int(rows[0])
    shown = ", ".join(str(int(table.lines[r])) for r in rows[:5])
    shown += ", ..." if len(rows) > 5 else ""
    what = "text among numbers" if odd is text else "numbers among text labels"
    fix = "fix those cells or drop those rows, so the column holds one kind"
    if _yes_no_and_digits(col):  # yes, no, 1, 0: two answers written two ways
        fix = "they look like yes/no answers written both as words and as 1/0; " + fix
    return DataError(
        f"{place(i)}: {col.text_of(i)!r}: the target mixes numbers and text labels "
        f"({len(rows)} of {len(text)} rows hold {what}: lines {shown}); {fix}"
    )


def _yes_no_and_digits(col) -> bool:
    """Whether a target's labels are yes/no words beside the numbers 1 and 0."""
    numbers = {number_key(float(v)) for v in np.unique(col.values[col.kinds == NUMBER])}
    words = {level.strip().lower() for level in col.levels}
    return numbers <= {"0", "1"} and words <= set(_YES + _NO) and bool(words)


def _known_target(table: Columns, t: str, pre) -> np.ndarray:
    """Targets of new rows: indices into the training classes, or numbers for regression."""
    col, source = table[t], table.source
    kinds = col.kinds
    place = lambda i: where(source, int(table.lines[i]), col.position, t)  # noqa: E731
    if (kinds == ABSENT).any():
        rows = np.flatnonzero(kinds == ABSENT)
        more = f" ({len(rows)} of {len(kinds)} rows have none: lines "
        more = more + shown_lines(table.lines[rows], 5) + ")" if len(rows) > 1 else ""
        raise missing_target_error(place(int(rows[0])), more)
    classes = pre.class_names
    if classes is None and getattr(pre, "target_unit", None) is not None:
        from chainrule.data.encoding import read_unit_column

        spec = {"name": t, "unit": pre.target_unit}
        read_unit_column(spec, col, source, table.lines)
        kinds = col.kinds
    if classes is None and col.codes is not None:
        from chainrule.data.accounting import read_parentheses

        fmt = (getattr(pre, "number_format", None) or {}).get("decimal", ".")
        read_parentheses(col, NumberFormat(fmt, True), force=True)  # (0.50): -0.50
        kinds = col.kinds
    if classes is None:
        bad = (kinds == TEXT) | np.isinf(col.values)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{place(i)}: target {col.text_of(i)!r} is not a finite number")
        return col.values.astype(np.float64)
    index = {c: k for k, c in enumerate(classes)}
    if getattr(pre, "label_case", None) == "fold":  # any spelling of a folded class is it
        folded = {c.casefold(): k for k, c in enumerate(classes)}
        index.update(
            {
                level: folded[level.casefold()]
                for level in col.levels
                if level.casefold() in folded and level not in index
            }
        )
    # numbers match numeric labels by value: 7 and 007, 2 and 2.0 are one class
    index.update({number_key(v): k for k, v in enumerate(_numbers(classes)) if v is not None})
    y = np.empty(len(kinds), dtype=np.int64)
    for i in range(len(kinds)):
        key = col.text_of(i)
        if key not in index:
            raise _unseen_label(place(i), key, classes)
        y[i] = index[key]
    return y


def _unseen_label(where_: str, key: str, classes: list) -> DataError:
    """A label training never saw; where it differs from a class only in case (Excel wrote
    'No' for the 'no' of training), the message says so and how to match it."""
    text = f"{where_}: label {key!r} was not seen in training (known: {first_few(classes)})"
    same = [c for c in classes if c.casefold() == key.casefold()]
    if not same:
        return DataError(text)
    return error(
        say(
            braces(f"{text}; it differs from {same[0]!r} only in case: write it as training ")
            + "did, or retrain the model with {o} (then any case matches)",
            o=option("label_case", "fold"),
        )
    )


def _written_labels(table: Columns, col, distinct: np.ndarray, y: np.ndarray) -> list[str]:
    """Numeric class labels as the file writes them (``007``, ``2.0``), not re-formatted:
    the most frequent spelling of each value (the first seen among equals)."""
    from chainrule.data.reader import records

    spellings: list[dict[str, int]] = [{} for _ in distinct]
    _, rows = records(table.source, delimiter=table.delimiter, encoding=table.charset)
    lines, i = table.lines.tolist(), 0
    for start, row in rows:  # matched by line: repeated headers and dropped rows are not rows
        if i >= len(y):
            break
        if start != lines[i]:
            continue
        counts = spellings[int(y[i])]
        i += 1
        cell = row[col.position].strip()
        counts[cell] = counts.get(cell, 0) + 1
    rows.close()
    names = []
    for value, counts in zip(distinct, spellings):
        names.append(max(counts, key=counts.get) if counts else number_key(float(value)))
    return names


def _numbers(labels) -> list[float | None]:
    out = []
    for label in labels:
        try:
            out.append(float(label))
        except ValueError:
            out.append(None)
    return out


def case_variants(names) -> list[list[str]]:
    """Groups of names that differ only in case (``['YES', 'Yes', 'yes']``), sorted."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(str(name).casefold(), []).append(str(name))
    return [sorted(g) for _, g in sorted(groups.items()) if len(g) > 1]


LABEL_CASES = (None, "fold", "keep")


def _spelling(group: list[str], counts: dict) -> str:
    """The spelling a group of case variants folds into: the most frequent (ties: the first
    in sorted order, ``'Yes'`` before ``'yes'``), so the result does not depend on row order."""
    return min(group, key=lambda s: (-counts[s], s))


def settle_case(labels: np.ndarray, label_case: str | None, place: str) -> np.ndarray:
    """Class labels with case variants (``Yes``, ``yes``, ``YES``) settled.

    ``None``: an error naming the variants and both fixes, since merging them or keeping
    them apart silently can each be wrong (a typo splits a class; ``a`` and ``A`` may be two
    letters). ``"fold"``: each group becomes one class, spelled as most rows spell it.
    ``"keep"``: separate classes, as written.
    """
    names, counts = np.unique(labels, return_counts=True)
    groups = case_variants(names)
    if not groups or label_case == "keep":
        return labels
    if label_case is None:
        shown = "; ".join(", ".join(map(repr, g)) for g in groups[:5])
        more = f" and {len(groups) - 5} more group(s)" if len(groups) > 5 else ""
        raise error(
            say(
                braces(f"{place}: the labels {shown}{more} differ only in case")
                + "; pass {fold} to merge each group into one class (spelled as most rows "
                "spell it), or {keep} to keep them as separate classes (or write each class "
                "one way in the file)",
                fold=option("label_case", "fold"),
                keep=option("label_case", "keep"),
            )
        )
    tally = dict(zip(names.tolist(), counts.tolist()))
    canon = {s: _spelling(g, tally) for g in groups for s in g}
    return np.array([canon.get(s, s) for s in labels], dtype=object)


def fold_notes(target: str, labels, class_names) -> list[str]:
    """Under ``label_case="fold"``: which spellings were merged into which class."""
    groups = case_variants(np.unique(np.asarray(labels, dtype=object)))
    notes = []
    for group in groups:
        into = next(c for c in class_names if c.casefold() == group[0].casefold())
        others = [repr(s) for s in group if s != into]
        words = "the label {} is" if len(others) == 1 else "the labels {} are"
        text = f"{target}: {words.format(', '.join(others))} read as {into!r}"
        notes.append(say(braces(text) + " ({o})", o=option("label_case", "fold")))
    return notes


def case_notes(target: str | None, class_names, specs: list[dict]) -> list[str]:
    """Notes naming categories that differ only in case: they are kept apart (the user may
    mean them), but a typo here silently splits a category. (Class labels that differ only
    in case never get this far: :func:`settle_case`.)"""
    notes = []
    for spec in specs:
        if spec.get("kind") != "categorical":
            continue
        groups = case_variants(spec["categories"])
        if groups:
            shown = "; ".join(", ".join(map(repr, g)) for g in groups[:5])
            notes.append(
                f"{spec['name']}: the categories {shown} differ only in case and are kept "
                f"apart; if they are the same, write them one way in the file"
            )
    return notes


def _unseen_numbers(col, categories) -> list[str]:
    """The numbers of a column of codes (``9`` for codes 1..7) that name no category."""
    numbers = np.unique(col.values[col.kinds == NUMBER])
    if not len(numbers):
        return []
    known = set(categories)
    for c in categories:
        try:
            known.add(number_key(float(c)))
        except ValueError:
            pass
    return [key for key in map(number_key, numbers) if key not in known]


def unseen_notes(pre, columns) -> list[str]:
    """One note per column holding categories not seen in training, naming those that
    differ from a training category only in case."""
    notes = []
    specs = {spec["name"]: spec for spec in pre.columns or []}
    for name, count in pre.unseen.items():
        spec, col = specs.get(name), columns.get(name)
        note = f"{name}: {count} row(s) hold a category not seen in training (encoded as all zeros)"
        if spec is not None and spec["kind"] == "boolean":  # one 0/1 feature: see encoding.py
            no, yes = spec["categories"]
            note = (
                f"{name}: {count} row(s) hold a value that is neither {no!r} nor {yes!r} "
                f"(encoded as 0.5, halfway between the two)"
            )
        if spec is not None and col is not None and spec["kind"] == "categorical":
            folded = {c.casefold() for c in spec["categories"]}
            new = [v for v in col.levels if v.casefold() not in folded]  # RED for red: below
            new += _unseen_numbers(col, spec["categories"])  # store_id 9 among 1..7
            if new:  # which ones: a typo, a new product, or another coding of the column
                more = f" and {len(new) - 3} more" if len(new) > 3 else ""
                shown = f"{', '.join(map(repr, new[:3]))}{more}"
                note = (
                    f"{name}: {count} row(s) hold a category not seen in training ({shown}), "
                    f"encoded as all zeros"
                )
                if count == len(col.kinds) > 1:  # every row: R, G, B for red, green, blue?
                    note += (
                        f"; no row holds a training category ({first_few(spec['categories'], 5)})"
                        f": is the column coded differently? predictions ignore it"
                    )
            known = {c.casefold(): c for c in spec["categories"]}
            cased = [
                f"{level!r} (training has {known[level.casefold()]!r})"
                for level in col.levels
                if level not in spec["categories"] and level.casefold() in known
            ]
            if cased:
                more = f" and {len(cased) - 5} more" if len(cased) > 5 else ""
                note += (
                    f"; categories are case-sensitive: {', '.join(cased[:5])}{more}; write them "
                    f"as in the training file"
                )
        notes.append(note)
    return notes


#: Target names that say "class code": whole numbers under such a name are rarely amounts.
_CODE_NAME = re.compile(
    r"(?i)(?:.*[_\s.-])?(?:class|classe|klasse|category|kategorie|group|gruppe|type|kind|"
    r"label|code|cluster|segment|grade|level|rating|stage|tier)s?"
)


def code_target_note(schema: Schema, t: str):
    """A note for a regression target of few distinct whole numbers, or one named like a
    class code (``group``: 101, 102, ...): read as amounts, codes make a model that predicts
    103.4; the option that reads them as classes. None otherwise."""
    info = schema.target
    if (
        info is None
        or schema.task != "regression"
        or schema.task_reason == "chosen by the user"
        or not info.column.integral
        or not (_CODE_NAME.fullmatch(t.strip()) or info.distinct <= 2 * MAX_INTEGER_CLASSES)
    ):
        return None
    low, high = info.stats.get("min"), info.stats.get("max")
    text = braces(
        f"{t}: {info.distinct} distinct whole numbers ({number_key(low)} to {number_key(high)}) "
        f"are read as amounts to predict (regression: {schema.task_reason}); if they are "
        f"codes of classes, pass "
    )
    return say(text + "{o} (each class needs several rows)", o=option("task", "classification"))


#: Target names that say "amount": whole numbers under such a name are rarely classes.
_AMOUNT_NAME = re.compile(
    r"(?i)(?:.*[_\s.-])?(?:price|cost|amount|salary|income|revenue|sales|wage|fee|rent|spend|"
    r"budget|total|sum|count|age|years?|area|weight|height|length|distance|duration|"
    r"quantity|qty|value|preis|kosten|betrag|gehalt|umsatz|prix|montant|precio)s?"
)


def amount_target_note(schema: Schema, t: str):
    """A note for a target of a few whole numbers read as classes where they look like
    amounts: named so (``price``), or round thousands (150000, 200000, ...). Read as
    classes, a price is predicted only as one of the values seen; the option that reads
    them as amounts. None otherwise."""
    info = schema.target
    if (
        info is None
        or schema.task != "classification"
        or schema.task_reason == "chosen by the user"
        or info.type != "integer"
        or info.distinct <= 2
    ):
        return None
    values = info.column.values[info.column.kinds == NUMBER]
    low, high = float(values.min()), float(values.max())
    rounded = high >= 1000 and bool(np.all(values % 100 == 0))
    if not (_AMOUNT_NAME.fullmatch(t.strip()) or rounded):
        return None
    text = braces(
        f"{t}: {info.distinct} distinct whole numbers ({number_key(low)} to {number_key(high)}) "
        f"are read as classes (classification: {schema.task_reason}), so a prediction is "
        f"always one of them; if they are amounts to predict, pass "
    )
    return say(text + "{o}", o=option("task", "regression"))


def check_target_role(schema: Schema, source: str) -> None:
    """Refuse a target that is an identifier (``customer_id``, a name per row, a running
    number): each value names one row, so a model "trains" on it and predicts nothing new;
    and one of dates, which would be one class per day. A task chosen by the user
    (``task=...``) is trusted."""
    info = schema.target
    if info is None or schema.task_reason == "chosen by the user":
        return
    if info.role == "date":  # 2024-01-01 ... as classes: each day one class, no day ahead
        place = where(source, None, info.position, info.name)
        shown = ", ".join(repr(e) for e in info.examples[:2])
        text = braces(
            f"{place}: the target holds dates ({shown}, ...; {info.distinct} distinct), which "
            f"would be {info.distinct} classes, one per date, predicting no date not in the "
            f"file; choose the column to predict with "
        )
        raise error(
            say(
                text + "{t}, or pass {o} to train on it anyway",
                t=option("target", "COLUMN"),
                o=option("task", "classification"),
            )
        )
    if info.role != "identifier":
        return
    present = int((info.column.kinds != ABSENT).sum())
    if info.distinct < 0.9 * present or info.reason.startswith("counts"):
        # class_id with 3 values, a "name" of 3 species: labels, whatever the name; and
        # 0, 1, ..., 39 may be ages (a run of whole numbers is an id only as a feature)
        return
    place = where(source, None, info.position, info.name)
    text = braces(
        f"{place}: the target is an identifier ({info.reason}; {info.distinct} distinct values), "
        f"so no model can learn to predict it: each value names a row; choose the column to "
        f"predict with "
    )
    raise error(
        say(
            text + "{t}, or pass {o} to train on it anyway",
            t=option("target", "COLUMN"),
            o=option(
                "task", "regression" if info.type in ("integer", "number") else "classification"
            ),
        )
    )
