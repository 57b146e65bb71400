"""Whether the first row names the columns or is a row of data."""

import numpy as np

from chainrule.data import load_csv


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ROWS = "".join(f"{i / 7:.4f},{-i / 3:.4f},{'rgb'[i % 3]},{'ny'[i % 2]}\n" for i in range(1, 30))


def test_a_first_row_like_the_rows_below_is_data_even_with_text_cells(tmp_path):
    data = load_csv(_write(tmp_path, "h.csv", "0.1257,-0.6635,b,n\n" + ROWS), target=3)
    assert data.columns == ["col0", "col1", "col2"] and len(data.X) == 30
    assert abs(data.X[0, 0] - 0.1257) < 1e-6
    assert any("first row holds numbers" in n for n in data.notes)
    # integer cells over numbers: data when its text cells are values found below
    data = load_csv(_write(tmp_path, "i.csv", "3,-2.5,g,y\n" + ROWS), target=3)
    assert data.columns == ["col0", "col1", "col2"] and len(data.X) == 30


def test_headers_with_number_names_stay_headers(tmp_path):
    data = load_csv(_write(tmp_path, "y.csv", "x,2019,colour,label\n" + ROWS), target="label")
    assert data.columns == ["x", "2019", "colour"] and len(data.X) == 29
    data = load_csv(_write(tmp_path, "n.csv", "a,b,c,d\n" + ROWS), target="d")
    assert data.columns == ["a", "b", "c"]


def test_numbers_with_percent_or_currency_signs_are_read_as_numbers(tmp_path):
    # one sign per column: read as numbers (docs/data.md, "Percent and currency columns");
    # mixed signs are left out with the reason (tests/data/test_data_units.py)
    rows = "".join(
        f'{40 + i * 0.7:.1f}%,"${1000 + i * 37:,.2f}",{i % 5},{"ny"[i % 2]}\n' for i in range(40)
    )
    data = load_csv(_write(tmp_path, "u.csv", "rate,amount,k,label\n" + rows), target="label")
    roles = {c.name: c.role for c in data.schema.columns}
    assert roles["rate"] == roles["amount"] == "numeric"
    assert data.X[1, data.feature_names.index("rate")] == np.float32(40.7)
    assert data.X[1, data.feature_names.index("amount")] == np.float32(1037.0)
    assert not [n for n in data.notes if "left out" in n]
