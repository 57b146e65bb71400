"""Accented letters written composed (é, U+00E9) or decomposed (e + U+0301, as macOS writes):
one name, one category, one class."""

import unicodedata

import numpy as np

from chainrule.data import Preprocessor, load_csv


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _decomposed(text):
    return unicodedata.normalize("NFD", text)


def _trained(tmp_path):
    rows = "".join(
        f"{i % 7 * 0.5},{['groß', 'klein', 'café'][i % 3]},{['ja', 'nein', 'señal'][i % 3]}\n"
        for i in range(30)
    )
    return load_csv(_write(tmp_path, "t.csv", "Größe,Maß,Kündigung\n" + rows), target="Kündigung")


def test_new_rows_written_decomposed_match_the_models_names_and_categories(tmp_path):
    # before: "no column(s) ['Größe']; ... the file has ['Größe', 'Maß']", and with the
    # names fixed every category was unseen (all zeros) while looking the same
    data = _trained(tmp_path)
    text = "Maß,Größe,Kündigung\ngroß,1.5,ja\ncafé,0.5,señal\nklein,2,nein\n"
    composed = load_csv(
        _write(tmp_path, "nfc.csv", text), target="Kündigung", preprocessor=data.preprocessor
    )
    new = _write(tmp_path, "nfd.csv", _decomposed(text))
    decomposed = load_csv(new, target="Kündigung", preprocessor=data.preprocessor)
    np.testing.assert_array_equal(decomposed.X, composed.X)
    assert decomposed.y.tolist() == composed.y.tolist() == [0, 2, 1]
    assert not any("not seen in training" in n for n in decomposed.notes)


def test_a_training_file_mixing_both_forms_has_one_category_and_one_class(tmp_path):
    rows = [
        f"{i % 5},{'café' if i % 2 else _decomposed('café')},{'sí' if i % 3 else _decomposed('sí')}"
        for i in range(12)
    ]
    rows += [f"{i},tea,no" for i in range(6)]
    data = load_csv(
        _write(tmp_path, "m.csv", "x,drink,answer\n" + "\n".join(rows) + "\n"), target="answer"
    )
    assert data.feature_names == ["x", "drink=café", "drink=tea"]
    assert data.class_names == ["no", "sí"]


def test_a_saved_description_and_a_target_named_decomposed_still_match(tmp_path):
    data = _trained(tmp_path)
    state = data.preprocessor.to_dict()
    old = Preprocessor.from_dict(_decomposed_all(state))  # saved from a decomposed file
    assert old.column_names == ["Größe", "Maß"] and old.class_names == data.preprocessor.class_names
    path = tmp_path / "t.csv"
    again = load_csv(path, target=_decomposed("Kündigung"), features=[_decomposed("Größe")])
    assert again.target_name == "Kündigung" and again.columns == ["Größe"]


def _decomposed_all(value):
    if isinstance(value, str):
        return _decomposed(value)
    if isinstance(value, dict):
        return {_decomposed_all(k): _decomposed_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decomposed_all(v) for v in value]
    return value


def test_a_dataframe_with_decomposed_names_and_cells_is_read_by_name(tmp_path):
    import pytest

    pd = pytest.importorskip("pandas")
    data = _trained(tmp_path)
    pre = data.preprocessor.fit(data.X)
    composed = pre.transform(pd.DataFrame({"Maß": ["groß", "café"], "Größe": [1.5, 0.5]}))
    frame = pd.DataFrame({"Maß": [_decomposed("café"), "groß"], _decomposed("Größe"): [0.5, 1.5]})
    composed = composed[::-1]
    np.testing.assert_array_equal(pre.transform(frame), composed)  # was: no column 'Maß'
    assert pre.unseen == {}


def test_invisible_characters_at_a_cells_ends_do_not_make_another_class(tmp_path):
    # text copied from a web page: 'b\u200b' (a zero-width space after it) was a class of its
    # own beside 'b', both printed 'b'; a header name 'z\u200b' named no 'z' of new rows
    zw = "\u200b"
    rows = "".join(f"{i % 7},{i % 3},{'ab'[i % 2]}{zw if i % 5 == 0 else ''}\n" for i in range(40))
    data = load_csv(_write(tmp_path, "web.csv", f"x,z{zw},\ufeffy\u2060\n" + rows), target="y")
    assert data.class_names == ["a", "b"] and data.columns == ["x", "z"]
    new = _write(tmp_path, "new.csv", f"z,x\n1,{zw}2\n")  # a number keeps its error
    import pytest

    from chainrule import DataError

    with pytest.raises(DataError, match=r"line 2, column 2 \('x'\): '\\u200b2' is not a number"):
        load_csv(new, preprocessor=data.preprocessor)
