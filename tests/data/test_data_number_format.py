"""New rows are read with the number format of the model's training file: cells that read
differently in the two conventions (4.500, 4,500) follow training, a file that plainly writes
numbers otherwise is read as written, with a note."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Preprocessor, load_csv
from chainrule.data.reader import read_columns
from chainrule.data.schema import infer_schema


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _trained(tmp_path, text, name="train.csv"):
    data = load_csv(_write(tmp_path, name, text), target="label")
    data.preprocessor.fit(data.X)
    # through JSON, as a saved model carries it
    return data, Preprocessor.from_dict(data.preprocessor.to_dict())


GERMAN = "income;age;label\n1.677,3;24;poor\n4.164,0;36;rich\n913,6;38;poor\n3.778,5;55;rich\n"
AMERICAN = "income\tage\tlabel\n885.42\t29\tpoor\n4,105.74\t32\trich\n1,250.00\t40\tpoor\n"


def test_decimal_comma_model_reads_thousands_dots_as_in_training(tmp_path):
    data, pre = _trained(tmp_path, GERMAN)
    assert pre.number_format == {"decimal": ",", "grouped": False, "delimiter": ";"}
    new = load_csv(
        _write(tmp_path, "new.csv", "income;age\n1.000;30\n4.500;40\n"), preprocessor=pre
    )
    assert new.X[:, 0].tolist() == [1000.0, 4500.0]
    assert any("'1.000' are read as in the training file" in n for n in new.notes)
    assert any("--decimal ." in n.cli for n in new.notes if hasattr(n, "cli"))
    # the same cells with the decimal part written out: no doubt, no note
    new = load_csv(
        _write(tmp_path, "n2.csv", "income;age\n1.000,0;30\n4.500,5;40\n"), preprocessor=pre
    )
    assert new.X[:, 0].tolist() == [1000.0, 4500.5] and not new.notes


def test_thousands_separator_model_reads_comma_groups_as_in_training(tmp_path):
    data, pre = _trained(tmp_path, AMERICAN, "train.tsv")
    assert pre.number_format == {"decimal": ".", "grouped": True, "delimiter": "\t"}
    new = load_csv(
        _write(tmp_path, "new.tsv", "income\tage\n1,000\t30\n4,500\t40\n"), preprocessor=pre
    )
    assert new.X[:, 0].tolist() == [1000.0, 4500.0]
    assert any("'1,000' are read as in the training file" in n for n in new.notes)


def test_a_file_plainly_in_the_other_convention_is_read_as_written_with_a_note(tmp_path):
    data, pre = _trained(tmp_path, GERMAN)
    path = _write(tmp_path, "new.tsv", "income\tage\n4.5\t30\n1000.25\t40\n")
    new = load_csv(path, preprocessor=pre)
    assert new.X[:, 0].tolist() == [4.5, 1000.25]
    [note] = new.notes
    assert "decimal point (e.g. '4.5'), the training file with a decimal comma" in note
    # the user's choice wins over both
    new = load_csv(
        _write(tmp_path, "n.csv", "income;age\n4.500;30\n"), preprocessor=pre, decimal="."
    )
    assert new.X[:, 0].tolist() == [4.5]


def test_one_column_file_uses_the_training_delimiter(tmp_path):
    text = "income;label\n" + "".join(f"{i},5;{'ab'[i % 2]}\n" for i in range(10))
    data, pre = _trained(tmp_path, text)
    new = load_csv(_write(tmp_path, "new.csv", "income\n1,5\n2,25\n"), preprocessor=pre)
    assert new.X[:, 0].tolist() == [1.5, 2.25]
    assert np.allclose(
        pre.transform_file(tmp_path / "new.csv")[:, 0] * pre.std[0] + pre.mean[0], [1.5, 2.25]
    )


def test_models_saved_before_the_format_was_kept_still_load(tmp_path):
    data, pre = _trained(tmp_path, GERMAN)
    state = pre.to_dict()
    del state["number_format"]
    old = Preprocessor.from_dict(state)
    assert old.number_format is None
    new = load_csv(_write(tmp_path, "new.csv", "income;age\n1.000,0;30\n"), preprocessor=old)
    assert new.X[:, 0].tolist() == [1000.0]


def test_scientific_numbers_with_a_decimal_comma_are_numbers(tmp_path):
    # Excel's scientific format in a German locale writes 1,23E-06; before, such a column was
    # text, every cell distinct, and left out as an identifier
    rng = np.random.default_rng(0)
    values = rng.normal(size=40) * 1e-4
    rows = ["a;b;label"] + [
        f"{v:.2E};{i % 3};{'xy'[i % 2]}".replace(".", ",") for i, v in enumerate(values)
    ]
    data = load_csv(_write(tmp_path, "sci.csv", "\n".join(rows) + "\n"), target="label")
    assert data.feature_names == ["a", "b"]
    expected = [float(f"{v:.2E}") for v in values]
    np.testing.assert_allclose(data.X[:, 0], expected, rtol=1e-6)


def test_thousands_dots_beside_plain_hundreds_in_a_semicolon_file(tmp_path):
    # a German export of whole euros: 519 and 4.076 (4076) in one column, no decimal comma
    # anywhere; before, 4.076 was read as 4.076, silently below 519
    rng = np.random.default_rng(3)
    amounts = rng.integers(100, 5000, size=40)
    rows = ["amount;n;label"] + [
        f"{a:,}".replace(",", ".") + f";{i % 4};{'xy'[i % 2]}" for i, a in enumerate(amounts)
    ]
    data = load_csv(_write(tmp_path, "euros.csv", "\n".join(rows) + "\n"), target="label")
    assert data.X[:, 0].tolist() == amounts.astype(float).tolist()
    assert any("decimal comma" in note for note in data.notes)


def test_three_decimal_measurements_keep_their_decimal_point(tmp_path):
    # 1.250 kg beside 3 kg, or beside 0.500: no whole number from 100 to 999, or a dot that
    # cannot group thousands, so the points stay decimal points
    for cells in (["1.250", "3", "2.125", "4"], ["1.250", "0.500", "150", "2.125"]):
        rows = ["kg;label"] + [f"{c};{'xy'[i % 2]}" for i, c in enumerate(cells * 5)]
        data = load_csv(_write(tmp_path, "kg.csv", "\n".join(rows) + "\n"), target="label")
        assert data.X[:4, 0].tolist() == [float(c) for c in cells]


def test_the_thousands_note_shows_the_files_own_separator(tmp_path):
    # before: "numbers use thousands separators (1,234.5)" for a file writing 105'311
    rows = ["amount,label"] + [f"{100 + i}'{311 + i},{'xy'[i % 2]}" for i in range(20)]
    data = load_csv(_write(tmp_path, "swiss.csv", "\n".join(rows) + "\n"), target="label")
    assert data.X[0, 0] == 100311.0
    assert 'numbers use thousands separators (e.g. "100\'311")' in data.notes


def test_three_decimals_with_a_comma_in_a_comma_separated_file_are_not_thousands(tmp_path):
    # a sheet exported with ',' between cells and decimal commas quoted ("2,764", "0,261"):
    # "2,764" read as 2764 and "0,261" (no thousands grouping) as text, so the column was
    # 'mixed' and the advice, to empty the odd cells, kept numbers 1000 times too large
    rng = np.random.default_rng(3)
    cells = [f'"{v:.3f}"'.replace(".", ",") for v in rng.normal(0, 10, 40)]
    rows = "".join(f"{c},{'ab'[i % 2]}\n" for i, c in enumerate(cells))
    path = tmp_path / "sheet.csv"
    path.write_text("v,label\n" + rows)
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="label")
    message = str(err.value)
    assert "'v' write numbers with a decimal comma" in message and "decimal=','" in message
    assert "write those cells empty" not in message
    data = load_csv(path, target="label", decimal=",")
    expected = [float(c.strip('"').replace(",", ".")) for c in cells]
    np.testing.assert_allclose(data.X[:, 0], expected, rtol=1e-6)
    beside = tmp_path / "beside.csv"  # a column with a decimal point: 'v' is left out, said why
    beside.write_text(
        "v,x,label\n" + "".join(f"{c},{i / 2},{i % 2}\n" for i, c in enumerate(cells))
    )
    data = load_csv(beside, target="label")
    assert data.columns == ["x"] and data.schema["v"].role == "comma decimals"
    assert "'0,261'" in data.schema["v"].reason or "decimal comma" in data.schema["v"].reason


def test_whole_numbers_grouped_with_commas_beside_a_stray_word_stay_numbers(tmp_path):
    values = [f'"{v:,}"' for v in range(1000, 41000, 1000)]
    values[5] = "unknown"
    rows = "".join(f"{c},{i % 2}\n" for i, c in enumerate(values))
    path = tmp_path / "grouped.csv"
    path.write_text("v,label\n" + rows)
    schema = infer_schema(read_columns(path), target="label")
    assert schema["v"].role == "numeric"  # one word among grouped numbers: not decimal commas


def test_the_decimal_comma_hint_names_a_column_read_with_thousands_commas(tmp_path):
    # 'w' (8,47) is left out with the hint decimal=','; 'v' (1,771) was read as 1771 without
    # the hint saying that the same mark, read as a decimal comma, makes it 1.771
    rng = np.random.default_rng(3)
    v = [f'"{x:.3f}"'.replace(".", ",") for x in rng.uniform(1, 10, 40)]
    w = [f'"{x:.2f}"'.replace(".", ",") for x in rng.uniform(1, 10, 40)]
    rows = "".join(f"{a},{b},{i % 2}\n" for i, (a, b) in enumerate(zip(v, w)))
    path = _write(tmp_path, "two.csv", "v,w,label\n" + rows)
    data = load_csv(path, target="label")
    [hint] = [n for n in data.notes if "decimal=','" in n]
    first = v[0].strip('"')
    assert f"it reads 'v' too: '{first}' is now {first.replace(',', '')}, then " in hint
    assert "--decimal ," in hint.cli
    np.testing.assert_allclose(
        load_csv(path, target="label", decimal=",").X[:, 0],
        [float(c.strip('"').replace(",", ".")) for c in v],
        rtol=1e-6,
    )


def _lakh(value: float) -> str:
    """12,34,567.89: India's grouping, two digits a group above the thousands."""
    whole, fraction = f"{value:.2f}".split(".")
    head, groups = whole[:-3], [whole[-3:]]
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return ",".join(groups) + "." + fraction


@pytest.mark.parametrize("sign", ["", "₹", "₹ ", " INR"])
def test_indian_digit_grouping_reads_as_numbers(tmp_path, sign):
    # '4,29,160.19' was text: the column was an 'identifier', left out; '₹' no currency
    rng = np.random.default_rng(3)
    values = rng.uniform(1000, 5e6, 40)
    cells = [(f"{_lakh(v)}{sign}" if sign == " INR" else f"{sign}{_lakh(v)}") for v in values]
    rows = "".join(f'"{c}",{i % 2}\n' for i, c in enumerate(cells))
    data = load_csv(_write(tmp_path, "inr.csv", "amount,label\n" + rows), target="label")
    assert data.columns == ["amount"]
    np.testing.assert_allclose(data.X[:, 0], np.round(values, 2), rtol=1e-6)
    assert _lakh(1234567.891) == "12,34,567.89" and _lakh(123.4) == "123.40"


def test_groups_of_two_digits_are_not_numbers_everywhere(tmp_path):
    from chainrule.data.numbers import is_grouped

    assert is_grouped("1,23,456.78") and is_grouped("-1,00,000") and is_grouped("12,345,678")
    for cell in ("1,23,45", "123,45,678", "0,12,345", "1,2,345", "12,34"):
        assert not is_grouped(cell), cell
