"""Schema inference, locales and encodings, targets, and numbers at the edges of float32."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Preprocessor, load_csv
from chainrule.data.preprocessing import stable_moments
from chainrule.data.reader import read_columns
from chainrule.data.schema import infer_schema, named_like_id


def _write(tmp_path, name, text, encoding="utf-8", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def _mixed(tmp_path, n=60):
    rng = np.random.default_rng(0)
    lines = ["PassengerId,Name,Sex,Age,Joined,Const,Member,Comment,Label"]
    for i in range(n):
        sex = ["male", "female"][i % 2]
        comment = f"the service was fine but the delivery took {i} days, said person {i}"
        lines.append(
            f'{i + 1},"Person {i}, Mr. X",{sex},{rng.integers(1, 80)},2024-01-{1 + i % 28:02d},'
            f'7,{"yes" if i % 3 else "no"},"{comment}",{["a", "b", "c"][i % 3]}'
        )
    return _write(tmp_path, "mixed.csv", "\n".join(lines) + "\n")


def test_roles_are_inferred_and_left_out_columns_named(tmp_path):
    path = _mixed(tmp_path)
    data = load_csv(path, target="Label")
    roles = {c.name: c.role for c in data.schema.columns}
    assert roles == {
        "PassengerId": "identifier",
        "Name": "identifier",
        "Sex": "categorical",
        "Age": "numeric",
        "Joined": "date",
        "Const": "constant",
        "Member": "boolean",
        "Comment": "text",
        "Label": "categorical",
    }
    assert data.columns == ["Sex", "Age", "Member"]
    assert data.feature_names == ["Sex=female", "Sex=male", "Age", "Member"]
    note = next(n for n in data.notes if n.startswith("left out"))
    assert "PassengerId (identifier)" in note and "Comment (free text)" in note
    assert "features=[" in note and "--features Sex,Age,Member,PassengerId" in note.cli
    counts = data.schema["Age"]
    assert counts.missing == 0 and counts.distinct == len(np.unique(data.X[:, 2]))


def test_overrides_features_drop_categorical_numeric(tmp_path):
    path = _mixed(tmp_path)
    data = load_csv(path, target="Label", features=["PassengerId", "Age", "Joined"])
    assert data.columns == ["PassengerId", "Age", "Joined"]
    assert data.preprocessor.columns[2]["kind"] == "date"
    days = data.X[:, 2]
    assert days[0] == np.datetime64("2024-01-01").astype(np.int64)  # days since 1970
    data = load_csv(path, target="Label", drop=["Sex"], categorical=["Age"])
    assert data.columns == ["Age", "Member"]
    assert data.preprocessor.columns[0]["kind"] == "categorical"
    with pytest.raises(cr.DataError, match="'Comment'.*not numbers"):
        load_csv(path, target="Label", numeric=["Comment"])
    with pytest.raises(cr.DataError, match="no column named 'nope' \\(drop\\)"):
        load_csv(path, target="Label", drop=["nope"])
    # a column both chosen and dropped was left out without a word
    with pytest.raises(cr.DataError, match=r"\['Age'\] are listed both as features and to drop"):
        load_csv(path, target="Label", features=["Age", "Sex"], drop=["Age", "Member"])


def test_names_like_ids():
    for name in ("id", "ID", "PassengerId", "user_id", "order-uuid", "row"):
        assert named_like_id(name), name
    for name in ("paid", "valid", "idea", "width", "Liquid", "age"):
        assert not named_like_id(name), name


@pytest.mark.parametrize(
    "encoding, newline",
    [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("utf-16", "\n"), ("utf-16", "\r\n"), ("utf-8", "\r")],
)
def test_encodings_and_line_ends(tmp_path, encoding, newline):
    text = "größe,farbe,label\n1.5,rot,ja\n2.5,grün,nein\n3.5,rot,ja\n"
    data = load_csv(_write(tmp_path, "e.csv", text, encoding, newline), target="label")
    assert data.X[:, 0].tolist() == [1.5, 2.5, 3.5]
    assert data.feature_names == ["größe", "farbe=grün", "farbe=rot"]
    assert data.lines.tolist() == [2, 3, 4]


def test_decimal_commas_and_thousands_separators(tmp_path):
    text = "Preis;Menge;Klasse\n1.234,50;2;a\n122,20;3;b\n-0,5;4;a\n1.000;1;b\n"
    data = load_csv(_write(tmp_path, "eu.csv", text), target="Klasse")
    assert data.X[:, 0].tolist() == pytest.approx([1234.5, 122.2, -0.5, 1000.0])
    assert any("decimal comma" in n for n in data.notes)
    forced = load_csv(_write(tmp_path, "eu2.csv", "a;b\n12,5;1\n2,25;0\n1;1\n"), decimal=",")
    assert forced.X[:, 0].tolist() == [12.5, 2.25, 1.0]
    us = 'amount,label\n"1,234.5",a\n"12,000",b\n7.25,a\n'
    data = load_csv(_write(tmp_path, "us.csv", us), target="label")
    assert data.X[:, 0].tolist() == [1234.5, 12000.0, 7.25]
    # in a comma-separated file a comma is never a decimal mark
    plain = load_csv(_write(tmp_path, "p.csv", "x,label\n1.5,a\n2.5,b\n"), target="label")
    assert plain.X[:, 0].tolist() == [1.5, 2.5]


def test_a_column_with_decimal_commas_in_a_file_of_decimal_points_is_named_as_such(tmp_path):
    # two conventions in one file: the comma column is left out, and the note says why (it
    # was called an identifier, "unique per row", which sent users looking in the wrong place)
    rows = [
        f"{i};{170 + i % 9},{i % 10};{60 + i % 7}.{i % 100:02d};{'ab'[i % 2]}" for i in range(30)
    ]
    text = "id;height;weight;label\n" + "\n".join(rows) + "\n"
    data = load_csv(_write(tmp_path, "mixed.csv", text), target="label")
    assert data.X.shape == (30, 1)  # weight only: id is an identifier, height left out
    assert data.X[:, 0].tolist() == pytest.approx([60 + i % 7 + (i % 100) / 100 for i in range(30)])
    note = next(n for n in data.notes if "left out" in n)
    assert "height (decimal commas, unlike the file's other numbers)" in note
    schema = infer_schema(read_columns(tmp_path / "mixed.csv"), target="label")
    height = next(c for c in schema.columns if c.name == "height")
    assert height.role == "comma decimals" and not height.used


def test_a_header_of_numbers_is_reported(tmp_path):
    data = load_csv(_write(tmp_path, "n.csv", "1,2,0\n3,4,1\n5,6,0\n"), target=2)
    assert data.columns == ["col0", "col1"] and len(data.X) == 3
    assert any("first row holds numbers" in n for n in data.notes)
    # (a column called "name" would be left out: people's names are identifiers)
    years = load_csv(_write(tmp_path, "y.csv", "region,2019,2020\na,1,2\nb,3,4\nc,5,6\n"))
    assert years.columns == ["region", "2019", "2020"]
    assert any("names that are numbers" in n for n in years.notes)


@pytest.mark.parametrize(
    "values, task",
    [
        (["a", "b"] * 20, "binary"),
        (["yes", "no"] * 20, "binary"),
        ([0, 1] * 20, "binary"),
        ([1, 2, 3, 4, 5] * 8, "multiclass"),  # 5 values, 8 rows each
        (list(range(40)), "regression"),  # ages, counts: too many values
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 3, "regression"),  # 3 rows per value: too few
        ([0.5, 1.5] * 20, "regression"),
    ],
)
def test_target_task_rule(tmp_path, values, task):
    rng = np.random.default_rng(0)
    lines = ["x,y"] + [f"{rng.normal():.3f},{v}" for v in values]
    data = load_csv(_write(tmp_path, "t.csv", "\n".join(lines) + "\n"), target="y")
    assert data.task == task


def test_task_override_and_regression_scaling(tmp_path):
    lines = ["x,y"] + [f"{i * 0.1:.1f},{3 * i}" for i in range(30)]
    path = _write(tmp_path, "r.csv", "\n".join(lines) + "\n")
    assert load_csv(path, target="y", task="classification").task == "multiclass"
    data = load_csv(path, target="y")
    pre = data.preprocessor.fit_target(data.y)
    z = pre.scale_target(data.y)
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    back = Preprocessor.from_dict(pre.to_dict())
    assert np.allclose(back.unscale_target(z), data.y)


def test_float32_overflow_is_a_located_error(tmp_path):
    text = "a,b,label\n1,2,x\n3,1e39,y\n5,6,x\n"
    with pytest.raises(cr.DataError, match=r"line 3, column 2 \('b'\): '1e39' is too large"):
        load_csv(_write(tmp_path, "o.csv", text), target="label")


@pytest.mark.parametrize("scale", [1e-200, 1e-30, 1.0, 1e30, 1e300])
def test_stable_moments_for_any_finite_magnitude(scale):
    x = np.array([1.0, 2.0, 3.0, 4.0]) * scale
    mean, std = stable_moments(x)
    assert mean == pytest.approx(2.5 * scale, rel=1e-12)
    assert std == pytest.approx(np.sqrt(1.25) * scale, rel=1e-12)
    assert stable_moments(np.full(5, 7.0) * scale) == pytest.approx((7.0 * scale, 1.0))


def test_near_constant_is_judged_relative_to_the_magnitude():
    assert stable_moments(np.array([1e8, 1e8 + 1e-3]))[1] == 1.0  # float32 can't tell them
    assert stable_moments(np.array([1e-20, 3e-20]))[1] == pytest.approx(1e-20)


def test_read_columns_streams_in_chunks(tmp_path, monkeypatch):
    import chainrule.data.reader as reader

    monkeypatch.setattr(reader, "CHUNK_ROWS", 7)
    lines = ["a,b,c"] + [f"{i},{i % 3},{'x' if i == 40 else i}" for i in range(50)]
    table = read_columns(_write(tmp_path, "c.csv", "\n".join(lines) + "\n"))
    assert table.columns[0].values.dtype == np.float32
    assert table["a"].values.tolist() == list(range(50))
    assert table["c"].levels == ["x"] and table["c"].codes[40] == 0
    schema = infer_schema(table)
    assert schema["b"].distinct == 3


@pytest.mark.parametrize("name", ["Kundennummer", "customer_no", "Order Nr.", "invoice #"])
def test_unique_whole_numbers_named_like_a_customer_number_are_an_identifier(tmp_path, name):
    # before: used as a numeric feature; the model learned from the size of a code
    rng = np.random.default_rng(0)
    codes = rng.choice(np.arange(10000, 99999), size=60, replace=False)
    path = tmp_path / "c.csv"
    path.write_text(
        f"{name},age,y\n" + "".join(f"{c},{20 + i % 40},{i % 2}\n" for i, c in enumerate(codes))
    )
    data = cr.data.load_csv(path, target="y")
    assert data.schema[name].role == "identifier" and data.feature_names == ["age"]


def test_a_count_named_number_of_is_still_a_feature(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("number of rooms,y\n" + "".join(f"{i % 6 + 1},{i % 2}\n" for i in range(40)))
    assert cr.data.load_csv(path, target="y").feature_names == ["number of rooms"]
