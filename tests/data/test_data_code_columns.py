"""Whole numbers named like ids or codes (store_id, region_code, category) are categories.

Read as amounts, store 6 was 'three times store 2': the model trained without a word and
scored worse than the same file with the codes spelled as words."""

import numpy as np
import pytest

from chainrule.data import Preprocessor, load_csv
from chainrule.data.code_columns import named_like_code


def _write(path, name, n=120, codes=7, seed=0):
    rng = np.random.default_rng(seed)
    store = rng.integers(1, codes + 1, n)
    b = rng.normal(0, 1, n)
    label = np.where(np.isin(store, [2, 5, 6]), "yes", "no")
    rows = "".join(f"{s},{v:.3f},{c}\n" for s, v, c in zip(store, b, label))
    path.write_text(f"{name},b,label\n" + rows)
    return path


@pytest.mark.parametrize("name", ["store_id", "StoreID", "region_code", "category", "StoreType"])
def test_whole_numbers_named_like_codes_are_categories_with_a_note(tmp_path, name):
    data = load_csv(_write(tmp_path / "d.csv", name), target="label")
    assert data.schema[name].role == "categorical"
    assert [f for f in data.feature_names if f.startswith(name)] == [
        f"{name}={k}" for k in range(1, 8)
    ]
    note = next(n for n in data.notes if n.startswith(f"{name}: whole numbers named like"))
    assert f"numeric=['{name}']" in note
    assert f"--numeric {name}" in note.cli


def test_numeric_option_reads_the_codes_as_amounts(tmp_path):
    data = load_csv(_write(tmp_path / "d.csv", "store_id"), target="label", numeric=["store_id"])
    assert data.schema["store_id"].role == "numeric"
    assert data.feature_names == ["store_id", "b"]


@pytest.mark.parametrize("name", ["store", "grade", "n_types", "rooms", "Pclass"])
def test_other_whole_numbers_stay_amounts(tmp_path, name):
    data = load_csv(_write(tmp_path / "d.csv", name), target="label")
    assert data.schema[name].role == "numeric"
    assert not any("named like ids or codes" in n for n in data.notes)


def test_an_id_with_many_repeated_values_is_left_out(tmp_path):
    # customer_id in a file of purchases: 90 customers over 120 rows, neither unique nor codes
    n = 120
    ids = np.r_[np.arange(1000, 1090), np.arange(1000, 1030)]
    b = np.linspace(-1, 1, n)
    label = np.where(b > 0, "yes", "no")
    rows = "".join(f"{i},{v:.3f},{c}\n" for i, v, c in zip(ids, b, label))
    (tmp_path / "d.csv").write_text("customer_id,b,label\n" + rows)
    data = load_csv(tmp_path / "d.csv", target="label")
    assert data.schema["customer_id"].role == "identifier"
    assert data.feature_names == ["b"]


def test_new_rows_match_the_codes_by_value(tmp_path):
    data = load_csv(_write(tmp_path / "d.csv", "store_id"), target="label")
    pre = data.preprocessor.fit(data.X)
    again = Preprocessor.from_dict(pre.to_dict())
    (tmp_path / "new.csv").write_text("b,store_id\n0.5,2\n0.5,5.0\n")
    X = again.transform_file(tmp_path / "new.csv")
    names = again.feature_names
    assert X[0, names.index("store_id=2")] > X[0, names.index("store_id=3")]
    assert X[1, names.index("store_id=5")] > X[1, names.index("store_id=3")]


def test_named_like_code():
    assert named_like_code("blood_type") and named_like_code("customer_group")
    assert not named_like_code("subtype") and not named_like_code("num_groups")


def test_an_unseen_code_is_named_in_the_note(tmp_path):
    data = load_csv(_write(tmp_path / "d.csv", "store_id"), target="label")
    (tmp_path / "new.csv").write_text("store_id,b\n9,0.5\n2,0.1\n")
    new = load_csv(tmp_path / "new.csv", preprocessor=data.preprocessor)
    assert "store_id: 1 row(s) hold a category not seen in training ('9')" in " ".join(new.notes)
