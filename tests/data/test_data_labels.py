"""Class labels and categories as the user wrote them: case variants are named, never merged
silently."""

from chainrule.data import load_csv


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_differing_only_in_case_are_named_in_a_note(tmp_path):
    rows = "".join(f"{i % 4},{['Yes', 'yes ', 'YES', ' No', 'no'][i % 5]}\n" for i in range(20))
    data = load_csv(_write(tmp_path, "t.csv", "x,label\n" + rows), target="label")
    assert data.class_names == ["No", "YES", "Yes", "no", "yes"]  # kept apart: maybe meant
    [note] = [n for n in data.notes if "differ only in case" in n]
    assert "'No', 'no'; 'YES', 'Yes', 'yes'" in note and "5 in all" in note


def test_categories_differing_only_in_case_are_named_at_training_and_prediction(tmp_path):
    rows = "".join(f"{i % 4},{['red', 'RED', 'blue'][i % 3]},{'ab'[i % 2]}\n" for i in range(12))
    data = load_csv(_write(tmp_path, "t.csv", "x,colour,label\n" + rows), target="label")
    assert any("'RED', 'red' differ only in case" in n for n in data.notes)

    rows = "".join(f"{i % 4},{['red', 'blue'][i % 2]},{'ab'[i % 2]}\n" for i in range(12))
    data = load_csv(_write(tmp_path, "u.csv", "x,colour,label\n" + rows), target="label")
    assert not any("differ only in case" in n for n in data.notes)
    new = load_csv(
        _write(tmp_path, "new.csv", "x,colour\n1,Blue\n2,RED\n3,green\n"),
        preprocessor=data.preprocessor,
    )
    [note] = new.notes
    assert note.startswith("colour: 3 row(s) hold a category not seen in training")
    assert "'Blue' (training has 'blue'), 'RED' (training has 'red')" in note
    assert "green" not in note


def test_numeric_labels_keep_their_spelling(tmp_path):
    rows = "".join(f"{i % 4},{['007', '010', '010'][i % 3]}\n" for i in range(12))
    data = load_csv(_write(tmp_path, "t.csv", "x,label\n" + rows), target="label")
    assert data.class_names == ["007", "010"] and data.y.tolist()[:3] == [0, 1, 1]
    rows = "".join(f"{i % 4},{['2.0', '10.0'][i % 2]}\n" for i in range(12))
    data = load_csv(_write(tmp_path, "f.csv", "x,label\n" + rows), target="label")
    assert data.class_names == ["2.0", "10.0"]  # sorted by value, written as in the file
    # new rows match them by value, however they are written
    new = load_csv(
        _write(tmp_path, "n.csv", "x,label\n1,2\n2,10.0\n3,2.00\n"),
        target="label",
        preprocessor=data.preprocessor,
    )
    assert new.y.tolist() == [0, 1, 0]
