"""Exports as they are pasted together and annotated: a header repeated mid-file, comment
lines (``# exported by ...``) above the header."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    return [f"{x:.3f},{z:.3f},{'yes' if x > 0 else 'no'}" for x, z in rng.normal(size=(n, 2))]


def test_a_header_repeated_mid_file_is_skipped_with_a_note(tmp_path):
    # before: the first row was taken for data (it repeats below), the columns named col0,
    # col1, col2, and target='label' failed with "no column named 'label'"
    path = tmp_path / "pasted.csv"
    rows = _rows(60)
    path.write_text("\n".join(["x,z,label", *rows[:30], "x,z,label", *rows[30:]]) + "\n")
    data = load_csv(path, target="label")
    assert data.columns == ["x", "z"] and len(data) == 60
    assert "1 row(s) repeat the header (files pasted together?), on line(s) 32" in data.notes[0]
    assert data.lines[30] == 33  # line numbers still count the skipped line
    data.preprocessor.fit(data.X)
    again = load_csv(path, target="label", preprocessor=data.preprocessor)  # new rows too
    np.testing.assert_array_equal(again.X, data.X)


@pytest.mark.parametrize("again", [" x , z , label ", "X,Z,Label", "x,z,label,,"])
def test_a_header_repeated_with_other_spaces_case_or_empty_cells_is_skipped(tmp_path, again):
    # before: only an exact copy was skipped; " x , z , label " was a row whose 'label'
    # cell made the target "mix numbers and text labels ... yes/no answers"
    path = tmp_path / "pasted.csv"
    rows = [r.replace("yes", "1").replace("no", "0") for r in _rows(60)]
    path.write_text("\n".join(["x,z,label", *rows[:30], again, *rows[30:]]) + "\n")
    data = load_csv(path, target="label")
    assert len(data) == 60 and data.columns == ["x", "z"]
    assert "1 row(s) repeat the header (files pasted together?), on line(s) 32" in data.notes[0]


def test_an_all_text_first_row_found_again_below_is_still_data(tmp_path):
    # no numbers anywhere: a first row that recurs is a row of data, as before
    path = tmp_path / "words.csv"
    path.write_text("red,small,yes\nblue,big,no\nred,small,yes\ngreen,big,no\n")
    assert not load_csv(path).schema.columns[0].name.startswith("red")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_comment_lines_above_the_header_are_skipped_with_a_note(tmp_path, newline):
    # before: "line 3: expected 1 columns (as in the header), found 3"
    path = tmp_path / "commented.csv"
    top = ["# exported by tool v2", "# date: 2024-01-01, by me", "x,z,label"]
    path.write_bytes(newline.join(top + _rows(40)).encode() + b"\n")
    data = load_csv(path, target="label")
    assert data.columns == ["x", "z"] and len(data) == 40
    assert "line(s) 1-2 above the header start with '#': skipped as comments" in data.notes
    assert data.lines[0] == 4


def test_a_header_that_starts_with_a_hash_is_a_header(tmp_path):
    path = tmp_path / "hash.csv"
    path.write_text(
        "# of items,price,label\n"
        + "".join(f"{i % 5},{i * 1.5},{'ab'[i % 2]}\n" for i in range(20))
    )
    data = load_csv(path, target="label")
    assert data.columns == ["# of items", "price"]
    assert not any("comment" in n for n in data.notes)


def test_comment_lines_then_a_hash_header(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("# note\n#,name,label\n1,a,x\n2,b,y\n3,a,x\n4,b,y\n")
    data = load_csv(path, target="label", features=["#", "name"])
    assert data.columns == ["#", "name"]
    assert "line 1 above the header starts with '#': skipped as a comment" in data.notes


def test_comment_in_the_middle_is_still_an_error(tmp_path):
    path = tmp_path / "mid.csv"
    path.write_text("x,z,label\n" + "\n".join(_rows(10)) + "\n# a comment\n")
    with pytest.raises(cr.DataError, match="line 12: expected 3 columns"):
        load_csv(path, target="label")


def test_excel_blank_rows_of_delimiters_are_blank_lines(tmp_path):
    # Excel writes an empty row as ",,": before, "missing target value (3 of 63 rows ...)"
    path = tmp_path / "blank_rows.csv"
    rows = _rows(60)
    body = [row + ("\n,,\n" if i % 20 == 5 else "\n") for i, row in enumerate(rows)]
    path.write_text(",,\nx,z,label\n" + "".join(body) + '"",,\n')
    data = load_csv(path, target="label")
    assert len(data) == 60 and data.columns == ["x", "z"]
    assert data.lines[6] == 10  # lines still count the skipped rows (1 and 9)


def test_pandas_unnamed_index_column_is_an_identifier(tmp_path):
    # read back without index_col and written again, pandas names its index "Unnamed: 0";
    # shuffled by a split, its row labels were a numeric feature
    rng = np.random.default_rng(4)
    labels = rng.permutation(200)[:150]
    path = tmp_path / "resaved.csv"
    path.write_text(
        "Unnamed: 0,x,label\n" + "".join(f"{i},{rng.normal():.3f},{'ab'[i % 2]}\n" for i in labels)
    )
    data = load_csv(path, target="label")
    assert data.columns == ["x"]
    assert any("Unnamed: 0 (identifier)" in n for n in data.notes)


def test_an_unclosed_quote_names_its_line_and_the_fix(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('x,comment,label\n1,ok,a\n2,"open quote,b\n3,ok,a\n')
    with pytest.raises(cr.DataError, match=r"line 3: a quoted cell starts here and never ends"):
        load_csv(path, target="label")


def test_a_header_with_empty_cells_past_its_names_over_text_columns_is_a_header(tmp_path):
    # before: the two empty names counted as a name given twice that is also a value below
    # (the empty columns), so the header was read as data and the columns named col0, ...
    path = tmp_path / "words.csv"
    rows = "".join(f"{['red', 'blue'][i % 2]};{['big', 'small'][i % 3 % 2]};{'yn'[i % 2]};;\n"
                   for i in range(20))  # fmt: skip
    path.write_text("colour;size;label;;\n" + rows)
    data = load_csv(path, target="label")
    assert data.columns == ["colour", "size"] and len(data) == 20


def test_a_source_line_below_the_data_is_named_as_a_note_to_delete(tmp_path):
    # before: only "check for a missing or extra ','", which a footnote has nothing to do with
    path = tmp_path / "source.csv"
    path.write_text("x,z,label\n" + "\n".join(_rows(10)) + "\nSource: company data 2024\n")
    with pytest.raises(
        cr.DataError,
        match=r"line 12: expected 3 columns .* found 1; if it is a note below the data \(a "
        r"source, a footnote: 'Source: company data 2024'\), delete it",
    ):
        load_csv(path, target="label")


def test_exports_pasted_together_each_with_its_byte_order_mark(tmp_path):
    # `cat a.csv b.csv` of two Excel "CSV UTF-8" exports: the second header starts with a
    # byte-order mark, which hid the repeat: "line 32, column 1 ('x'): '\ufeffx' is not a
    # number", a character no editor shows
    rows = _rows(60)
    part = lambda chunk: "\ufeffx,z,label\r\n" + "\r\n".join(chunk) + "\r\n"  # noqa: E731
    path = tmp_path / "pasted.csv"
    path.write_bytes((part(rows[:30]) + part(rows[30:])).encode("utf-8"))
    data = load_csv(path, target="label")
    assert data.columns == ["x", "z"] and len(data) == 60
    assert "on line(s) 32: skipped" in data.notes[0]
    data.preprocessor.fit(data.X)
    again = load_csv(path, target="label", preprocessor=data.preprocessor)
    np.testing.assert_array_equal(again.X, data.X)
