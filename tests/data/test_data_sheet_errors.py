"""Spreadsheet error values (#DIV/0!, #VALUE!, ...) in a numeric column: missing values,
counted in a note, never a text cell that makes the column categories or an error."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv

ERRORS = ["#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#N/A"]


def _file(tmp_path, n=70, every=10, name="sheet.csv"):
    rng = np.random.default_rng(0)
    lines = ["x,ratio,colour,label"]
    for i in range(n):
        x = float(rng.normal())
        ratio = ERRORS[(i // every) % len(ERRORS)] if i % every == 3 else f"{rng.normal():.3f}"
        lines.append(f"{x:.3f},{ratio},{'red' if i % 3 else 'blue'},{'a' if x > 0 else 'b'}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_error_values_are_missing_values_named_in_the_error(tmp_path):
    # before: 7 text cells in 70 rows made 'ratio' a mixed column, left out of the features
    with pytest.raises(cr.DataError) as err:
        load_csv(_file(tmp_path), target="label")
    assert (
        "line 5, column 2 ('ratio'): #DIV/0! is a spreadsheet error value (a formula that "
        "failed; 6 in this column), read as a missing value; fix the formula and export "
        "again, or fill the cell in or drop the row (or impute='mean')"
    ) in str(err.value)
    assert "(or --impute mean)" in err.value.cli_message


def test_with_impute_they_get_the_fill_value_and_a_note_counting_them(tmp_path):
    data = load_csv(_file(tmp_path), target="label", impute="mean")
    assert data.columns == ["x", "ratio", "colour"]
    info = next(c for c in data.schema.columns if c.name == "ratio")
    assert info.role == "numeric" and info.missing == 7  # #N/A too, a plain missing marker
    note = next(n for n in data.notes if n.startswith("ratio: "))
    assert note.startswith("ratio: 6 cell(s) hold spreadsheet error values (")
    for value in ERRORS[:-1]:
        assert f"{value} 1x" in note
    fill = data.preprocessor.columns[1]["fill"]
    assert np.allclose(data.X[3, 1], fill)


def test_a_few_error_values_are_not_typos(tmp_path):
    # one #DIV/0! in 70 rows was "'#DIV/0!' is not a number" (a typo error); now missing
    data = load_csv(_file(tmp_path, every=1000), target="label", impute="mean")
    assert "ratio" in data.columns
    assert any(
        "ratio: 1 cell(s) hold spreadsheet error values (#DIV/0! 1x)" in n for n in data.notes
    )


def test_new_rows_read_them_as_missing_too(tmp_path):
    data = load_csv(_file(tmp_path), target="label", impute="mean")
    data.preprocessor.fit(data.X)
    new = load_csv(_file(tmp_path, name="new.csv"), target="label", preprocessor=data.preprocessor)
    assert np.isfinite(new.X).all()
    assert any("spreadsheet error values" in n for n in new.notes)


def test_an_error_value_in_the_target_is_a_missing_target(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i * 2.5}\n" for i in range(20)) + "21,#DIV/0!\n")
    with pytest.raises(cr.DataError, match=r"line 22, .*missing target value \(#DIV/0! there is"):
        load_csv(path, target="y")
