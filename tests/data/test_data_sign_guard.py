"""'-5.2: web apps guard cells that start with a sign against spreadsheet formulas with a
leading apostrophe. Such cells were text, so a column of numbers with negatives became an
'identifier' (left out) and features=[...] read it as one category per number."""

import numpy as np

from chainrule.data import load_csv


def _guarded(v: float) -> str:
    return f"'{v:.3f}" if v < 0 else f"{v:.3f}"


def test_guarded_negative_numbers_are_numbers(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 80), rng.normal(0, 1, 80)
    label = np.where(a + b > 0, "yes", "no")
    rows = "".join(f"{_guarded(x)},{_guarded(y)},{c}\n" for x, y, c in zip(a, b, label))
    (tmp_path / "d.csv").write_text("a,b,label\n" + rows)
    data = load_csv(tmp_path / "d.csv", target="label")
    assert data.feature_names == ["a", "b"]
    np.testing.assert_allclose(data.X[:, 0], np.round(a, 3), atol=1e-6)
    (tmp_path / "new.csv").write_text("a,b\n'-1.5,'+2\n")
    new = load_csv(tmp_path / "new.csv", preprocessor=data.preprocessor)
    assert new.X.tolist() == [[-1.5, 2.0]]


def test_an_apostrophe_before_digits_stays_text(tmp_path):
    # '007: a code kept as text, not the number 7
    rows = "".join(f"'00{i % 7},{i},{'ny'[i % 2]}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("code,x,label\n" + rows)
    data = load_csv(tmp_path / "d.csv", target="label")
    assert data.schema["code"].role == "categorical"
