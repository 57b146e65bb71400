"""load_csv on good files: header detection, categories, labels, quoting, CRLF, BOM, impute."""

import csv
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Preprocessor, load_csv, read_table


def _write(tmp_path, name, text, encoding="utf-8", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def test_numeric_file_matches_numpy(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = rng.integers(0, 3, 50)
    body = "\n".join(",".join(repr(float(v)) for v in row) + f",{c}" for row, c in zip(X, y))
    path = _write(tmp_path, "num.csv", "w,x,y,z,class\n" + body + "\n")
    data = load_csv(path, target="class")
    # float32 columns (what the network computes in): the round trip is exact to float32
    assert data.X.dtype == np.float32 and np.array_equal(data.X, X.astype(np.float32))
    assert data.y.dtype == np.int64 and np.array_equal(data.y, y)
    assert data.task == "multiclass" and data.class_names == ["0", "1", "2"]
    assert data.feature_names == ["w", "x", "y", "z"] and data.target_name == "class"
    assert data.lines.tolist() == list(range(2, 52))


def test_round_trip_through_python_csv_writer(tmp_path):
    """Quoted commas, quotes, CRLF, BOM, categorical features and string labels together."""
    rows = [
        ["1.5", "red", 'say "hi", then go', "cat"],
        ["-2", "blue", "plain", "dog"],
        ["3e2", "red", "a,b,c", "cat"],
        ["0.25", "green", "x", "bird"],
    ]
    path = tmp_path / "mixed.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(["size", "colour", "note", "animal"])
        writer.writerows(rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfsize,")
    data = load_csv(path, target="animal", features=["size", "colour"])
    assert data.class_names == ["bird", "cat", "dog"] and data.task == "multiclass"
    assert data.y.tolist() == [1, 2, 1, 0]
    assert data.feature_names == ["size", "colour=blue", "colour=green", "colour=red"]
    assert data.X.tolist() == [
        [1.5, 0, 0, 1],
        [-2.0, 1, 0, 0],
        [300.0, 0, 0, 1],
        [0.25, 0, 1, 0],
    ]
    notes = load_csv(path, target="animal", features=["note"]).preprocessor.columns[0]
    assert notes["categories"] == sorted(['say "hi", then go', "plain", "a,b,c", "x"])


def test_headerless_file_gets_column_names(tmp_path):
    path = _write(tmp_path, "nohead.csv", "1,2,0\n3,4,1\n5,6,0\n")
    data = load_csv(path, target="col2")
    assert data.columns == ["col0", "col1"] and data.target_name == "col2"
    assert data.X.shape == (3, 2) and data.task == "binary"
    assert load_csv(path, target="col0").target_name == "col0"


def test_header_override(tmp_path):
    path = _write(tmp_path, "allcat.csv", "red,small,yes\nblue,big,no\nred,big,no\n")
    assert read_table(path).has_header  # all text: read as a header by default
    data = load_csv(path, header=False, target="col2")
    assert len(data) == 3 and data.class_names == ["no", "yes"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, delimiter):
    text = delimiter.join(["a", "b", "label"]) + "\n"
    text += "\n".join(delimiter.join([f"{i}.5", str(i), str(i % 2)]) for i in range(4)) + "\n"
    data = load_csv(_write(tmp_path, "d.csv", text), target="label")
    assert data.X[:, 0].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_labels_binary_strings_and_integers(tmp_path):
    data = load_csv(_write(tmp_path, "b.csv", "x,ok\n1,yes\n2,no\n3,yes\n"), target="ok")
    assert data.task == "binary" and data.class_names == ["no", "yes"]
    assert data.y.tolist() == [1, 0, 1]
    # 3 integer values in 4 rows is too few rows per class for the automatic rule
    path = _write(tmp_path, "i.csv", "x,digit\n1,7\n2,3\n3,7\n4,9\n")
    assert load_csv(path, target=-1).task == "regression"
    data = load_csv(path, target=-1, task="classification")
    assert data.class_names == ["3", "7", "9"] and data.y.tolist() == [1, 0, 1, 2]
    data = load_csv(_write(tmp_path, "f.csv", "x,digit\n1,1.0\n2,0.0\n"), target=-1)
    assert data.class_names == ["0.0", "1.0"] and data.y.dtype == np.int64  # as written


def test_regression_targets(tmp_path):
    data = load_csv(_write(tmp_path, "r.csv", "x,price\n1,1.5\n2,2.25\n3,0.1\n"), target=-1)
    assert data.task == "regression" and data.class_names is None
    assert data.y.dtype == np.float64 and data.y.tolist() == [1.5, 2.25, 0.1]
    many = "x,count\n" + "".join(f"{i / 2},{i * 3}\n" for i in range(150))
    assert load_csv(_write(tmp_path, "many.csv", many), target="count").task == "regression"
    forced = load_csv(
        _write(tmp_path, "forced.csv", "x,y\n1,1\n2,0\n"), target="y", task="regression"
    )
    assert forced.task == "regression" and forced.y.dtype == np.float64


def test_target_and_features_by_position(tmp_path):
    path = _write(tmp_path, "pos.csv", "label,a,b\n0,1,2\n1,3,4\n")
    data = load_csv(path, target=0, features=[2])
    assert data.target_name == "label" and data.columns == ["b"]


def test_whitespace_and_blank_lines(tmp_path):
    path = _write(tmp_path, "ws.csv", " a , b ,label\n\n 1 , red ,x\n\n2,blue , y \n\n")
    data = load_csv(path, target="label")
    assert data.columns == ["a", "b"] and data.class_names == ["x", "y"]
    assert data.X.tolist() == [[1, 0, 1], [2, 1, 0]]


def test_impute_mean_fills_and_remembers(tmp_path):
    text = "a,colour,label\n1,red,0\n,blue,1\n3,,0\n5,red,1\n"
    with pytest.raises(cr.DataError):
        load_csv(_write(tmp_path, "m.csv", text), target="label")
    data = load_csv(_write(tmp_path, "m.csv", text), target="label", impute="mean")
    assert data.X[:, 0].tolist() == [1, 3, 3, 5]  # the mean of 1, 3, 5
    assert data.X[2].tolist() == [3, 0, 1]  # most frequent colour: red
    cols = data.preprocessor.columns
    assert cols[0]["fill"] == 3.0 and cols[1]["fill"] == "red"
    # the fill values travel with the preprocessor
    p = Preprocessor.from_dict(json.loads(json.dumps(data.preprocessor.fit(data.X).to_dict())))
    assert np.array_equal(p.encode([["", "NA"]]), [[3.0, 0.0, 1.0]])


def test_split_fits_on_training_rows_only(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(5.0, 2.0, size=(40, 2))
    y = np.array([0, 1] * 20)
    body = "".join(f"{float(a)!r},{float(b)!r},{c}\n" for (a, b), c in zip(X, y))
    data = load_csv(_write(tmp_path, "s.csv", "a,b,label\n" + body), target="label")
    X_train, X_test, y_train, y_test = data.split(test_size=0.25, seed=0)
    assert len(X_test) == 10 and np.bincount(y_test).tolist() == [5, 5]
    assert np.allclose(X_train.mean(axis=0), 0.0) and np.allclose(X_train.std(axis=0), 1.0)
    assert not np.allclose(X_test.mean(axis=0), 0.0)
    raw_train = cr.data.train_test_split(data.X, data.y, test_size=0.25, stratify=data.y)[0]
    assert np.allclose(data.preprocessor.mean, raw_train.mean(axis=0))
    assert np.allclose(data.preprocessor.std, raw_train.std(axis=0))


def test_no_target_loads_features_only(tmp_path):
    data = load_csv(_write(tmp_path, "rows.csv", "a,colour\n1,red\n"))
    assert data.y is None and data.task is None and data.target_name is None
    assert data.X.tolist() == [[1.0, 1.0]] and data.feature_names == ["a", "colour=red"]
    with pytest.raises(cr.DataError, match="no target"):
        data.split()


def _trained(tmp_path):
    train = _write(tmp_path, "train.csv", "age,colour,label\n20,red,yes\n40,blue,no\n30,red,yes\n")
    data = load_csv(train, target="label")
    data.preprocessor.fit(data.X)
    # what a model file keeps, read back
    return Preprocessor.from_dict(json.loads(json.dumps(data.preprocessor.to_dict()))), data


def test_new_rows_read_with_the_training_preprocessor(tmp_path):
    pre, train = _trained(tmp_path)
    # other column order, an extra column, one row, one class: all fine for prediction
    new = _write(tmp_path, "new.csv", "label,id,colour,age\nyes,7,blue,25\n")
    data = load_csv(new, target="label", preprocessor=pre)
    assert data.X.tolist() == [[25.0, 1.0, 0.0]]  # the training categories: blue, red
    assert data.y.tolist() == [1] and data.class_names == ["no", "yes"]
    assert data.task == "binary" and data.preprocessor is pre
    assert pre.transform(data.X).shape == (1, 3)
    unlabeled = load_csv(_write(tmp_path, "u.csv", "colour,age\nred,1\n"), preprocessor=pre)
    assert unlabeled.y is None and unlabeled.X.tolist() == [[1.0, 0.0, 1.0]]
    headerless = load_csv(_write(tmp_path, "h.csv", "25,blue,no\n"), target=2, preprocessor=pre)
    assert headerless.X.tolist() == [[25.0, 1.0, 0.0]] and headerless.y.tolist() == [0]


def test_new_rows_with_a_header_of_other_names_are_named_in_the_error(tmp_path):
    # before: a header naming no model column was read as a row of data, and the error was
    # "line 1, column 1 ('age'): 'years' is not a number", hiding the renamed header
    pre, _ = _trained(tmp_path)
    renamed = _write(tmp_path, "r.csv", "years,shade\n25,blue\n")
    with pytest.raises(cr.DataError, match=r"the first line \('years', 'shade'\) names none of "):
        load_csv(renamed, preprocessor=pre)
    # a headerless file starting with a missing number is still read as rows
    with pytest.raises(cr.DataError, match=r"line 1, column 1 \('age'\): missing value"):
        load_csv(_write(tmp_path, "w.csv", "NA,blue\n25,red\n"), preprocessor=pre)


@pytest.mark.parametrize(
    "text, kwargs, match",
    [
        (
            "age,colour,label\n25,red,maybe\n",
            {"target": "label"},
            r"line 2, column 3 .*'maybe' was not seen",
        ),
        ("age,label\n25,yes\n", {"target": "label"}, r"no column\(s\) \['colour'\]"),
        ("age,colour\n25,red\n", {"features": ["colour"]}, "differ from the model's columns"),
        ("age,colour,label\n,red,yes\n", {"target": "label"}, r"line 2, column 1 .*missing value"),
    ],
)
def test_new_rows_errors(tmp_path, text, kwargs, match):
    pre, _ = _trained(tmp_path)
    with pytest.raises(cr.DataError, match="new_bad.csv: .*" + match):
        load_csv(_write(tmp_path, "new_bad.csv", text), preprocessor=pre, **kwargs)


def test_unseen_category_of_new_rows_is_all_zeros_and_counted(tmp_path):
    pre, _ = _trained(tmp_path)
    new = _write(tmp_path, "green.csv", "age,colour,label\n25,green,yes\n26,red,no\n")
    data = load_csv(new, target="label", preprocessor=pre)
    assert data.X.tolist() == [[25.0, 0.0, 0.0], [26.0, 0.0, 1.0]]
    assert pre.unseen == {"colour": 1}
    assert any("colour: 1 row(s)" in note and "not seen" in note for note in data.notes)


def test_integer_labels_of_new_rows_match_training_classes(tmp_path):
    train = _write(tmp_path, "t.csv", "x,digit\n1,3\n2,7\n3,3\n")
    pre = load_csv(train, target="digit").preprocessor
    data = load_csv(
        _write(tmp_path, "n.csv", "x,digit\n5,7.0\n6,3\n"), target="digit", preprocessor=pre
    )
    assert data.y.tolist() == [1, 0]
