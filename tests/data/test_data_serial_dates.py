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
