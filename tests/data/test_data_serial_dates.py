"""A date column exported as Excel date serial numbers (45292 for 2024-01-01): read as a
number, with a note saying what the numbers may be and what to do."""

import numpy as np
import pytest

from chainrule.data import load_csv


def _file(tmp_path, name, values):
    rng = np.random.default_rng(0)
    lines = [f"{name},x,label"] + [
        f"{v},{rng.normal():.3f},{'ab'[i % 2]}" for i, v in enumerate(values)
    ]
    path = tmp_path / "serial.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_serial_numbers_in_a_date_column_get_a_note(tmp_path):
    # before: used as a plain number, silently
    rng = np.random.default_rng(1)
    values = rng.integers(43000, 45500, size=60)
    data = load_csv(_file(tmp_path, "order_date", values), target="label")
    assert data.columns == ["order_date", "x"]
    note = next(n for n in data.notes if n.startswith("order_date: "))
    low, high = values.min(), values.max()
    assert f"whole numbers from {low} to {high} in a column named like a date" in note
    assert "Excel date serial numbers (20" in note
    assert "drop=['order_date']" in note and "--drop order_date" in note.cli


def test_the_note_gives_the_dates_the_numbers_stand_for(tmp_path):
    values = [45292, 45293] * 30  # 2024-01-01 and 2024-01-02
    data = load_csv(_file(tmp_path, "Datum", values), target="label")
    assert any("(2024-01-01 to 2024-01-02)" in n for n in data.notes)


@pytest.mark.parametrize(
    "name, values",
    [
        ("amount", list(range(43000, 43060, 1))[::-1][:30] * 2),  # not named like a date
        ("order_date", [20240101 + i % 28 for i in range(60)]),  # yyyymmdd, not serial
        ("date", [4.5 + i for i in range(60)]),  # fractions
    ],
)
def test_other_numbers_get_no_note(tmp_path, name, values):
    data = load_csv(_file(tmp_path, name, values), target="label")
    assert not any("serial" in n for n in data.notes)


def test_yyyymmdd_numbers_get_a_note_whatever_the_name(tmp_path):
    # before: 20240101 was read as an amount, silently (31 Jan to 1 Feb a step of 70)
    values = [20240101 + 100 * (i % 12) + i % 28 for i in range(60)]
    data = load_csv(_file(tmp_path, "booked", values), target="label")
    assert data.columns == ["booked", "x"]
    note = next(n for n in data.notes if n.startswith("booked: "))
    assert "date written yyyymmdd (2024-01-01 to 2024-12-" in note
    assert "drop=['booked']" in note and "--drop booked" in note.cli


@pytest.mark.parametrize(
    "values",
    [
        [20241315 + i % 3 for i in range(60)],  # month 13: not dates
        [20240230 + i % 2 for i in range(60)],  # February 30
        [12345678 + 7 * i for i in range(60)],  # 8 digits, year 1234
    ],
)
def test_eight_digit_numbers_that_are_not_all_dates_get_no_note(tmp_path, values):
    data = load_csv(_file(tmp_path, "code", values), target="label", numeric=["code"])
    assert not any("yyyymmdd" in n for n in data.notes)
