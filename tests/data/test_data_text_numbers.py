"""Quantities written as text (45k, 12 kg, 13:45) that the schema reads as categories: used,
with a note saying their order is lost and how to write them as numbers."""

import numpy as np
import pytest

from chainrule.data import load_csv


def _file(tmp_path, cells):
    rng = np.random.default_rng(0)
    rows = ["amount,x,label"] + [
        f"{cells[int(rng.integers(len(cells)))]},{rng.normal():.3f},{i % 2}" for i in range(600)
    ]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "cells, words",
    [
        ([f"{k}k" for k in range(40, 71)], ["numbers followed by 'k'", "(40k as 40000)"]),
        ([f"{k} kg" for k in range(3, 20)], ["numbers followed by 'kg'", "(10 kg as 10)"]),
        # hours past a day (durations): not times of day (those are hours since midnight)
        ([f"{h}:{m:02d}" for h in range(20, 40) for m in (0, 30)], ["(13:45 as 13.75 hours)"]),
    ],
)
def test_quantities_read_as_categories_get_a_note(tmp_path, cells, words):
    # before: one-hot encoded without a word, 40k and 41k as unrelated as two colours
    data = load_csv(_file(tmp_path, cells), target="label")
    assert "amount" in data.columns
    note = next(n for n in data.notes if n.startswith("amount: values like"))
    assert f"read as {len(cells)} categories (one feature each, their order lost)" in note
    assert all(w in note for w in words)
    assert "drop=['amount']" in note and "--drop amount" in note.cli


@pytest.mark.parametrize(
    "cells",
    [
        ["12A", "14B", "3C", "7D"],  # seat codes: one suffix each
        ["S", "M", "L", "XL"],  # sizes
        ["1k", "2k"],  # two tiers
        ["red", "green", "blue"],
    ],
)
def test_other_categories_get_no_note(tmp_path, cells):
    data = load_csv(_file(tmp_path, cells), target="label")
    assert not any("their order lost" in n for n in data.notes)
