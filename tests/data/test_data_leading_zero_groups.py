"""A number never starts with a thousands group of 0: ``0.250`` in a decimal-comma file is
not 250, and ``-0.939`` in new rows is not a cell two conventions read differently."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv
from chainrule.data.numbers import NumberFormat, _to_float


@pytest.mark.parametrize(
    "cell, fmt, value",
    [
        ("0.250", NumberFormat(","), None),  # was 250.0
        ("-0.939", NumberFormat(","), None),  # was -939.0
        ("0,939", NumberFormat(".", True), None),  # was 939.0
        ("00.939", NumberFormat(","), None),
        ("1.250", NumberFormat(","), 1250.0),  # a real group stays one
        ("-0,750", NumberFormat(","), -0.75),
        ("1,250", NumberFormat(".", True), 1250.0),
    ],
)
def test_a_first_group_of_zero_is_no_thousands_group(cell, fmt, value):
    assert _to_float(cell, fmt) == value


def test_a_stray_dot_decimal_in_a_decimal_comma_file_is_an_error_not_a_thousandfold_value(
    tmp_path,
):
    rng = np.random.default_rng(0)
    lines = ["x;z;label"] + [
        f"{rng.random():.2f};{rng.integers(1, 9)},{rng.integers(0, 9)};{'ab'[i % 2]}".replace(
            ".", ","
        )
        for i in range(40)
    ]
    lines[6] = "0.250;3,5;a"
    path = tmp_path / "dc.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(cr.DataError, match=r"line 7, column 1 \('x'\): '0.250' is not a number"):
        load_csv(path, target="label")


def test_new_rows_in_the_training_format_get_no_decimal_note(tmp_path):
    # a tab-separated file of 3-decimal numbers: predicting on it said "numbers like
    # '-0.939' are read as in the training file ... (-0.939 = -0.939)", which says nothing
    rng = np.random.default_rng(1)
    rows = [(rng.normal(), rng.normal()) for _ in range(60)]
    text = "x\tz\tlabel\n" + "".join(f"{x:.3f}\t{z:.3f}\t{'ny'[x > 0]}\n" for x, z in rows)
    path = tmp_path / "tabs.csv"
    path.write_text(text)
    data = load_csv(path, target="label")
    data.preprocessor.fit(data.X)
    new = load_csv(path, target="label", preprocessor=data.preprocessor)
    assert not [n for n in new.notes if "decimal" in n]
    np.testing.assert_array_equal(new.X, data.X)
