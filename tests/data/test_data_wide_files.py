"""A wide file (500 columns, 50 rows): read, with a note that the features outnumber the
rows, since a network then fits the training rows by heart."""

import numpy as np

from chainrule.data import load_csv


def _wide(tmp_path, columns, rows):
    rng = np.random.default_rng(0)
    header = ",".join(f"v{j}" for j in range(columns)) + ",label"
    body = "".join(
        ",".join(f"{v:.3f}" for v in rng.normal(size=columns)) + f",{'ab'[i % 2]}\n"
        for i in range(rows)
    )
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + body)
    return path


def test_more_features_than_rows_gets_a_note(tmp_path):
    # before: trained with no word about it
    data = load_csv(_wide(tmp_path, 499, 50), target="label")
    assert data.X.shape == (50, 499)
    assert any(
        n.startswith("499 features from 50 rows: more features than rows") for n in data.notes
    )


def test_fewer_features_than_rows_gets_none(tmp_path):
    data = load_csv(_wide(tmp_path, 10, 50), target="label")
    assert not any("more features than rows" in n for n in data.notes)
