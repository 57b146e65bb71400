"""A feature that is the target written another way gets a note naming it and drop=[...].

``label_num`` (1/0) beside ``label`` (yes/no) trained to 100 % on training and validation
rows without a word, learning nothing from the other columns."""

import numpy as np

from chainrule.data import load_csv


def _rows(n=100, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n)
    return a, np.where(a + rng.normal(0, 1, n) > 0, "yes", "no")


def test_a_copy_of_class_labels_is_named(tmp_path):
    a, label = _rows()
    rows = "".join(
        f"{x:.3f},{int(c == 'yes')},{'ok' if c == 'yes' else 'bad'},{c}\n" for x, c in zip(a, label)
    )
    (tmp_path / "d.csv").write_text("a,label_num,status,label\n" + rows)
    data = load_csv(tmp_path / "d.csv", target="label")
    note = next(n for n in data.notes if n.startswith("label_num, status: has one value per class"))
    assert "drop=['label_num', 'status']" in note and "--drop label_num,status" in note.cli
    assert data.feature_names[0] == "a"  # still used: it may be a real, perfect predictor


def test_a_scaled_copy_of_a_regression_target_is_named(tmp_path):
    a, _ = _rows()
    y = 3 * a + 1
    rows = "".join(f"{x:.3f},{v * 100:.0f},{v:.2f}\n" for x, v in zip(a, y))
    (tmp_path / "d.csv").write_text("a,y_cents,y\n" + rows)
    notes = load_csv(tmp_path / "d.csv", target="y").notes
    assert any(n.startswith("y_cents: equals the target 'y' up to a scale") for n in notes)


def test_features_that_only_predict_well_get_no_note(tmp_path):
    a, label = _rows()
    flag = np.where(a > 0, 1, 0)  # agrees with the label on most rows, not all
    rows = "".join(f"{x:.3f},{f},{c}\n" for x, f, c in zip(a, flag, label))
    (tmp_path / "d.csv").write_text("a,flag,label\n" + rows)
    assert not any(
        "copy of the target" in n for n in load_csv(tmp_path / "d.csv", target="label").notes
    )


def test_a_small_file_says_nothing(tmp_path):
    rows = "".join(f"{i},{i % 2},{'ny'[i % 2]}\n" for i in range(10))
    (tmp_path / "d.csv").write_text("a,f,label\n" + rows)
    assert not any(
        "copy of the target" in n for n in load_csv(tmp_path / "d.csv", target="label").notes
    )
