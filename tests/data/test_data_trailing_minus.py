"""The trailing minus of SAP's and other ledgers' exports (``55.58-`` for -55.58): read as a
negative number, like the accounting ``(55.58)``, in training and in new rows."""

import numpy as np

from chainrule.data import load_csv


def _file(tmp_path, name="sap.csv", n=60, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["amount,x,label"]
    amounts = []
    for i in range(n):
        z, x = rng.normal(size=2) * 100
        amounts.append(round(z, 2))
        lines.append(f"{abs(z):.2f}{'-' if z < 0 else ''},{x:.3f},{'ab'[i % 2]}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path, np.array(amounts)


def test_trailing_minus_cells_are_negative_numbers_with_a_note(tmp_path):
    # before: left out as 'mixed' ("numbers with 29 text cell(s) ('55.58-' ...); write those
    # cells empty (missing) to use the column"): wrong advice for negative amounts
    path, amounts = _file(tmp_path)
    data = load_csv(path, target="label")
    assert data.columns == ["amount", "x"]
    np.testing.assert_allclose(data.X[:, 0], amounts, rtol=1e-6)
    negatives = int((amounts < 0).sum())
    assert f"amount: {negatives} cell(s) written as accounting negatives, (0.50) or 0.50-" in (
        " ".join(data.notes)
    )


def test_new_rows_read_them_the_same_way(tmp_path):
    path, _ = _file(tmp_path)
    data = load_csv(path, target="label")
    data.preprocessor.fit(data.X)
    new, amounts = _file(tmp_path, "new.csv", n=10, seed=1)
    X = load_csv(new, target="label", preprocessor=data.preprocessor).X
    np.testing.assert_allclose(X[:, 0], amounts, rtol=1e-6)


def test_a_regression_target_with_trailing_minus(tmp_path):
    rng = np.random.default_rng(2)
    z = np.round(rng.normal(size=40) * 50, 2)
    lines = ["x,balance"] + [f"{i % 9},{abs(v):.2f}{'-' if v < 0 else ''}" for i, v in enumerate(z)]
    path = tmp_path / "target.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_csv(path, target="balance")
    assert data.task == "regression"
    np.testing.assert_allclose(data.y, z)


def test_ranges_and_words_stay_text(tmp_path):
    path = tmp_path / "ranges.csv"
    sizes = ["10-20", "5", "7", "8", "9-", "x-"] * 8
    path.write_text("size,label\n" + "".join(f"{s},{'ab'[i % 2]}\n" for i, s in enumerate(sizes)))
    data = load_csv(path, target="label")
    assert "size=10-20" in data.feature_names  # codes, not numbers
