"""Rows without a target value: an error naming the option that drops them, and with
``drop_missing_target=True`` those rows left out with a note naming how many and which lines."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def _file(tmp_path, labels, name="data.csv", colours=None):
    colours = colours or ["red", "blue"] * (len(labels) // 2 + 1)
    rows = [f"{i % 7},{c},{label}" for i, (label, c) in enumerate(zip(labels, colours))]
    path = tmp_path / name
    path.write_text("\n".join(["x,colour,label", *rows]) + "\n")
    return path


def test_the_error_names_the_option_in_both_syntaxes(tmp_path):
    path = _file(tmp_path, ["a", "", "b", "a", "NA", "b"] * 4)
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="label")
    assert "missing target value (8 of 24 rows have none: lines 3, 6, 9, 12, 15, ...)" in str(
        err.value
    )
    assert "drop_missing_target=True" in str(err.value)
    assert "--drop-missing-target" in err.value.cli_message


def test_drop_missing_target_leaves_those_rows_out_with_a_note(tmp_path):
    labels = ["a", "", "b", "a", "NA", "b"] * 4
    data = load_csv(_file(tmp_path, labels), target="label", drop_missing_target=True)
    kept = [i for i, label in enumerate(labels) if label not in ("", "NA")]
    assert len(data) == len(kept) == 16
    assert data.lines.tolist() == [i + 2 for i in kept]  # line 1 is the header
    assert data.class_names == ["a", "b"]
    assert [data.class_names[k] for k in data.y] == [labels[i] for i in kept]
    assert data.X[:, 0].tolist() == [float(i % 7) for i in kept]
    note = next(n for n in data.notes if "left out" in n and "drop_missing_target" in n)
    assert note.startswith("8 of 24 rows have no 'label' value")
    assert note.endswith("line(s) 3, 6, 9, 12, 15, 18, 21, 24")


def test_a_category_seen_only_in_dropped_rows_gets_no_feature(tmp_path):
    labels = ["a", "b"] * 10 + [""]
    colours = ["red", "blue"] * 10 + ["green"]
    data = load_csv(
        _file(tmp_path, labels, colours=colours), target="label", drop_missing_target=True
    )
    assert "colour=green" not in data.feature_names
    assert {"colour=red", "colour=blue"} <= set(data.feature_names)


def test_integer_labels_keep_their_spelling_after_dropped_rows(tmp_path):
    # the labels' spellings were read back row by row from the file, without the dropped rows:
    # the classes came out as ['1', '1']
    labels = ["0", "1", ""] * 10
    data = load_csv(_file(tmp_path, labels), target="label", drop_missing_target=True)
    assert data.class_names == ["0", "1"] and np.bincount(data.y).tolist() == [10, 10]


def test_a_repeated_header_does_not_become_a_class_name(tmp_path):
    # before: spellings were read back by row position, the repeated header counted as a row,
    # and the classes came out as ['1.0', 'label']
    rows = ["x,label"]
    for i in range(20):
        rows.append(f"{i % 3},{'1.0' if i % 2 else '2'}")
        rows += ["x,label"] if i < 8 else []
    path = tmp_path / "pasted.csv"
    path.write_text("\n".join(rows) + "\n")
    assert load_csv(path, target="label").class_names == ["1.0", "2"]


def test_a_target_with_no_values_left_is_an_error(tmp_path):
    path = _file(tmp_path, ["a"] + [""] * 9)
    with pytest.raises(cr.DataError, match="9 of 10 rows have no value in the target column"):
        load_csv(path, target="label", drop_missing_target=True)


def test_new_rows_drop_missing_targets_only_when_asked(tmp_path):
    train = load_csv(_file(tmp_path, ["a", "b"] * 10), target="label")
    new = _file(tmp_path, ["a", "", "b", "b"], name="new.csv")
    with pytest.raises(cr.DataError) as err:
        load_csv(new, target="label", preprocessor=train.preprocessor)
    assert "line 3" in str(err.value) and "drop_missing_target=True" in str(err.value)
    data = load_csv(new, target="label", preprocessor=train.preprocessor, drop_missing_target=True)
    assert data.lines.tolist() == [2, 4, 5] and data.y.tolist() == [0, 1, 1]
    assert len(data.X) == 3
    assert any(n.startswith("1 of 4 rows have no 'label' value") for n in data.notes)


def test_a_class_named_unknown_gets_a_note_pointing_to_the_option(tmp_path):
    # before: 'unknown' became a third class without a word
    labels = ["yes", "no", "yes", "no", "Unknown"] * 6
    data = load_csv(_file(tmp_path, labels), target="label")
    assert data.class_names == ["Unknown", "no", "yes"]  # still the user's class, said so
    note = next(n for n in data.notes if "'Unknown' (6 rows)" in n)
    assert "write those cells empty and pass drop_missing_target=True" in note
    assert note.cli.endswith("--drop-missing-target")
    plain = load_csv(_file(tmp_path, ["yes", "no"] * 10, name="plain.csv"), target="label")
    assert not any("learns to predict" in n for n in plain.notes)


def test_a_spreadsheet_error_is_named_at_its_row_after_dropped_rows(tmp_path):
    # the feature's #DIV/0! cells are kept by row number: after dropped rows the missing-value
    # error must still name the #DIV/0! cell on its own line, not a neighbour's
    rows = ["x,label", "1,", "#DIV/0!,a", "2,b", "3,a", ",b"] + [
        f"{i},{'ab'[i % 2]}" for i in range(9)
    ]
    path = tmp_path / "sheet.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="label", drop_missing_target=True)
    assert "line 3" in str(err.value) and "#DIV/0!" in str(err.value)


def test_an_empty_target_column_is_named_not_its_rows(tmp_path):
    # before: "missing target value (24 of 24 rows have none ...); ... pass
    # drop_missing_target=True", which would leave no row at all
    path = _file(tmp_path, [""] * 24)
    with pytest.raises(cr.DataError) as info:
        load_csv(path, target="label")
    message = str(info.value)
    assert "column 3 ('label'): the target column is empty (no value in any of its 24 rows)" in (
        message
    )
    assert "target='COLUMN' (the other columns: 'x', 'colour')" in message
    assert "drop_missing_target" not in message
    assert "--target COLUMN" in info.value.cli_message
