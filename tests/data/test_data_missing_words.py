"""Missing-value words in a column of numbers (``n.a.``, ``missing``, ``nil``, ``.``, ``—``,
``#NV``) are missing cells, as empty cells are, in training and in new rows; in a column of
words they stay categories."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def _write(tmp_path, word, name="f.csv", n=30):
    rows = "".join(f"{word if i % 3 == 0 else i * 1.5},{i * 2},{i % 2}\n" for i in range(n))
    path = tmp_path / name
    path.write_text("a,b,y\n" + rows)
    return path


@pytest.mark.parametrize("word", ["n.a.", "N.A.", "n.a", "missing", "Missing", "nil", ".", "—"])
def test_missing_words_among_numbers_are_missing_cells(tmp_path, word):
    # before: the column was left out as an identifier (or one-hot of every number)
    path = _write(tmp_path, word)
    data = load_csv(path, target="y", impute="mean")
    assert data.feature_names == ["a", "b"]
    assert f"{word!r} (10x) read as missing" in data.schema["a"].reason
    numbers = [i * 1.5 for i in range(30) if i % 3]
    assert data.X[0, 0] == pytest.approx(np.mean(numbers))  # row 0 held the word: the mean
    assert data.X[1, 0] == pytest.approx(1.5)


def test_without_impute_a_missing_word_is_the_missing_value_error(tmp_path):
    with pytest.raises(cr.DataError, match=r"line 2, column 1 \('a'\): missing value; fill"):
        load_csv(_write(tmp_path, "n.a."), target="y")


def test_new_rows_with_a_missing_word_get_the_training_fill(tmp_path):
    data = load_csv(_write(tmp_path, "n.a."), target="y", impute="mean")
    data.preprocessor.fit(data.X)
    new = tmp_path / "new.csv"
    new.write_text("a,b\nmissing,4\n3,4\n")  # a word training never saw, and none of it
    X = data.preprocessor.transform_file(new)
    assert X.shape == (2, 2)
    filled = data.preprocessor.transform_file(tmp_path / "f.csv")[0]  # row 0: n.a.
    assert X[0, 0] == pytest.approx(filled[0])


def test_missing_is_a_category_in_a_column_of_words(tmp_path):
    rows = "".join(f"{['present', 'missing'][i % 2]},{i % 5},{i % 3 % 2}\n" for i in range(30))
    path = tmp_path / "w.csv"
    path.write_text("tooth,b,y\n" + rows)
    data = load_csv(path, target="y")
    assert data.schema["tooth"].role == "boolean" or "tooth=missing" in data.feature_names


def test_words_beside_a_few_numbers_that_are_codes_stay_categories(tmp_path):
    sizes = ["38", "40", "S", "M", "missing"] * 6
    rows = "".join(f"{s},{i % 2}\n" for i, s in enumerate(sizes))
    path = tmp_path / "s.csv"
    path.write_text("size,y\n" + rows)
    data = load_csv(path, target="y")
    assert "size=missing" in data.feature_names


def test_a_missing_word_in_a_numeric_target_is_a_missing_target(tmp_path):
    # before: "'n.a.': the target mixes numbers and text labels", with no way but editing
    rows = "".join(f"{i},{i % 7},{'n.a.' if i % 10 == 0 else i * 1.5}\n" for i in range(30))
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n" + rows)
    with pytest.raises(cr.DataError, match=r"missing target value \(3 of 30 rows have none"):
        load_csv(path, target="y")
    data = load_csv(path, target="y", drop_missing_target=True)
    assert len(data) == 27 and data.task == "regression"


def test_codes_read_from_numbers_take_missing_words_as_in_training(tmp_path):
    # zip codes (read as categories) with n.a.: missing in training, so in new rows too
    # (before this, a new row's 'missing' was an unseen category: all zeros)
    zips = ["01234", "80331", "10115"]
    rows = "".join(f"{'n.a.' if i % 5 == 0 else zips[i % 3]},{i % 7},{i % 2}\n" for i in range(30))
    path = tmp_path / "z.csv"
    path.write_text("zip,b,y\n" + rows)
    data = load_csv(path, target="y", impute="mean")
    assert data.schema["zip"].role == "categorical"
    encoded = data.preprocessor.encode([["missing", "3"], ["n.a.", "3"]])
    zip_block = [k for k, name in enumerate(data.feature_names) if name.startswith("zip=")]
    assert encoded[:, zip_block].sum(axis=1).tolist() == [1.0, 1.0]  # the fill category
    np.testing.assert_array_equal(encoded[0, zip_block], data.X[0, zip_block])  # as row 0


def test_missing_words_in_a_percent_column_are_missing_cells(tmp_path):
    # before: "left out: a (numbers with % that has 6 cells that are not numbers)"
    rows = "".join(
        f"{'n.v.' if i % 7 == 0 else f'{i % 9},5 %'};{i % 5};{i % 2}\n" for i in range(40)
    )
    path = tmp_path / "p.csv"
    path.write_text("a;b;y\n" + rows)
    data = load_csv(path, target="y", impute="mean")
    assert data.feature_names == ["a", "b"]
    assert data.schema["a"].reason == "numbers in % (the sign removed); 'n.v.' (6x) read as missing"
    assert data.X[1, 0] == pytest.approx(1.5)
