"""A header that names two columns alike (two ``notes``, two empty ``Unnamed``): read with
pandas' names (``notes``, ``notes.1``) and a note; only naming the repeated name is an error."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def _file(tmp_path, n=40):
    rng = np.random.default_rng(0)
    lines = ["x,notes,y,notes,Unnamed,Unnamed,label"]
    for i in range(n):
        x = float(rng.normal())
        lines.append(f"{x:.3f},n{i % 3},{rng.normal():.3f},,,,{'a' if x > 0 else 'b'}")
    path = tmp_path / "dup.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_repeated_extra_columns_are_renamed_as_pandas_does_with_a_note(tmp_path):
    # before: "duplicate column name 'notes' (also column 2); column names must be unique"
    data = load_csv(_file(tmp_path), target="label")
    assert data.columns == ["x", "notes", "y"]  # notes.1 and both Unnamed are empty
    note = next(n for n in data.notes if "repeats a name" in n)
    assert "columns 2 and 4 are named 'notes': read as 'notes' and 'notes.1'" in note
    assert "columns 5 and 6 are named 'Unnamed': read as 'Unnamed' and 'Unnamed.1'" in note
    assert any("notes.1 (no values)" in n for n in data.notes)


def test_new_rows_with_the_same_header_match_by_the_same_names(tmp_path):
    path = _file(tmp_path)
    data = load_csv(path, target="label")
    data.preprocessor.fit(data.X)
    again = load_csv(path, target="label", preprocessor=data.preprocessor)
    np.testing.assert_array_equal(again.X, data.X)


@pytest.mark.parametrize(
    "kwargs, what",
    [
        ({"target": "notes"}, "target"),
        ({"target": "label", "features": ["x", "notes"]}, "feature"),
        ({"target": "label", "drop": ["notes"]}, "drop"),
    ],
)
def test_naming_a_repeated_name_is_an_error_saying_which_names_to_use(tmp_path, kwargs, what):
    with pytest.raises(cr.DataError) as err:
        load_csv(_file(tmp_path), **kwargs)
    assert f"{what} 'notes' names 2 columns (columns 2 and 4), read as 'notes' and 'notes.1'" in (
        str(err.value)
    )


def test_a_renamed_name_never_takes_an_existing_one_and_can_be_named(tmp_path):
    path = tmp_path / "taken.csv"
    path.write_text("a,a.1,a,label\n1,2,3,x\n4,5,6,y\n7,8,9,x\n1,1,2,y\n")
    assert load_csv(path, target="label").columns == ["a", "a.1", "a.2"]
    data = load_csv(path, target="label", features=["a.2"])
    np.testing.assert_array_equal(data.X[:, 0], [3, 6, 9, 2])


def test_a_text_header_with_a_name_given_twice_is_still_a_header(tmp_path):
    # every column text: the header was taken for data when a name repeated (col0, col1, ...)
    path = tmp_path / "text.csv"
    path.write_text("name,notes,notes,label\nann,a,b,x\nbob,c,d,y\ncid,a,b,x\ndan,c,d,y\n")
    assert load_csv(path, target="label").schema.columns[2].name == "notes.1"
    rows = tmp_path / "rows.csv"  # a row of data with a value twice stays data
    rows.write_text("yes,yes,no\nno,yes,no\nyes,no,yes\nno,no,yes\n")
    assert load_csv(rows).schema.columns[0].name == "col0"
