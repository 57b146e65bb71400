"""Columns of numbers with a % or currency sign: read as numbers where that is safe, left
out with a reason where it is not, never a silent wrong number."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.units import parse_unit_cell


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "cell,parsed",
    [
        ("12%", ("%", False, "12")),
        ("12.5 %", ("%", False, "12.5")),
        ("$1,200.50", ("$", False, "1,200.50")),
        ("€3,50", ("€", False, "3,50")),
        ("1 200,50 €", ("€", False, "1 200,50")),
        ("(1,200.00)", (None, True, "1,200.00")),
        ("($12.50)", ("$", True, "12.50")),
        ("-$5", ("$", True, "5")),
        ("$-5", ("$", True, "5")),
        ("\u2212€5", ("€", True, "5")),
        ("12.50 eur", ("EUR", False, "12.50")),
        ("$5 USD", None),
        ("%5", None),
        ("-(5)", None),
        ("about $5", None),
        ("(5", None),
    ],
)
def test_parse_unit_cell(cell, parsed):
    assert parse_unit_cell(cell) == parsed


def test_percent_and_currency_columns_parse_to_exact_numbers(tmp_path):
    rows = [
        ("12%", "$1,200.50", "-$5", "a"),
        ("12.5 %", "$ 3.25", "(1,200.00)", "b"),
        ("0%", "$0.99", "$7", "a"),
        ("-3 %", "$12,000", "($0.50)", "b"),
    ]
    text = "rate,price,net,label\n" + "".join(f'"{a}","{b}","{c}",{d}\n' for a, b, c, d in rows)
    data = cr.data.load_csv(write(tmp_path, text), target="label")
    assert data.feature_names == ["rate", "price", "net"]
    np.testing.assert_array_equal(
        data.X,
        np.array(
            [[12, 1200.5, -5], [12.5, 3.25, -1200], [0, 0.99, 7], [-3, 12000, -0.5]], np.float32
        ),
    )
    assert "rate: numbers in % (the sign removed)" in data.notes
    assert "price: numbers in $ (the sign removed)" in data.notes


def test_decimal_comma_currency_with_space_groups(tmp_path):
    text = "amount;colour;y\n1 200,50 €;red;1\n€3,50;blue;0\n12,00 €;red;1\n€0,5;blue;0\n"
    data = cr.data.load_csv(write(tmp_path, text), target="y")
    np.testing.assert_allclose(data.X[:, 0], [1200.5, 3.5, 12.0, 0.5], rtol=1e-7)
    assert data.schema["amount"].stats["unit"] == {"sign": "€", "decimal": ",", "grouped": False}


def test_mixed_currencies_are_left_out_with_the_reason(tmp_path):
    text = "cost,size,y\n$5,1,0\n€6,2,1\n$7,3,0\n€8,4,1\n"
    data = cr.data.load_csv(write(tmp_path, text), target="y")
    assert data.feature_names == ["size"]
    info = data.schema["cost"]
    assert info.role == "units"
    assert "mixes currencies ($, €); convert them to one unit" in info.reason
    assert any("cost (numbers with $ that mixes currencies" in n for n in data.notes)


def test_percent_beside_currency_and_two_decimal_marks_are_refused(tmp_path):
    text = 'a,b,c,y\n5%,"€3,50",1,0\n$6,€3.50,2,1\n7%,"€1,25",3,0\n8%,€2.75,4,1\n'
    data = cr.data.load_csv(write(tmp_path, text), target="y")
    assert data.feature_names == ["c"]
    assert data.schema["a"].role == "units" and "mixes signs ($, %)" in data.schema["a"].reason
    assert data.schema["b"].role == "units"
    assert "decimal comma and with a decimal point" in data.schema["b"].reason


def test_a_stray_unreadable_cell_is_an_error_naming_it(tmp_path):
    rows = "".join(f"${k}.50,{k % 2}\n" for k in range(60))
    text = "price,y\n" + rows.replace("$7.50", "about $7", 1)
    with pytest.raises(cr.DataError) as info:
        cr.data.load_csv(write(tmp_path, text), target="y")
    message = str(info.value)
    assert "line 9, column 1 ('price')" in message
    assert "'about $7' is not a number" in message


def test_many_unreadable_cells_leave_the_column_out(tmp_path):
    cells = [f"${k}.5" for k in range(20)] + ["tbd", "n/k", "tbd", "n/k", "tbd"]
    text = "price,x,y\n" + "".join(f"{c},{k % 4},{k % 2}\n" for k, c in enumerate(cells))
    data = cr.data.load_csv(write(tmp_path, text), target="y")
    assert "price" not in data.columns
    assert data.schema["price"].role == "units"
    assert data.schema["price"].reason == "numbers with $ that has 5 cells that are not numbers"


def test_units_target_is_a_number_and_new_rows_read_the_same_way(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.rand(80) * 10
    growth = 3 * x + 1
    train = "x;growth\n" + "".join(
        f"{a:.3f};{g:.2f} %\n".replace(".", ",") for a, g in zip(x, growth)
    )
    data = cr.data.load_csv(write(tmp_path, train), target="growth")
    assert data.task == "regression"
    np.testing.assert_allclose(data.y, np.round(growth, 2), atol=1e-9)
    pre = data.preprocessor
    assert pre.target_unit == {"sign": "%", "decimal": ",", "grouped": False}
    again = cr.data.Preprocessor.from_dict(pre.to_dict())
    new = write(tmp_path, "x;growth\n1,5;5,5 %\n2;7 %\n", "new.csv")
    rows = cr.data.load_csv(new, target="growth", preprocessor=again)
    np.testing.assert_allclose(rows.X[:, 0], [1.5, 2.0])
    np.testing.assert_allclose(rows.y, [5.5, 7.0])


def test_new_rows_in_another_currency_are_an_error(tmp_path):
    train = "price,y\n" + "".join(f"${k * 1.5},{k % 2}\n" for k in range(20))
    data = cr.data.load_csv(write(tmp_path, train), target="y")
    pre = cr.data.Preprocessor.from_dict(data.preprocessor.to_dict())
    assert pre.columns[0]["unit"]["sign"] == "$"
    ok = write(tmp_path, "price\n$3\n4\n", "ok.csv")
    np.testing.assert_array_equal(cr.data.load_csv(ok, preprocessor=pre).X[:, 0], [3, 4])
    bad = write(tmp_path, "price\n$3\n€4\n", "bad.csv")
    with pytest.raises(cr.DataError) as info:
        cr.data.load_csv(bad, preprocessor=pre)
    assert "line 3, column 1 ('price')" in str(info.value)
    assert "'€4' is written in another unit than the training file's '$'" in str(info.value)


def test_a_model_trained_on_a_percent_and_price_file_predicts(tmp_path):
    rng = np.random.RandomState(1)
    n = 300
    rate, price = rng.rand(n) * 40, rng.rand(n) * 3000
    label = np.where(rate / 40 + price / 3000 > 1, "buy", "skip")
    lines = ["rate,price,label"] + [
        f'{r:.1f}%,"${p:,.2f}",{lab}' for r, p, lab in zip(rate, price, label)
    ]
    data = cr.data.load_csv(write(tmp_path, "\n".join(lines) + "\n"), target="label")
    X_train, X_test, y_train, y_test = data.split(test_size=0.25, seed=0)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    cr.fit(
        model,
        (X_train, y_train),
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.02),
        epochs=60,
        verbose=False,
    )
    accuracy = (cr.predict(model, X_test).argmax(1) == y_test).mean()
    assert accuracy > 0.9


def test_percent_column_with_bare_fractions_is_not_guessed(tmp_path):
    text = "share,x,y\n12%,1,0\n0.5,2,1\n30%,3,0\n0,4,1\n45%,5,0\n"
    data = cr.data.load_csv(write(tmp_path, text), target="y")
    assert data.feature_names == ["x"]
    assert "0.5: 0.5% or 50%?" in data.schema["share"].reason
    zero_is_fine = "share,x,y\n12%,1,0\n0,2,1\n30%,3,0\n0,4,1\n45%,5,0\n"
    data = cr.data.load_csv(write(tmp_path, zero_is_fine), target="y")
    np.testing.assert_array_equal(data.X[:, 0], [12, 0, 30, 0, 45])
    assert "share: numbers in % (the sign removed; 2 cell(s) without it read as % too)" in (
        data.notes
    )


def test_a_stray_sign_in_a_plain_numeric_column_stays_an_error(tmp_path):
    text = "x,y\n" + "".join(f"{k}.25,{k % 2}\n" for k in range(60)).replace("7.25", "7%", 1)
    with pytest.raises(cr.DataError, match=r"line 9, column 1 \('x'\): '7%' is not a number"):
        cr.data.load_csv(write(tmp_path, text), target="y")


def test_a_units_column_named_categorical_keeps_its_cells(tmp_path):
    text = "tier,x,y\n" + "".join(f"${5 * (k % 3)},{k},{k % 2}\n" for k in range(12))
    data = cr.data.load_csv(write(tmp_path, text), target="y", categorical=["tier"])
    assert data.feature_names[:3] == ["tier=$0", "tier=$10", "tier=$5"]
    new = cr.data.load_csv(
        write(tmp_path, "tier,x\n$10,1\n", "new.csv"), preprocessor=data.preprocessor
    )
    assert new.X[0, :3].tolist() == [0, 1, 0]
