"""Text files that are not CSV tables, saved with a .csv name, are named with the fix."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def _values(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return [(x, z, "yes" if x > 0 else "no") for x, z in rng.normal(size=(n, 2))]


def test_json_lines_are_named(tmp_path):
    # before: "line 1: malformed CSV: text after a closing quote, before the next ','"
    path = tmp_path / "data.csv"
    path.write_text(
        "".join(json.dumps({"x": x, "z": z, "label": y}) + "\n" for x, z, y in _values())
    )
    with pytest.raises(
        cr.DataError, match=r"the file is JSON .*pandas.read_json\(path, lines=True\)"
    ):
        load_csv(path, target="label")


def test_a_json_array_is_told_the_call_that_reads_an_array(tmp_path):
    # before: "pandas.read_json(path, lines=True) ... (lines=False for one JSON array)":
    # the call for JSON lines first, which fails on an array
    path = tmp_path / "data.csv"
    records = [{"x": x, "z": z, "label": y} for x, z, y in _values()]
    path.write_text(json.dumps(records))
    with pytest.raises(cr.DataError, match=r"pandas.read_json\(path, lines=False\)"):
        load_csv(path, target="label")
    path.write_text(json.dumps(records, indent=2))  # pretty-printed: '[' alone on line 1
    with pytest.raises(cr.DataError, match=r"pandas.read_json\(path, lines=False\)"):
        load_csv(path, target="label")


def test_html_is_named(tmp_path):
    # before: "no column named 'label' (target); the columns are: '<html><body><table>...'"
    path = tmp_path / "data.csv"
    rows = "".join(f"<tr><td>{x:.3f}</td><td>{y}</td></tr>\n" for x, _, y in _values())
    path.write_text("<html><body><table><tr><td>x</td><td>label</td></tr>\n" + rows + "</table>\n")
    with pytest.raises(cr.DataError, match=r"the file is HTML or XML .* not a CSV file; in Excel"):
        load_csv(path, target="label")


def test_a_space_aligned_table_is_named_and_reads_with_a_space_delimiter(tmp_path):
    # before: "no column named 'label' (target); the columns are: 'x        z        label'"
    path = tmp_path / "printout.csv"
    rows = "".join(f"{x:<8.3f} {z:<8.3f} {y}\n" for x, z, y in _values())
    path.write_text("x        z        label\n" + rows)
    with pytest.raises(
        cr.DataError, match=r"is 3 names separated by spaces: a space-aligned"
    ) as info:
        load_csv(path, target="label")
    assert "delimiter=' '" in str(info.value)
    assert "pandas.read_csv(path, sep=r'\\s+')" in info.value.cli_message  # no such flag there
    assert load_csv(path, target="label", delimiter=" ").columns == ["x", "z"]


def test_lines_quoted_whole_are_named(tmp_path):
    # before: one column named 'x,z,label'
    path = tmp_path / "quoted.csv"
    rows = "".join(f'"{x:.3f},{z:.3f},{y}"\n' for x, z, y in _values())
    path.write_text('"x,z,label"\n' + rows)
    with pytest.raises(cr.DataError, match=r"every line is one quoted cell \('x,z,label'\)"):
        load_csv(path, target="label")


def test_one_column_files_of_words_or_numbers_still_read(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("full name\n" + "".join(f"Ann Smith{i}\n" for i in range(10)))
    assert load_csv(path, features=["full name"]).columns == ["full name"]
    path.write_text("income per year\n" + "".join(f"{1000 + i}.5\n" for i in range(10)))
    assert load_csv(path).columns == ["income per year"]


def test_a_model_file_given_as_data_is_named(tmp_path):
    # before: "the file holds NUL bytes, so it is not a text CSV file; save it as UTF-8 CSV"
    # (chainrule train model.safetensors, or predict's two files swapped)
    model = tmp_path / "model.safetensors"
    cr.save(cr.nn.Sequential(cr.nn.Linear(2, 1)), model)
    with pytest.raises(cr.DataError, match=r"the file is a model \(safetensors\), not a CSV"):
        load_csv(model, target="label")
    text = tmp_path / "odd.csv"  # text whose bytes 8 and 9 are '{"' is still text
    text.write_text('abcdefgh{"x",label\n1,yes\n2,no\n')
    assert load_csv(text, target="label").X.tolist() == [[1.0], [2.0]]
