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


def test_messages_about_a_wide_file_name_the_first_columns_only(tmp_path):
    # before: 500 constant columns made a 10,000-character note, and a missing column's error
    # on a 2,000-column model listed all its columns three times (46,000 characters)
    import pytest

    import chainrule as cr

    path = _wide(tmp_path, 300, 40)
    text = path.read_text().splitlines()
    constant = ",".join(f"c{j}" for j in range(200))
    path.write_text(
        "\n".join([f"{constant},{text[0]}", *(",".join(["7"] * 200) + "," + r for r in text[1:])])
    )
    data = load_csv(path, target="label")
    [note] = [n for n in data.notes if n.startswith("left out")]
    assert note.startswith("left out: c0 (constant), c1 (constant), ")
    assert note.endswith("c19 (constant), ... and 180 more (200 in all; the schema lists them)")
    assert len([c for c in data.schema.columns if c.role == "constant"]) == 200
    with pytest.raises(cr.DataError) as err:
        load_csv(path, target="nope")
    assert str(err.value).endswith("'c19', ... and 481 more (501 in all)")
    new = tmp_path / "new.csv"
    new.write_text("\n".join(line.split(",", 201)[-1] for line in path.read_text().splitlines()))
    with pytest.raises(cr.DataError) as err:
        load_csv(new, preprocessor=data.preprocessor)  # v0 ... v299: the file lacks v0
    message = str(err.value)
    assert "no column(s) ['v0']; the model's columns are ['v0', 'v1', " in message
    assert "'v19', ... and 280 more] and the file has ['v1', " in message
    assert len(message) < 600


def test_new_rows_naming_none_of_a_wide_models_columns_name_the_first_only(tmp_path):
    # before: a file whose header named none of a 2,000-column model's columns got an error
    # listing all 2,000 (16,000 characters), and so did a headerless file two layouts fit
    import pytest

    import chainrule as cr

    data = load_csv(_wide(tmp_path, 2000, 20), target="label")
    other = tmp_path / "other.csv"
    other.write_text("x,b\nfoo,bar\n")
    with pytest.raises(cr.DataError) as err:
        load_csv(other, preprocessor=data.preprocessor)
    message = str(err.value)
    assert "names none of the model's columns (v0, v1, " in message
    assert "v19, ... and 1980 more (2000 in all))" in message and len(message) < 600
    headerless = tmp_path / "headerless.csv"
    headerless.write_text(",".join(["1.5"] * 2001) + "\n")
    data.preprocessor.file_columns = ["id", *data.preprocessor.column_names, "label"]
    with pytest.raises(cr.DataError) as err:
        load_csv(headerless, preprocessor=data.preprocessor)
    message = str(err.value)
    assert "could be (v0, v1, " in message and "... and 1981 more (2001 in all))" in message
    assert len(message) < 600
