"""Yes/no answers written as words and as 1/0 in one column (yes, no, TRUE, FALSE, 1, 0):
one boolean feature, as the same answers written only as words are."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_csv


def _file(tmp_path, flags, name="flags.csv"):
    rng = np.random.default_rng(0)
    lines = ["flag,x,label"]
    for i, flag in enumerate(flags):
        lines.append(f"{flag},{rng.normal():.3f},{'ab'[i % 2]}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_words_and_digits_make_one_boolean(tmp_path):
    # before: six one-hot features flag=0, flag=1, flag=FALSE, flag=TRUE, flag=no, flag=yes
    words = ["yes", "no", "TRUE", "FALSE", "1", "0"]
    data = load_csv(_file(tmp_path, [words[i % 6] for i in range(60)]), target="label")
    assert data.feature_names == ["flag", "x"]
    assert data.preprocessor.columns[0]["kind"] == "boolean"
    np.testing.assert_array_equal(data.X[:6, 0], [1, 0, 1, 0, 1, 0])


def test_mostly_digits_with_a_word_is_a_boolean_not_a_typo(tmp_path):
    # before: "line 9, column 1 ('flag'): 'yes' is not a number"
    flags = ["0", "1", "1", "0"] * 15
    flags[7] = "yes"
    data = load_csv(_file(tmp_path, flags), target="label")
    assert data.preprocessor.columns[0]["kind"] == "boolean"
    assert data.X[7, 0] == 1.0 and set(np.unique(data.X[:, 0])) == {0.0, 1.0}


def test_new_rows_read_any_of_the_spellings(tmp_path):
    words = ["yes", "no", "1", "0"]
    data = load_csv(_file(tmp_path, [words[i % 4] for i in range(40)]), target="label")
    data.preprocessor.fit(data.X)
    new = _file(tmp_path, ["Y", "N", "true", "False", "1", "0"], "new.csv")
    X = load_csv(new, target="label", preprocessor=data.preprocessor).X
    np.testing.assert_array_equal(X[:, 0], [1, 0, 1, 0, 1, 0])


@pytest.mark.parametrize("other", ["2", "maybe", "0.5"])
def test_other_values_keep_the_old_rules(tmp_path, other):
    flags = ["yes", "no", "1", "0"] * 15
    flags[9] = other
    try:
        data = load_csv(_file(tmp_path, flags), target="label")
    except cr.DataError:
        return  # a stray number among words: the usual error
    assert data.preprocessor.columns[0]["kind"] != "boolean"


def test_a_target_of_yes_no_words_and_1_0_is_an_error_saying_so(tmp_path):
    # before: "target 'no' mixes numbers and text labels", as if the value were the target
    path = tmp_path / "target.csv"
    labels = ["1", "0"] * 20
    labels[3], labels[10] = "no", "yes"
    path.write_text("x,label\n" + "".join(f"{i % 7},{label}\n" for i, label in enumerate(labels)))
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="label")
    message = str(err.value)
    assert "line 5, column 2 ('label'): 'no': the target mixes numbers and text labels" in message
    assert "2 of 40 rows hold text among numbers: lines 5, 12" in message
    assert "yes/no answers written both as words and as 1/0" in message
