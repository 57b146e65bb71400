"""A regression target with one value in every row is an error, as one class is.

Trained, it made a model of r2 0 that predicts that value for every row, saved without a
word (the wrong column chosen, a sheet whose target column was pasted as one value)."""

import pytest

from chainrule.data import load_csv
from chainrule.errors import DataError


def _write(path, values):
    rows = "".join(f"{i * 0.5},{(i * 7) % 5},{v}\n" for i, v in enumerate(values))
    path.write_text("a,b,y\n" + rows)
    return path


@pytest.mark.parametrize("task", [None, "regression"])
def test_a_constant_regression_target_is_refused(tmp_path, task):
    path = _write(tmp_path / "d.csv", ["3.5"] * 40)
    with pytest.raises(
        DataError, match=r"column 3 \('y'\): the target holds one value \('3.5'\)"
    ) as e:
        load_csv(path, target="y", task=task)
    assert "target='COLUMN'" in str(e.value) and "--target COLUMN" in e.value.cli_message


def test_a_target_with_two_values_still_trains(tmp_path):
    data = load_csv(_write(tmp_path / "d.csv", ["3.5"] * 39 + ["3.75"]), target="y")
    assert data.task == "regression" and sorted(set(data.y)) == [3.5, 3.75]


def test_new_rows_may_share_one_target_value(tmp_path):
    data = load_csv(_write(tmp_path / "d.csv", [f"{i / 4}" for i in range(40)]), target="y")
    new = load_csv(
        _write(tmp_path / "n.csv", ["2.5"] * 5), target="y", preprocessor=data.preprocessor
    )
    assert new.y.tolist() == [2.5] * 5
