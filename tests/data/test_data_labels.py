"""Class labels and categories as the user wrote them: case variants are named, never merged
silently."""

import pytest

from chainrule import DataError
from chainrule.data import Preprocessor, load_csv


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_differing_only_in_case_are_an_error_naming_them_and_the_fixes(tmp_path):
    rows = "".join(f"{i % 4},{['Yes', 'yes ', 'YES', ' No', 'no'][i % 5]}\n" for i in range(20))
    path = _write(tmp_path, "t.csv", "x,label\n" + rows)
    with pytest.raises(DataError) as info:
        load_csv(path, target="label")
    message = str(info.value)
    assert (
        "t.csv: column 2 ('label'): the labels 'No', 'no'; 'YES', 'Yes', 'yes' differ only in "
        "case" in message
    )
    assert "pass label_case='fold' to merge each group" in message
    assert "label_case='keep' to keep them as separate classes" in message
    assert "--label-case fold" in info.value.cli_message


def test_label_case_keep_keeps_them_apart_and_fold_merges_them(tmp_path):
    spellings = ["Yes", "yes ", "YES", " No", "no", "Yes", "no"]
    rows = "".join(f"{i % 4},{spellings[i % 7]}\n" for i in range(21))
    path = _write(tmp_path, "t.csv", "x,label\n" + rows)
    kept = load_csv(path, target="label", label_case="keep")
    assert kept.class_names == ["No", "YES", "Yes", "no", "yes"]
    folded = load_csv(path, target="label", label_case="fold")
    assert folded.class_names == ["Yes", "no"] and folded.task == "binary"
    expected = [0 if s.strip().lower() == "yes" else 1 for s in spellings] * 3
    assert folded.y.tolist() == expected
    assert "label: the labels 'YES', 'yes' are read as 'Yes' (label_case='fold')" in folded.notes
    assert "label: the label 'No' is read as 'no' (label_case='fold')" in folded.notes
    # new rows of a folded model match the classes in any case, and the choice is saved
    pre = Preprocessor.from_dict(folded.preprocessor.to_dict())
    assert pre.label_case == "fold"
    new = load_csv(
        _write(tmp_path, "n.csv", "x,label\n1,YES\n2,nO\n"), target="label", preprocessor=pre
    )
    assert new.y.tolist() == [0, 1]
    with pytest.raises(DataError, match="label_case must be None, 'fold' or 'keep'"):
        load_csv(path, target="label", label_case="lower")


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
    assert "not seen in training ('green'), encoded as all zeros" in note  # named as new
    assert "'green' (training has" not in note


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


def test_a_target_of_dates_is_named_unless_the_task_is_chosen(tmp_path):
    # before: read as 28 text classes, one per day; the run then failed on the validation
    # split ("cannot hold all 28 classes"), a message that never said the column holds dates
    rows = "".join(f"{i * 0.1:.1f},2024-01-{i % 28 + 1:02d}\n" for i in range(60))
    path = _write(tmp_path, "dates.csv", "x,when\n" + rows)
    with pytest.raises(DataError) as info:
        load_csv(path, target="when")
    assert "column 2 ('when'): the target holds dates ('2024-01-01', '2024-01-02', ...; 28 " in (
        str(info.value)
    )
    assert "pass task='classification' to train on it anyway" in str(info.value)
    assert "--task classification" in info.value.cli_message
    data = load_csv(path, target="when", task="classification")
    assert len(data.class_names) == 28


def test_unseen_boolean_value_note_says_what_it_is_encoded_as(tmp_path):
    # the note said "encoded as all zeros" where the one 0/1 feature is set to 0.5
    rows = "".join(f"{i % 4},{['yes', 'no'][i % 2]},{'ab'[i % 3 == 0]}\n" for i in range(12))
    data = load_csv(_write(tmp_path, "t.csv", "x,member,label\n" + rows), target="label")
    new = load_csv(
        _write(tmp_path, "new.csv", "x,member\n1,maybe\n2,YES\n3,no\n"),
        preprocessor=data.preprocessor,
    )
    column = data.feature_names.index("member")
    assert new.X[:, column].tolist() == [0.5, 1.0, 0.0]
    [note] = new.notes
    assert note == (
        "member: 1 row(s) hold a value that is neither 'no' nor 'yes' "
        "(encoded as 0.5, halfway between the two)"
    )
