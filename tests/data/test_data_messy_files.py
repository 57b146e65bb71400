"""Files as users bring them from Excel, pandas and databases (probe round 3): each either
trains on the right numbers or fails with an error naming the column and the fix."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DataError


def write(tmp_path, text, name="data.csv", bom=False, newline="\n"):
    path = tmp_path / name
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


# ---- Excel's sep= line ---------------------------------------------------------------------
def test_excel_sep_line_with_bom_and_crlf_sets_the_delimiter(tmp_path):
    rows = "".join(f"{i},5;{i % 3};{'xy'[i % 2]}\n" for i in range(8))
    path = write(tmp_path, "sep=;\na;b;label\n" + rows, bom=True, newline="\r\n")
    data = cr.data.load_csv(path, target="label")
    assert data.feature_names == ["a", "b"]
    np.testing.assert_allclose(data.X[:3, 0], [0.5, 1.5, 2.5])
    assert data.class_names == ["x", "y"]


def test_excel_sep_line_keeps_line_numbers_in_errors(tmp_path):
    path = write(tmp_path, '"sep=,"\na,b,label\n1,2,x\n3,,y\n5,6,x\n')
    with pytest.raises(DataError, match=r"line 4, column 2 \('b'\): missing value"):
        cr.data.load_csv(path, target="label")


def test_new_rows_with_a_sep_line_are_read_like_training(tmp_path):
    train = write(tmp_path, "sep=;\na;label\n" + "".join(f"{i};{i % 2}\n" for i in range(10)))
    data = cr.data.load_csv(train, target="label")
    new = write(tmp_path, "sep=;\nlabel;a\n1;7\n", name="new.csv")
    again = cr.data.load_csv(new, target="label", preprocessor=data.preprocessor)
    assert again.X.tolist() == [[7.0]] and again.y.tolist() == [1]


# ---- one currency written two ways ---------------------------------------------------------
def test_euro_sign_and_eur_code_are_one_currency(tmp_path):
    cells = ['"€1,50"', '"2,50 EUR"', '"€ 3,00"', '"4,25 eur"'] * 3
    rows = "".join(f"{c};{i % 2}\n" for i, c in enumerate(cells))
    data = cr.data.load_csv(write(tmp_path, "price;label\n" + rows), target="label")
    assert data.feature_names == ["price"]
    np.testing.assert_allclose(data.X[:4, 0], [1.5, 2.5, 3.0, 4.25])
    assert data.preprocessor.columns[0]["unit"]["sign"] in ("€", "EUR")
    # new rows may use either spelling; another currency is still an error
    new = write(tmp_path, 'price;label\n"5,00 EUR";0\n"€6,00";1\n', name="new.csv")
    again = cr.data.load_csv(new, target="label", preprocessor=data.preprocessor)
    np.testing.assert_allclose(again.X[:, 0], [5.0, 6.0])
    other = write(tmp_path, 'price;label\n"$5,00";0\n', name="other.csv")
    with pytest.raises(DataError, match="price"):
        cr.data.load_csv(other, target="label", preprocessor=data.preprocessor)


def test_dollar_sign_and_usd_stay_apart(tmp_path):
    # $ also writes other dollars: mixing it with USD is left out, with the reason
    cells = ["$1.50", "2.50 USD"] * 5
    rows = "".join(f'"{c}",{i},{i % 2}\n' for i, c in enumerate(cells))
    data = cr.data.load_csv(write(tmp_path, "price,x,label\n" + rows), target="label")
    assert data.feature_names == ["x"]
    assert data.schema["price"].role == "units"
    assert "mixes currencies ($, USD)" in data.schema["price"].reason


# ---- empty header names: Excel's trailing columns, pandas' index ---------------------------
def test_trailing_empty_excel_columns_are_left_out(tmp_path):
    rows = "".join(f"{i},{i % 3},{i % 2},,\n" for i in range(10))
    data = cr.data.load_csv(write(tmp_path, "a,b,label,,\n" + rows), target="label")
    assert data.feature_names == ["a", "b"]
    assert "left out: unnamed_4 (no values), unnamed_5 (no values)" in data.notes


def test_empty_cells_past_the_last_column_are_ignored(tmp_path):
    rows = "".join(f"{i},{i % 2}{',' * (i % 3)}\n" for i in range(10))
    data = cr.data.load_csv(write(tmp_path, "a,label\n" + rows), target="label")
    assert data.X[:, 0].tolist() == list(range(10))
    # a value past the last column is still an error: the row may be shifted
    with pytest.raises(DataError, match="line 3: expected 2 columns"):
        cr.data.load_csv(write(tmp_path, "a,label\n1,0\n2,1,,7\n", "bad.csv"), target="label")


def test_pandas_index_column_is_named_index_and_left_out(tmp_path):
    rows = "".join(f"{i},{i * 0.5},{'xy'[i % 2]}\n" for i in (7, 3, 12, 0, 5, 9))
    data = cr.data.load_csv(write(tmp_path, ",a,label\n" + rows), target="label")
    assert data.feature_names == ["a"]
    assert data.schema["index"].role == "identifier"
    assert any("an index written by pandas" in n for n in data.notes)


def test_an_unnamed_column_with_values_is_an_error_naming_it(tmp_path):
    with pytest.raises(
        DataError,
        match=r"column 2: the header has an empty column name but the "
        r"column holds values \(e.g. '2'\); name it in the header",
    ):
        cr.data.load_csv(write(tmp_path, "a,,label\n1,2,0\n4,5,1\n"), target="label")
    # a first column of text (a DataFrame indexed by names): the hint names index=False
    with pytest.raises(DataError, match=r"index=False"):
        cr.data.load_csv(write(tmp_path, ",a,label\nx,2,0\ny,5,1\n", "t.csv"), target="label")


# ---- numbers with a few words ----------------------------------------------------------
def _measurements(tmp_path, word, every=20, n=100):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        a = rng.normal()
        rows.append(f"{a:.4f}" if i % every else word)
        rows[-1] += f",{i % 3},{int(a > 0)}"
    return write(tmp_path, "a,b,label\n" + "\n".join(rows) + "\n")


def test_numbers_with_a_few_words_are_left_out_as_mixed_not_as_an_identifier(tmp_path):
    data = cr.data.load_csv(_measurements(tmp_path, "unknown"), target="label")
    info = data.schema["a"]
    assert info.role == "mixed"  # was "identifier: 96 distinct values in 100 rows"
    assert "numbers with 5 text cell(s) ('unknown' (5x)); write those cells empty" in info.reason
    assert data.feature_names == ["b"]
    note = next(n for n in data.notes if n.startswith("left out"))
    assert "a (numbers with 5 text cell(s)" in note and "features=" not in note


@pytest.mark.parametrize("option", ["numeric", "features"])
def test_choosing_a_mixed_column_is_an_error_naming_the_words(tmp_path, option):
    path = _measurements(tmp_path, "see note")
    with pytest.raises(
        DataError, match=r"column 1 \('a'\): numbers with 5 text cell\(s\) \('see note'"
    ):
        cr.data.load_csv(path, target="label", **{option: ["a"]})


def test_codes_mixing_numbers_and_words_stay_categories(tmp_path):
    sizes = ["38", "40", "42", "S", "M", "L"] * 10
    rows = "".join(f"{s},{i % 2}\n" for i, s in enumerate(sizes))
    data = cr.data.load_csv(write(tmp_path, "size,label\n" + rows), target="label")
    assert data.schema["size"].role == "categorical"


@pytest.mark.parametrize("marker", ["#N/A", "<NA>", "#NA", "-NaN"])
def test_pandas_and_excel_missing_markers_are_missing(tmp_path, marker):
    path = _measurements(tmp_path, marker)
    with pytest.raises(DataError, match=r"line 2, column 1 \('a'\): missing value"):
        cr.data.load_csv(path, target="label")
    data = cr.data.load_csv(path, target="label", impute="mean")
    assert data.feature_names == ["a", "b"] and np.isfinite(data.X).all()


# ---- whole numbers float32 cannot hold exactly -------------------------------------------
def _codes(tmp_path, first=123456780, name="data.csv"):
    rows = "".join(f"{first + i % 6},{i},{'ny'[i % 6 in (1, 3, 5)]}\n" for i in range(60))
    return write(tmp_path, "code,x,label\n" + rows, name)


def test_large_integer_codes_stay_distinct(tmp_path):
    # 123456780..123456785 are all 123456784 in float32: the column looked constant, and
    # categorical=['code'] made one category the file does not hold
    data = cr.data.load_csv(_codes(tmp_path), target="label")
    # named 'code', repeated: read as categories (code_columns); all 6 values kept apart
    assert data.schema["code"].role == "categorical" and data.schema["code"].distinct == 6
    data = cr.data.load_csv(_codes(tmp_path), target="label", numeric=["code"])
    assert data.schema["code"].role == "numeric" and data.schema["code"].distinct == 6
    data = cr.data.load_csv(_codes(tmp_path), target="label", categorical=["code"])
    assert data.feature_names == [f"code={123456780 + i}" for i in range(6)]
    assert (data.X.argmax(axis=1) == np.arange(60) % 6).all()
    new = write(tmp_path, "code,x\n123456783,1\n123456784,2\n", "new.csv")
    again = cr.data.load_csv(new, preprocessor=data.preprocessor)
    assert again.X[:, :6].argmax(axis=1).tolist() == [3, 4]


def test_large_integers_found_after_the_first_chunk_are_kept_exact(tmp_path, monkeypatch):
    import chainrule.data.reader as reader

    monkeypatch.setattr(reader, "CHUNK_ROWS", 7)
    rows = "".join(f"{(123456780 if i >= 20 else 0) + i % 6},{i % 2}\n" for i in range(60))
    table = reader.read_columns(write(tmp_path, "code,label\n" + rows))
    values = table["code"].values
    assert values.dtype == np.float64
    assert values[:20].tolist() == [i % 6 for i in range(20)]
    assert values[20:].tolist() == [123456780 + i % 6 for i in range(20, 60)]


def test_ids_of_sixteen_digits_or_more_are_kept_as_written(tmp_path, monkeypatch):
    # 1234567890123456700 + i are one float64: a column of 60 distinct ids was "constant:
    # every row holds 1.234568e+18", and categorical=['id_'] made one category of them
    import chainrule.data.reader as reader

    monkeypatch.setattr(reader, "CHUNK_ROWS", 7)  # a chunk with a word and an id: two parts
    ids = [str(1234567890123456700 + i) for i in range(60)]
    ids[9] = "unknown"
    rows = "".join(f"{ids[i]},{i % 5},{'ny'[i % 2]}\n" for i in range(60))
    path = write(tmp_path, "tweet,x,label\n" + rows)
    table = reader.read_columns(path)
    assert [table["tweet"].text_of(i) for i in (0, 9, 10, 59)] == [
        ids[0],
        "unknown",
        ids[10],
        ids[59],
    ]
    data = cr.data.load_csv(path, target="label")
    assert data.schema["tweet"].role == "identifier" and data.schema["tweet"].distinct == 60
    data = cr.data.load_csv(path, target="label", categorical=["tweet"])
    assert len([f for f in data.feature_names if f.startswith("tweet=")]) == 60
    new = write(tmp_path, f"tweet,x\n{ids[59]},1\n", "new.csv")
    X = cr.data.load_csv(new, preprocessor=data.preprocessor).X
    assert X[0, data.feature_names.index(f"tweet={ids[59]}")] == 1.0
    sci = write(
        tmp_path,
        "v,label\n" + "".join(f"{1e18 * (i + 1):.3e},{i % 2}\n" for i in range(12)),
        "s.csv",
    )
    assert cr.data.load_csv(sci, target="label").schema["v"].role == "numeric"  # a measurement


# ---- codes written with leading zeros ------------------------------------------------------
def test_zip_codes_with_leading_zeros_are_categories(tmp_path):
    zips = ["01234", "02139", "10001", "94105", "00501"]
    rows = "".join(f"{zips[i % 5]},{i % 7},{int(i % 5 < 2)}\n" for i in range(50))
    data = cr.data.load_csv(write(tmp_path, "zip,a,label\n" + rows), target="label")
    info = data.schema["zip"]
    assert info.role == "categorical"  # was numeric: 1234 < 2139 < 10001 as quantities
    assert "leading zeros (e.g. '01234')" in info.reason
    assert [n for n in data.feature_names if n.startswith("zip=")] == [
        "zip=10001",
        "zip=1234",
        "zip=2139",
        "zip=501",
        "zip=94105",
    ]
    # new rows match by value, with or without the zeros
    new = write(tmp_path, "zip,a\n02139,1\n2139,1\n99999,1\n", "new.csv")
    again = cr.data.load_csv(new, preprocessor=data.preprocessor)
    assert again.X[:, 2].tolist() == [1.0, 1.0, 0.0]
    assert data.preprocessor.unseen == {"zip": 1}
    # numeric= reads them as numbers
    data = cr.data.load_csv(
        write(tmp_path, "zip,a,label\n" + rows), target="label", numeric=["zip"]
    )
    assert "zip" in data.feature_names


def test_many_zero_padded_codes_are_an_identifier(tmp_path):
    rows = "".join(f"{i * 7:06d},{i % 3},{i % 2}\n" for i in range(60))
    data = cr.data.load_csv(write(tmp_path, "account,a,label\n" + rows), target="label")
    assert data.schema["account"].role == "identifier"
    assert "leading zeros" in data.schema["account"].reason


# ---- dates as spreadsheets and loggers write them -------------------------------------------
@pytest.mark.parametrize(
    "stamp",
    [
        "2024-03-{d:02d} 10:00:00+02:00",
        "2024-03-{d:02d}T10:00:00.125Z",
        "2024/03/{d:02d}",
        "{d}-Mar-2024",
        "Mar {d}, 2024",
        "{d} March 2024",
        "3/{d}/24 1:30 PM",
    ],
)
def test_dates_in_common_formats_are_left_out_as_dates(tmp_path, stamp):
    # they were categories (one-hot of each day) or, when unique, "identifiers"
    rows = "".join(f'"{stamp.format(d=1 + i % 25)}",{i % 7},{i % 2}\n' for i in range(60))
    data = cr.data.load_csv(write(tmp_path, "when,a,label\n" + rows), target="label")
    assert data.schema["when"].role == "date"
    assert data.feature_names == ["a"]


def test_database_null_marker_is_missing(tmp_path):
    null = "\\N"
    rows = "".join(f"{null if i % 9 == 0 else i * 0.5},{i % 2}\n" for i in range(40))
    path = write(tmp_path, "a,label\n" + rows)
    with pytest.raises(DataError, match=r"line 2, column 1 \('a'\): missing value"):
        cr.data.load_csv(path, target="label")
    assert cr.data.load_csv(path, target="label", impute="mean").feature_names == ["a"]


# ---- missing-value codes such as -9999 ---------------------------------------------------
def test_a_missing_value_code_gets_a_note(tmp_path):
    rng = np.random.default_rng(0)
    temps = [("-9999" if i % 15 == 0 else f"{rng.normal(20, 5):.2f}") for i in range(60)]
    rows = "".join(f"{t},{i % 2}\n" for i, t in enumerate(temps))
    data = cr.data.load_csv(write(tmp_path, "temp,label\n" + rows), target="label")
    note = next(n for n in data.notes if n.startswith("temp: -9999 in 4 row(s)"))
    assert "far outside its other values" in note and "write those cells empty" in note
    # a regression target too; and a column whose 999 is an ordinary value gets no note
    rows = "".join(f"{i % 3},{t}\n" for i, t in enumerate(temps))
    data = cr.data.load_csv(write(tmp_path, "a,temp\n" + rows, "r.csv"), target="temp")
    assert data.task == "regression"
    assert any(n.startswith("temp: -9999") for n in data.notes)
    rows = "".join(f"{i * 20},{i % 2}\n" for i in range(60))  # 0..1180: 999 not far out
    data = cr.data.load_csv(
        write(tmp_path, "a,label\n" + rows + "999,1\n", "b.csv"), target="label"
    )
    assert not any("far outside" in n for n in data.notes)


# ---- ids disguised as categories -----------------------------------------------------------
def test_many_categories_for_few_rows_get_a_note(tmp_path):
    rows = "".join(f"C{(i * 37) % 150:04d},{i % 5},{i % 2}\n" for i in range(600))
    data = cr.data.load_csv(write(tmp_path, "cust,a,label\n" + rows), target="label")
    assert len(data.feature_names) == 151  # still used: the note says what to do
    assert (
        "cust: 150 categories in 600 rows (about 4 each), one feature per category; if it is "
        "an id or a code, leave it out with drop=['cust']"
    ) in data.notes
    colours = "".join(f"{['red', 'green', 'blue'][i % 3]},{i % 2}\n" for i in range(60))
    data = cr.data.load_csv(write(tmp_path, "colour,label\n" + colours, "c.csv"), target="label")
    assert not any("categories in" in n for n in data.notes)


# ---- yes/no labels written several ways; a title above the header ---------------------------
def test_yes_no_labels_written_several_ways_are_an_error(tmp_path):
    labels = ["yes", "no", "Y", "N"] * 10
    rows = "".join(f"{i % 7},{label}\n" for i, label in enumerate(labels))
    path = write(tmp_path, "a,label\n" + rows)
    with pytest.raises(DataError) as info:
        cr.data.load_csv(path, target="label")  # was a 4-class model of spellings
    message = str(info.value)
    assert "the labels 'N', 'Y', 'no', 'yes' are two answers written several ways" in message
    assert "(yes: 'Y', 'yes'; no: 'N', 'no')" in message and "label_case='keep'" in message
    assert "--label-case keep" in info.value.cli_message
    kept = cr.data.load_csv(path, target="label", label_case="keep")
    assert kept.class_names == ["N", "Y", "no", "yes"]
    # one spelling per answer is fine, as are other labels
    rows = "".join(f"{i % 7},{['Y', 'N'][i % 2]}\n" for i in range(20))
    assert cr.data.load_csv(write(tmp_path, "a,label\n" + rows, "b.csv"), target="label").y.any()


def test_a_title_above_the_header_is_named_in_the_error(tmp_path):
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(10))
    path = write(tmp_path, "Sales report 2024\n\na,b,label\n" + rows)
    with pytest.raises(DataError, match="line 3: expected 1 columns .*title or notes sit above"):
        cr.data.load_csv(path, target="label")


# ---- Python-only number syntax ---------------------------------------------------------
def test_underscores_are_not_digit_separators(tmp_path):
    # float() reads 1_000 as 1000 and the code 10_20 as 1020; no spreadsheet writes them
    rows = "".join(f"{i * 1.5},{i % 2}\n" for i in range(60))
    path = write(tmp_path, "a,label\n" + rows + "1_000,1\n")
    with pytest.raises(DataError, match=r"line 62, column 1 \('a'\): '1_000' is not a number"):
        cr.data.load_csv(path, target="label")
    codes = "".join(f"{10 + i % 5}_{20 + i % 3},{i % 7},{i % 2}\n" for i in range(40))
    data = cr.data.load_csv(write(tmp_path, "code,a,label\n" + codes, "c.csv"), target="label")
    assert data.schema["code"].role == "categorical"
    assert "code=10_20" in data.feature_names


def test_yes_no_features_written_several_ways_are_one_boolean(tmp_path):
    words = [("no", "yes"), ("N", "Y"), ("False", "TRUE")]
    rows = "".join(f"{words[i % 3][(i // 3) % 2]},{i % 5},{(i // 3) % 2}\n" for i in range(60))
    data = cr.data.load_csv(write(tmp_path, "flag,a,label\n" + rows), target="label")
    assert data.schema["flag"].role == "boolean"  # was categorical: six one-hot spellings
    assert data.feature_names == ["flag", "a"]
    assert (data.X[:, 0] == data.y).all()
    new = write(tmp_path, "flag,a\nyes,0\nFALSE,0\nt,0\nmaybe,0\n", "new.csv")
    again = cr.data.load_csv(new, preprocessor=data.preprocessor)
    assert again.X[:, 0].tolist() == [1.0, 0.0, 1.0, 0.5]  # an unknown word sits halfway


def test_missing_targets_are_counted_with_their_lines(tmp_path):
    labels = ["", "x", "NA", "y", "x", "?", "y", "x", "", "y", "", "x"] * 3
    rows = "".join(f"{i % 5},{label}\n" for i, label in enumerate(labels))
    with pytest.raises(DataError) as info:
        cr.data.load_csv(write(tmp_path, "a,label\n" + rows), target="label")
    assert str(info.value).endswith(
        "line 2, column 2 ('label'): missing target value (15 of 36 rows have none: lines 2, "
        "4, 7, 10, 12, ...); every row needs one: drop the rows without it (or pass "
        "drop_missing_target=True to leave them out, with a note); imputation never fills targets"
    )


def test_no_features_left_never_offers_an_empty_column(tmp_path):
    rows = "".join(f"{i},,{i % 2}\n" for i in range(20))
    with pytest.raises(DataError) as info:
        cr.data.load_csv(write(tmp_path, "a,b,label\n" + rows), target="label")
    message = str(info.value)
    assert "column 2 ('b') is no values" in message
    assert message.endswith("use them with features=['a']")  # was ['a', 'b']: b then failed


def test_read_table_drops_empty_cells_past_the_last_column(tmp_path):
    table = cr.data.read_table(write(tmp_path, "a,label\n1,x,,\n2,y\n3,x,\n"))
    assert table.rows == [["1", "x"], ["2", "y"], ["3", "x"]]


def test_ages_with_a_word_are_mixed_not_ninety_categories(tmp_path):
    rng = np.random.default_rng(1)
    ages = [str(rng.integers(0, 90)) if i % 19 else "unknown" for i in range(1000)]
    rows = "".join(f"{age},{i % 5},{i % 2}\n" for i, age in enumerate(ages))
    data = cr.data.load_csv(write(tmp_path, "age,a,label\n" + rows), target="label")
    assert data.schema["age"].role == "mixed"  # was categorical: 91 one-hot features
    assert "choose it as categorical if it holds codes" in data.schema["age"].reason


def test_iso_timestamps_with_zones_and_fractions_read_as_days(tmp_path):
    stamps = ["2024-03-01T12:00:00Z", "2024-03-01T14:00:00+02:00", "2024-03-01 06:00:00.5-0600"]
    rows = "".join(f"{stamps[i % 3]},{i % 2}\n" for i in range(12))
    data = cr.data.load_csv(
        write(tmp_path, "when,label\n" + rows), target="label", numeric=["when"]
    )
    # the same instant, 12:00 UTC (the last half a second later); was "not an ISO date"
    np.testing.assert_allclose(data.X[:3, 0], [19783.5, 19783.5, 19783.5 + 0.5 / 86400], rtol=1e-7)


def test_a_space_before_a_quoted_cell_is_not_part_of_it(tmp_path):
    # `1.5, "Paris, FR", 1`: before, the space made the quotes literal text, so the comma in
    # the cell split the row (an error) or the header's quoted names kept their quotes
    rows = ['"a", "city", "label"'] + [
        f'{i * 0.5}, "{["Paris, FR", "Lyon, FR"][i % 2]}", {i % 2}' for i in range(20)
    ]
    data = cr.data.load_csv(write(tmp_path, "\n".join(rows) + "\n"), target="label")
    assert data.columns == ["a", "city"]
    assert data.feature_names == ["a", "city=Lyon, FR", "city=Paris, FR"]
    assert data.X[:3, 0].tolist() == [0.0, 0.5, 1.0]


def test_a_space_after_a_closing_quote_is_a_clear_error(tmp_path):
    path = write(tmp_path, '"a" , "label"\n"1" , "0"\n"2" , "1"\n')
    with pytest.raises(DataError, match=r"line 1: malformed CSV: text after a closing quote"):
        cr.data.load_csv(path, target="label")


def test_a_comment_line_inside_the_data_is_named_in_the_error(tmp_path):
    rows = [f"{i},{i % 3},{i % 2}" for i in range(10)]
    path = write(tmp_path, "\n".join(["a,b,label", *rows[:4], "# exported 2024-05-01", *rows[4:]]))
    with pytest.raises(DataError, match="line 6: expected 3 columns .*starts with '#'"):
        cr.data.load_csv(path, target="label")
    # a row whose first cell is text starting with '#' and the right width is data, not a comment
    ids = write(
        tmp_path, "id,b,label\n" + "".join(f"#{i},{i % 3},{i % 2}\n" for i in range(9)), "ids.csv"
    )
    assert len(cr.data.load_csv(ids, target="label").y) == 9
