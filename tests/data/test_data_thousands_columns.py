"""Dots as thousands separators in one column of a decimal-point file: ``1.500`` beside
``750`` is 1500 when another column writes ``2.5``; decided per column, saved with the model
for new rows, and said in a note (and a note for a column that could be either)."""

import numpy as np
import pytest

from chainrule.data import Preprocessor, load_csv


def _write(tmp_path, a_cells, c_cells=None, name="f.csv"):
    b_cells = ["2.5", "3.25", "1.5", "4.75", "0.5"]
    header = "a;b;" + ("c;" if c_cells else "") + "y"
    rows = [header]
    for i in range(15):
        c = f"{c_cells[i % len(c_cells)]};" if c_cells else ""
        rows.append(f"{a_cells[i % len(a_cells)]};{b_cells[i % 5]};{c}{i % 2}")
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


AMOUNTS = ["1.500", "750", "2.250", "900", "1.200"]


def test_thousands_dots_beside_hundreds_in_one_column_of_a_decimal_point_file(tmp_path):
    # before: 1.500 read as 1.5 beside 750, because column b writes 2.5
    data = load_csv(_write(tmp_path, AMOUNTS), target="y")
    assert data.X[:5, 0].tolist() == [1500, 750, 2250, 900, 1200]
    assert data.X[:2, 1].tolist() == [2.5, 3.25]
    note = next(n for n in data.notes if "thousands separators" in n)
    assert note.startswith("'a': dots read as thousands separators (1.500 as 1500)")
    assert "decimal='.'" in note
    plain = load_csv(_write(tmp_path, AMOUNTS), target="y", decimal=".")
    assert plain.X[:3, 0].tolist() == [1.5, 750, 2.25]  # the way out the note names


@pytest.mark.parametrize(
    "cells",
    [
        ["1.500", "750", "2.25", "900"],  # a decimal of its own: 1.500 is 1.5
        ["1.500", "0.750", "2.250", "900"],  # 0.750 is never a thousands group
        ["1.500", "75", "2.250", "12"],  # no hundreds to tell: the file's decimal point
    ],
)
def test_a_column_with_a_decimal_or_without_evidence_keeps_the_point(tmp_path, cells):
    data = load_csv(_write(tmp_path, cells), target="y")
    assert data.X[0, 0] == pytest.approx(1.5)
    assert not any("thousands separators" in n for n in data.notes)


def test_new_rows_of_a_thousands_column_read_as_in_training(tmp_path):
    data = load_csv(_write(tmp_path, AMOUNTS), target="y")
    data.preprocessor.fit(data.X)
    pre = Preprocessor.from_dict(data.preprocessor.to_dict())  # as a saved model
    assert pre.number_format["thousands_dots"] == ["a"]
    new = tmp_path / "new.csv"
    new.write_text("a;b\n1.500;2.5\n")  # one row: no hundreds to tell, training decides
    expected = pre.transform_file(tmp_path / "f.csv")[0]
    assert pre.transform_file(new)[0].tolist() == pytest.approx(expected.tolist())


def test_a_column_that_could_be_either_gets_a_note(tmp_path):
    data = load_csv(_write(tmp_path, AMOUNTS, ["1.250", "2.000", "12"]), target="y")
    assert data.X[0, 2] == pytest.approx(1.25)
    assert any(n.startswith("'c': numbers like 1.500 could be 1.5 or 1500") for n in data.notes)


def test_a_decimal_point_file_of_three_decimals_gets_no_note(tmp_path):
    data = load_csv(_write(tmp_path, ["1.250", "2.000", "3.125"]), target="y")
    assert data.X[0, 0] == pytest.approx(1.25)
    assert not any("could be 1.5 or 1500" in n for n in data.notes)


def test_new_rows_without_a_header_read_the_thousands_column_by_its_place(tmp_path):
    data = load_csv(_write(tmp_path, AMOUNTS), target="y")
    data.preprocessor.fit(data.X)
    new = tmp_path / "bare.csv"
    new.write_text("1.500;2.5\n750;3.25\n")  # the features in training order, no names
    expected = data.preprocessor.transform_file(tmp_path / "f.csv")[:2]
    np.testing.assert_allclose(data.preprocessor.transform_file(new), expected)
    again = load_csv(new, target=None, header=False, preprocessor=data.preprocessor)
    np.testing.assert_allclose(again.X, data.X[:2])
