"""Preprocessor: standardisation fitted on training rows, raw-row encoding, JSON round trips."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Preprocessor, load_csv

COLUMNS = [
    {"name": "age", "kind": "numeric"},
    {"name": "colour", "kind": "categorical", "categories": ["blue", "red"]},
    {"name": "height", "kind": "numeric"},
]


def _fitted():
    p = Preprocessor(COLUMNS, target_name="ok", task="binary", class_names=["no", "yes"])
    X = p.encode([["20", "red", "1.5"], ["40", "blue", "1.9"], ["30", "red", "1.7"]])
    return p.fit(X), X


def test_encode_and_standardise_against_numpy():
    p, X = _fitted()
    assert p.feature_names == ["age", "colour=blue", "colour=red", "height"]
    assert X.tolist() == [[20, 0, 1, 1.5], [40, 1, 0, 1.9], [30, 0, 1, 1.7]]
    Z = p.transform(X)
    numeric = X[:, [0, 3]]
    expected = (numeric - numeric.mean(axis=0)) / numeric.std(axis=0)
    assert np.allclose(Z[:, [0, 3]], expected)
    assert np.array_equal(Z[:, [1, 2]], X[:, [1, 2]])  # one-hot stays 0/1


def test_raw_rows_and_arrays_give_the_same_result():
    p, X = _fitted()
    raw = [["25", "blue", "1.8"], [35, "red", 1.6]]
    assert np.array_equal(p.transform(raw), p.transform(p.encode(raw)))
    assert np.array_equal(p.transform(np.array(raw, dtype=object)), p.transform(raw))
    assert p.transform(["25", "blue", "1.8"]).shape == (1, 4)  # one raw row


def test_json_round_trip_is_exact():
    p, X = _fitted()
    text = json.dumps(p.to_dict())
    q = Preprocessor.from_dict(json.loads(text))
    assert np.array_equal(q.transform(X), p.transform(X))
    assert q.class_names == ["no", "yes"] and q.task == "binary" and q.target_name == "ok"
    assert q.to_dict() == p.to_dict()
    assert q.decode_labels([1, 0]) == ["yes", "no"]


def test_width_mismatch_message():
    p, _ = _fitted()
    with pytest.raises(cr.DataError, match="expected 4 features, got 3"):
        p.transform(np.zeros((2, 3)))
    with pytest.raises(cr.DataError, match="expected 3 features, got 2"):
        p.transform([["1", "red"]])


def test_unknown_category_and_bad_cells_name_the_row_and_column():
    p, _ = _fitted()
    # an unseen category is all zeros (standardisation leaves one-hot columns alone), counted
    Z = p.transform([["1", "red", "2"], ["1", "green", "2"]])
    assert Z[1, 1:3].tolist() == [0.0, 0.0] and Z[0, 1:3].tolist() == [0.0, 1.0]
    assert p.unseen == {"colour": 1}
    with pytest.raises(cr.DataError, match=r"row 1, column 1 \('age'\): 'old' is not a number"):
        p.transform([["old", "red", "2"]])
    with pytest.raises(cr.DataError, match=r"column 3 \('height'\): missing value"):
        p.transform([["1", "red", ""]])


def test_not_fitted_and_fit_errors():
    p = Preprocessor(COLUMNS)
    with pytest.raises(cr.DataError, match="fit"):
        p.transform(np.zeros((1, 4)))
    with pytest.raises(cr.DataError, match="NaN"):
        p.fit(np.full((2, 4), np.nan))
    with pytest.raises(cr.DataError, match="expected 4 features, got 5"):
        p.fit(np.zeros((2, 5)))
    assert Preprocessor(COLUMNS, standardize=False).transform(np.ones((1, 4))).tolist() == [
        [1, 1, 1, 1]
    ]


def test_plain_arrays_and_constant_features():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    p = Preprocessor().fit(X)
    assert p.feature_names == ["x0", "x1"]
    assert p.transform(X).tolist() == [[-1.0, 0.0], [1.0, 0.0]]  # constant: centred, not /0


@pytest.mark.parametrize(
    "state",
    [
        None,
        {},
        {"format": "other"},
        {"format": "chainrule.preprocessor", "version": 99},
        {"format": "chainrule.preprocessor", "version": 1},
        {"format": "chainrule.preprocessor", "version": 1, "columns": [{"name": "a"}]},
        {
            "format": "chainrule.preprocessor",
            "version": 1,
            "standardize": True,
            "columns": [{"name": "a", "kind": "numeric"}],
            "mean": [0.0, 1.0],
            "std": [1.0, 1.0],
        },
        {
            "format": "chainrule.preprocessor",
            "version": 1,
            "standardize": True,
            "columns": [{"name": "a", "kind": "numeric"}],
            "mean": [0.0],
            "std": [float("nan")],
        },
        {
            "format": "chainrule.preprocessor",
            "version": 1,
            "standardize": True,
            "columns": [{"name": "c", "kind": "categorical", "categories": ["x", "x"]}],
        },
        {
            "format": "chainrule.preprocessor",
            "version": 1,
            "standardize": True,
            "columns": [{"name": "a", "kind": "numeric"}],
            "task": "poetry",
        },
        {
            "format": "chainrule.preprocessor",
            "version": 1,
            "standardize": True,
            "columns": [{"name": "a", "kind": "numeric", "fill": "x"}],
        },
        {
            "format": "chainrule.preprocessor",
            "version": 1,
            "standardize": True,
            "columns": [{"name": "a", "kind": "__import__('os')"}],
        },
    ],
)
def test_from_dict_rejects_malformed_descriptions(state):
    with pytest.raises(cr.DataError, match="Preprocessor"):
        Preprocessor.from_dict(state)


def test_transform_file_picks_columns_by_name(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("age,colour,label\n20,red,yes\n40,blue,no\n30,red,yes\n")
    data = load_csv(train, target="label")
    p = data.preprocessor.fit(data.X)
    new = tmp_path / "new.csv"
    new.write_text("id,colour,age\n7,blue,25\n8,red,35\n")  # other order, extra column, no label
    expected = p.transform([["25", "blue"], ["35", "red"]])
    assert np.array_equal(p.transform_file(new), expected)
    headerless = tmp_path / "nohead.csv"
    headerless.write_text("25,blue\n")
    assert np.array_equal(p.transform_file(headerless), expected[:1])


def test_transform_picks_a_dataframes_columns_by_name(tmp_path):
    # before: a DataFrame was read by position (reordered numeric columns silently swapped)
    # and one holding text was iterated as its column names ("expected 2 features, got 3")
    pd = pytest.importorskip("pandas")
    train = tmp_path / "train.csv"
    train.write_text("age,height,colour,label\n20,1.6,red,yes\n40,1.8,blue,no\n30,1.7,red,yes\n")
    data = load_csv(train, target="label")
    p = data.preprocessor.fit(data.X)
    expected = p.transform([["25", "1.75", "blue"], ["35", "1.65", "red"]])
    frame = pd.DataFrame({"id": [7, 8], "colour": ["blue", "red"], "height": [1.75, 1.65]})
    frame["age"] = [25, 35]
    assert np.array_equal(p.transform(frame), expected)
    encoded = pd.DataFrame(p.encode([["25", "1.75", "blue"], ["35", "1.65", "red"]]))
    encoded.columns = p.feature_names
    assert np.array_equal(p.transform(encoded[p.feature_names[::-1]]), expected)
    numbers = load_csv(_write_numbers(tmp_path), target="label").preprocessor
    numbers.fit(np.array([[1.0, 10.0], [3.0, 30.0]]))
    swapped = pd.DataFrame({"b": [30.0], "a": [1.0]})
    assert np.array_equal(numbers.transform(swapped), numbers.transform([[1.0, 30.0]]))
    with pytest.raises(cr.DataError, match=r"the DataFrame has no column\(s\) \['height'\]"):
        p.transform(frame.drop(columns="height"))
    unnamed = pd.DataFrame([[25, 1.75, "blue"], [35, 1.65, "red"]])  # columns 0, 1, 2
    assert np.array_equal(p.transform(unnamed), expected)  # no names: read by place


def _write_numbers(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("a,b,label\n1,10,x\n2,20,y\n3,30,x\n4,40,y\n")
    return path


def test_transform_file_errors_name_the_file(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("age,colour,label\n20,red,yes\n40,blue,no\n")
    data = load_csv(train, target="label")
    p = data.preprocessor.fit(data.X)
    missing = tmp_path / "nocolour.csv"
    missing.write_text("age\n25\n")
    with pytest.raises(cr.DataError, match=r"nocolour.csv: line 1: column\(s\) \['colour'\]"):
        p.transform_file(missing)
    bad = tmp_path / "badrow.csv"
    bad.write_text("colour,age\nblue,25\nblue,old\n")
    with pytest.raises(cr.DataError, match=r"badrow.csv: line 3, column 2 \('age'\): 'old'"):
        p.transform_file(bad)
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2,3\n")
    with pytest.raises(cr.DataError, match="wide.csv: expected 2 features, got 3"):
        p.transform_file(wide)


def test_feature_names_shorthand():
    p = Preprocessor(feature_names=["a", "b"]).fit(np.array([[0.0, 1.0], [2.0, 3.0]]))
    assert p.column_names == ["a", "b"] and p.n_features == 2
    assert Preprocessor.from_dict(p.to_dict()).column_names == ["a", "b"]
    with pytest.raises(cr.DataError, match="not both"):
        Preprocessor(COLUMNS, feature_names=["a"])


def test_odd_inputs_are_rejected_clearly():
    p, _ = _fitted()
    with pytest.raises(cr.DataError, match="row 2: expected 3 features, got 2"):
        p.transform([["1", "red", "2"], ["1", "red"]])
    with pytest.raises(cr.DataError, match="complex"):
        p.transform(np.ones((1, 4), dtype=complex))
    with pytest.raises(cr.DataError, match="shape"):
        p.transform(np.array([[["1"]]]))


def test_transform_file_before_fit_is_a_clear_error(tmp_path):
    # before: TypeError: 'NoneType' object is not subscriptable
    path = tmp_path / "f.csv"
    path.write_text("a,b,y\n" + "".join(f"{i * 1.5},{i % 3},{i % 2}\n" for i in range(20)))
    data = cr.data.load_csv(path, target="y")
    with pytest.raises(cr.DataError, match=r"transform_file: not fitted; call fit\(X_train\)"):
        data.preprocessor.transform_file(path)
