"""Files as users' tools write them: Windows-1252 and UTF-16 exports, byte-order marks,
workbooks saved as .csv, zip codes whose leading zeros come late, and more."""

import codecs

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv, read_table


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    towns = ["Zürich", "Genève", "München", "Köln"]
    for i in range(n):
        x = float(rng.normal())
        yield i, x, towns[i % 4], "oui" if x > 0 else "non"


# ---- encodings ------------------------------------------------------------------------------
def test_windows_1252_file_is_read_with_a_note(tmp_path):
    lines = ["prix;remarque;ville;classe"]
    for _, x, town, label in _rows(60):
        lines.append(f"{x * 10 + 50:.2f} €;\u201cbien\u201d;{town};{label}")
    path = tmp_path / "excel.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    data = load_csv(path, target="classe")
    assert "ville=Zürich" in data.feature_names and "ville=Genève" in data.feature_names
    assert data.preprocessor.columns[0]["unit"]["sign"] == "€"  # € read, and removed
    note = next(n for n in data.notes if "Windows-1252" in n)
    assert "encoding=" in note and "--encoding" in note.cli


def test_bytes_windows_1252_leaves_undefined_are_read_as_latin_1(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"x,town,label\n1,K\xf6ln\x81,a\n2,Z\xfcrich,b\n3,K\xf6ln\x81,a\n4,Z,b\n")
    data = load_csv(path, target="label")
    assert "town=Köln\x81" in data.feature_names and "town=Zürich" in data.feature_names


def test_utf8_file_with_one_damaged_byte_is_an_error_not_garbled(tmp_path):
    # read as Windows-1252, every Genève would become GenÃ¨ve: a category new rows never match
    path = tmp_path / "damaged.csv"
    rows = "".join(f"Genève,{i % 2}\nZürich,{i % 2}\n" for i in range(20)).encode()
    path.write_bytes(b"ville,label\n" + rows + b"K\xf6ln,1\n")
    with pytest.raises(
        cr.DataError, match=r"is UTF-8 .* 1 byte\(s\) are not UTF-8: line 42 \(byte 0xf6\)"
    ):
        load_csv(path, target="label")
    assert "ville=Köln" in load_csv(path, target="label", encoding="latin-1").feature_names


def test_encoding_can_be_named_and_an_unknown_one_is_an_error(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes("a,ville,label\n1,Orléans,x\n2,Nîmes,y\n3,Orléans,x\n".encode("mac-roman"))
    data = load_csv(path, target="label", encoding="mac-roman")
    assert "ville=Orléans" in data.feature_names
    assert not any("Windows-1252" in n for n in data.notes)
    with pytest.raises(cr.DataError, match="unknown encoding 'nope'"):
        load_csv(path, target="label", encoding="nope")


def test_utf16_tab_separated_unicode_text_export(tmp_path):
    text = "x\tville\tclasse\r\n" + "".join(
        f"{x:.3f}\t{town}\t{label}\r\n" for _, x, town, label in _rows(40)
    )
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    data = load_csv(path, target="classe")
    assert data.feature_names[0] == "x" and "ville=Köln" in data.feature_names


@pytest.mark.parametrize("encoding", [None, "utf-8", "UTF8"])
def test_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path, encoding):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"age,label\n1,a\n2,b\n3,a\n4,b\n")
    data = load_csv(path, target="label", encoding=encoding)
    assert data.columns == ["age"]
    assert read_table(path, encoding=encoding).names == ["age", "label"]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, ["zip archive", ".xlsx", "CSV UTF-8"]),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, [".xls", "CSV UTF-8"]),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, ["gzip"]),
    ],
    ids=["xlsx", "xls", "gzip"],
)
def test_workbook_or_archive_named_csv_is_a_clear_error(tmp_path, content, words):
    path = tmp_path / "sales.csv"
    path.write_bytes(content)
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="label")
    for word in words:
        assert word in str(err.value)


# ---- codes ----------------------------------------------------------------------------------
def test_leading_zeros_after_row_200_still_make_a_column_of_codes(tmp_path):
    rng = np.random.default_rng(1)
    lines = ["zip,income,label"]
    for i in range(600):
        code = [10115, 20095, 80331][i % 3] if i < 300 else [1067, 4109, 80331][i % 3]
        income = rng.normal(50, 10)
        lines.append(f"{code:05d},{income:.1f},{'yes' if income > 50 else 'no'}")
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_csv(path, target="label")
    zip_info = data.schema.columns[0]
    assert zip_info.role == "categorical" and "'01067'" in zip_info.reason
    assert "zip=1067" in data.feature_names and "zip=10115" in data.feature_names


def test_column_named_zip_is_codes_even_without_a_leading_zero(tmp_path):
    lines = ["PLZ,income,label"] + [
        f"{[10115, 20095, 80331][i % 3]},{i % 17},{'ab'[i % 2]}" for i in range(60)
    ]
    path = tmp_path / "plz.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_csv(path, target="label")
    assert data.schema.columns[0].role == "categorical"
    assert data.feature_names[:3] == ["PLZ=10115", "PLZ=20095", "PLZ=80331"]
    data = load_csv(path, target="label", numeric=["PLZ"])  # the user can still say numbers
    assert data.feature_names[0] == "PLZ"


# ---- new rows -------------------------------------------------------------------------------
def _train_file(tmp_path):
    rng = np.random.default_rng(2)
    lines = ["age,income,label"] + [
        f"{rng.integers(18, 80)},{rng.normal(50, 10):.1f},{i % 2}" for i in range(100)
    ]
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_missing_value_code_in_rows_to_predict_gets_a_note(tmp_path):
    data = load_csv(_train_file(tmp_path), target="label")
    assert not any("-9999" in n for n in data.notes)
    data.split()  # fits the preprocessor: new rows are compared with the training rows
    new = tmp_path / "new.csv"
    new.write_text("income,age\n51.0,-9999\n48.5,33\n")  # three rows: too few to compare
    rows = load_csv(new, preprocessor=data.preprocessor)
    note = next(n for n in rows.notes if "-9999" in n)
    assert note.startswith("age: -9999 in 1 row(s) lies far outside the training values")
    plain = tmp_path / "plain.csv"
    plain.write_text("income,age\n51.0,45\n48.5,33\n")
    assert not load_csv(plain, preprocessor=data.preprocessor).notes


def test_missing_value_codes_after_a_yes_no_column_are_compared_with_their_own_column(tmp_path):
    # a boolean column keeps its two categories but is one feature: counted as two, every
    # numeric column after it was compared with its neighbour's statistics, so predicting on
    # the training file itself said "income: 99 ... lies far outside the training values
    # (mean 0.48, standard deviation 0.5)", and a real -9999 went unsaid
    rng = np.random.default_rng(2)
    rows = [
        f"{'yes' if i % 2 else 'no'},{rng.integers(0, 1000)},{rng.normal(50, 10):.1f},{i % 2}"
        for i in range(100)
    ]
    path = tmp_path / "train.csv"
    path.write_text("member,visits,income,label\n" + "\n".join(rows) + "\n")
    data = load_csv(path, target="label")
    data.split()  # fits the preprocessor
    again = load_csv(path, target="label", preprocessor=data.preprocessor)
    assert not [n for n in again.notes if "far outside" in n]
    new = tmp_path / "new.csv"
    new.write_text("member,visits,income\nyes,100,-9999\nno,999,50\n")
    notes = [n for n in load_csv(new, preprocessor=data.preprocessor).notes if "far" in n]
    assert len(notes) == 1 and notes[0].startswith("income: -9999 in 1 row(s) lies far outside")


def test_rows_in_another_unit_get_a_note(tmp_path):
    # incomes of about 50 (thousands) in training, 51000 in the rows to predict: the model
    # extrapolated far outside anything it saw, and nothing said so
    data = load_csv(_train_file(tmp_path), target="label")
    data.split()
    new = tmp_path / "new.csv"
    new.write_text("income,age\n51000,45\n48500,33\n62000,51\n")
    notes = [n for n in load_csv(new, preprocessor=data.preprocessor).notes if "far" in n]
    assert len(notes) == 1
    assert notes[0].startswith("income: the values to predict from (median 5.1e+04) lie far")
    assert "another unit" in notes[0]
    one = tmp_path / "one.csv"  # one row far out: said with its value
    one.write_text("income,age\n49,450\n")
    [note] = [n for n in load_csv(one, preprocessor=data.preprocessor).notes if "far" in n]
    assert note.startswith("age: the values to predict from (450) lie far")
    near = tmp_path / "near.csv"  # the training file's own rows: nothing to say
    assert not [
        n
        for n in load_csv(_train_file(tmp_path), preprocessor=data.preprocessor).notes
        if "far" in n
    ]
    near.write_text("income,age\n80,79\n20,18\n")
    assert not [n for n in load_csv(near, preprocessor=data.preprocessor).notes if "far" in n]


def test_a_regression_target_to_evaluate_in_another_unit_gets_a_note(tmp_path):
    rng = np.random.default_rng(4)
    rows = [f"{x:.3f},{300 + 100 * x:.2f}" for x in rng.normal(size=80)]
    path = tmp_path / "prices.csv"
    path.write_text("x,price\n" + "\n".join(rows) + "\n")
    data = load_csv(path, target="price")
    data.split()
    data.preprocessor.fit_target(data.y)
    cents = tmp_path / "cents.csv"  # the same prices in cents: every metric was huge, unsaid
    cents.write_text("x,price\n0.5,35000\n-0.2,28000\n")
    [note] = load_csv(cents, target="price", preprocessor=data.preprocessor).notes
    assert note.startswith("price: the target values (median 3.15e+04) lie far from the")
    same = load_csv(path, target="price", preprocessor=data.preprocessor)
    assert not [n for n in same.notes if "far" in n]


def test_accounting_negatives_without_a_sign_are_negative_numbers(tmp_path):
    rng = np.random.default_rng(3)
    lines = ["balance,amount,label"]
    for _ in range(60):
        b = rng.normal()
        cell = f"({abs(b):.2f})" if b < 0 else f"{b:.2f}"
        lines.append(f"{cell},{rng.normal():.2f},{int(b > 0)}")
    path = tmp_path / "ledger.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_csv(path, target="label")
    assert data.feature_names == ["balance", "amount"]
    assert (data.X[data.y == 0, 0] <= 0).all() and (data.X[data.y == 1, 0] > 0).all()
    assert any("accounting negatives, (0.50) or 0.50-, read as negative" in n for n in data.notes)
    new = tmp_path / "new.csv"
    new.write_text("amount,balance\n0.1,(0.30)\n0.2,1.5\n")
    assert load_csv(new, preprocessor=data.preprocessor).X[:, 0].tolist() == [
        pytest.approx(-0.3),
        1.5,
    ]


def test_parentheses_alone_are_not_numbers_and_regression_targets_read_them(tmp_path):
    labels = tmp_path / "labels.csv"  # (1), (2): list labels, not negatives
    labels.write_text("item,x,label\n" + "".join(f"({i % 3}),{i},{i % 2}\n" for i in range(30)))
    assert load_csv(labels, target="label").schema.columns[0].role == "categorical"
    money = tmp_path / "money.csv"
    rows = [f"{i % 7},{'(' + str(i) + '.5)' if i % 2 else str(i) + '.25'}\n" for i in range(40)]
    money.write_text("x,profit\n" + "".join(rows))
    data = load_csv(money, target="profit")
    assert data.task == "regression" and data.y[1] == -1.5
    assert load_csv(money, target="profit", preprocessor=data.preprocessor).y[3] == -3.5


# ---- summary rows ---------------------------------------------------------------------------
def _sales(tmp_path, last):
    rows = [
        f"2024-{m % 12 + 1:02d},{10 + m},{1000 + 7 * m}.5,{'up' if m % 2 else 'down'}\n"
        for m in range(40)
    ]
    path = tmp_path / "sales.csv"
    path.write_text("month,units,revenue,trend\n" + "".join(rows) + last)
    return path


@pytest.mark.parametrize("last", ["Total,1180,41960.0,up\n", "Grand total:,1180,41960.0,\n"])
def test_totals_row_at_the_bottom_is_an_error_naming_its_line(tmp_path, last):
    words = r"line 42: looks like a totals row \('(Total|Grand total:)'"
    with pytest.raises(cr.DataError, match=words):
        load_csv(_sales(tmp_path, last), target="units")


def test_total_as_an_ordinary_value_is_data(tmp_path):
    # "total" (a total loss) in the last row, with no sum beside it: a row of data
    lines = ["damage,cost,label"] + [f"partial,{100 + i},{i % 2}" for i in range(20)]
    path = tmp_path / "claims.csv"
    path.write_text("\n".join(lines + ["total,150,1"]) + "\n")
    assert len(load_csv(path, target="label")) == 21


# ---- messages that name the fix -------------------------------------------------------------
def test_quoted_decimal_commas_in_a_comma_separated_file_name_the_decimal_option(tmp_path):
    rows = "".join(f'"{i % 7},{i % 10}","-0,{i % 9}5",{"ab"[i % 2]}\n' for i in range(30))
    path = tmp_path / "commas.csv"
    path.write_text("x,y,label\n" + rows)
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="label")
    assert "'x', 'y' write numbers with a decimal comma (e.g. '0,0')" in str(err.value)
    assert str(err.value).endswith("pass decimal=','")
    assert err.value.cli_message.endswith("pass --decimal ,")
    assert load_csv(path, target="label", decimal=",").X[3].tolist() == pytest.approx([3.3, -0.35])


def test_numeric_target_with_a_few_words_names_every_line(tmp_path):
    values = [str(i * 1.5) for i in range(40)]
    values[5], values[30] = "unknown", "see note"
    rows = "".join(f"{i % 5},{v}\n" for i, v in enumerate(values))
    path = tmp_path / "prices.csv"
    path.write_text("size,price\n" + rows)
    with pytest.raises(cr.DataError, match=r"2 of 40 rows hold text among numbers: lines 7, 32"):
        load_csv(path, target="price")


def test_rows_to_predict_name_every_missing_column_and_unseen_categories(tmp_path):
    rows = "".join(
        f"{['red', 'blue'][i % 2]},{['S', 'M'][i % 3 % 2]},{i},{'ab'[i % 2]}\n" for i in range(40)
    )
    train = tmp_path / "train.csv"
    train.write_text("colour,size,amount,label\n" + rows)
    pre = load_csv(train, target="label").preprocessor
    new = tmp_path / "new.csv"
    new.write_text("colour,amount\npurple,3\n")
    with pytest.raises(cr.DataError, match=r"no column\(s\) \['size'\] and no target column"):
        load_csv(new, target="label", preprocessor=pre)
    new.write_text("colour,amount,size\npurple,3,XL\nred,4,S\n")
    with pytest.raises(cr.DataError, match="no target column 'label' to compare the predictions"):
        load_csv(new, target="label", preprocessor=pre)
    notes = load_csv(new, preprocessor=pre).notes
    assert "colour: 1 row(s) hold a category not seen in training ('purple')" in notes[0]
    assert "size: 1 row(s) hold a category not seen in training ('XL')" in notes[1]
    assert "coded differently" not in notes[0]
    new.write_text("colour,amount,size\nR,3,S\nB,4,M\n")
    [note] = load_csv(new, preprocessor=pre).notes
    assert note.endswith(
        "no row holds a training category ('blue', 'red'): is the column coded differently? "
        "predictions ignore it"
    )


def test_a_column_of_peoples_names_is_an_identifier(tmp_path):
    people = ["Jürgen Groß", "Käthe Weiß", "Søren Müller", "Zoë Groß"]
    rows = "".join(f"{people[i % 4]},{i % 9},{'ab'[i % 2]}\n" for i in range(80))
    path = tmp_path / "people.csv"
    path.write_text("Name,visits,label\n" + rows)
    data = load_csv(path, target="label")
    assert data.columns == ["visits"]
    assert data.schema.columns[0].reason == "named like a person's name"
    assert load_csv(path, target="label", features=["Name", "visits"]).X.shape == (80, 5)


def test_regression_on_a_few_whole_numbers_or_a_code_name_says_how_to_classify(tmp_path):
    rows = "".join(f"{i % 7}.5,{101 + i % 30}\n" for i in range(120))
    path = tmp_path / "groups.csv"
    path.write_text("price,group\n" + rows)
    data = load_csv(path, target="group")
    assert data.task == "regression"
    note = next(n for n in data.notes if n.startswith("group: 30 distinct whole numbers"))
    assert "(101 to 130) are read as amounts" in note and "task='classification'" in note
    assert "--task classification" in note.cli
    ages = tmp_path / "ages.csv"
    ages.write_text("x,age\n" + "".join(f"{i % 5},{18 + i % 50}\n" for i in range(60)))
    assert not any("whole numbers" in n for n in load_csv(ages, target="age").notes)


def test_classes_of_a_few_whole_numbers_that_look_like_amounts_say_how_to_regress(tmp_path):
    # before: rounded house prices (10 values, 30 rows each) trained a 10-class model with
    # no word; its predictions can only be one of the prices seen
    rows = "".join(f"{i % 5},{100000 * (1 + i % 10)}\n" for i in range(300))
    path = tmp_path / "houses.csv"
    path.write_text("rooms,value_eur\n" + rows)  # round thousands, whatever the name
    data = load_csv(path, target="value_eur")
    assert data.task == "multiclass"
    note = next(n for n in data.notes if n.startswith("value_eur: 10 distinct whole numbers"))
    assert "(100000 to 1000000) are read as classes" in note and "task='regression'" in note
    assert "--task regression" in note.cli
    named = tmp_path / "ages.csv"  # small numbers, named like an amount
    named.write_text("x,age\n" + "".join(f"{i % 4},{20 + i % 6}\n" for i in range(60)))
    assert any(n.startswith("age: 6 distinct whole numbers") for n in load_csv(named, "age").notes)
    for name, task in (("rating", None), ("age", "classification")):  # a code; the user's word
        path.write_text(f"x,{name}\n" + "".join(f"{i % 4},{1 + i % 5}\n" for i in range(60)))
        notes = load_csv(path, target=name, task=task).notes
        assert not any("read as classes" in n for n in notes)


def test_unicode_minus_and_space_grouped_whole_numbers_are_numbers(tmp_path):
    rows = "".join(
        f"\u2212{i % 9},{i};12\u00a0{i % 10}45;1\u202f000\u202f{i % 10}00;{'ab'[i % 2]}\n"
        for i in range(30)
    )
    path = tmp_path / "nordic.csv"
    path.write_text("temp;count;sales;label\n" + rows, encoding="utf-8")
    data = load_csv(path, target="label", features=["temp", "sales"])
    assert data.X[3].tolist() == pytest.approx([-3.3, 1_000_300])
    assert load_csv(path, target="label").schema.columns[1].role == "numeric"


@pytest.mark.parametrize("target", ["customer_id", "Name", "number_id"])
def test_an_identifier_target_is_an_error_not_a_model_of_one_row_per_class(tmp_path, target):
    rows = "".join(f"C{100 + i},Person {i},{i + 1},{i % 7},{'ab'[i % 2]}\n" for i in range(60))
    path = tmp_path / "people.csv"
    path.write_text("customer_id,Name,number_id,visits,label\n" + rows)
    with pytest.raises(cr.DataError, match="the target is an identifier") as err:
        load_csv(path, target=target)
    assert "--target COLUMN" in err.value.cli_message
    task = "regression" if target == "number_id" else "classification"
    assert f"--task {task} to train on it anyway" in err.value.cli_message
    assert len(load_csv(path, target=target, task=task).y) == 60


def test_a_target_named_like_an_id_or_a_name_with_few_values_is_a_label(tmp_path):
    rows = "".join(f"{i % 7},{['setosa', 'virginica'][i % 2]},{i % 3}\n" for i in range(60))
    path = tmp_path / "species.csv"
    path.write_text("x,name,class_id\n" + rows)
    assert load_csv(path, target="name", drop=["class_id"]).class_names == ["setosa", "virginica"]
    assert load_csv(path, target="class_id").class_names == ["0", "1", "2"]


def test_amounts_written_with_the_other_decimal_mark_in_new_rows_read_by_their_last_mark(
    tmp_path,
):
    rows = "".join(f"{i % 5};{1000 + 37 * i:,}.{i % 10}0 €;{'ab'[i % 2]}\n" for i in range(40))
    rows = rows.replace(",", "X").replace(".", ",").replace("X", ".")  # 1.037,10 €
    train = tmp_path / "train.csv"
    train.write_text("x;amount;label\n" + rows, encoding="utf-8")
    pre = load_csv(train, target="label").preprocessor
    new = tmp_path / "new.csv"
    new.write_text('x,amount\n1,"2,000.50 €"\n2,"1.500,25 €"\n3,"2.000 €"\n', encoding="utf-8")
    assert load_csv(new, preprocessor=pre).X[:, 1].tolist() == [2000.5, 1500.25, 2000.0]


def test_a_zero_written_00_late_in_a_column_keeps_it_numeric(tmp_path):
    rows = [f"{i % 13},{i % 2}" for i in range(300)]
    rows[250] = "00,1"
    path = tmp_path / "counts.csv"
    path.write_text("count,label\n" + "\n".join(rows) + "\n")
    assert load_csv(path, target="label").feature_names == ["count"]
