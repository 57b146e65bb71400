"""A Windows-1252 file whose only accented capitals and symbols happen to be valid UTF-8
(``JOSÉ’S`` is 0xC9 0x92, UTF-8 ``ɒ``) reads as Windows-1252 with a note; genuine UTF-8
files (accents, Greek units, Azerbaijani, CJK, emoji) stay UTF-8."""

import pytest

from chainrule.data import load_csv
from chainrule.data.charset import choose_charset


def _write(tmp_path, names, encoding, name="f.csv"):
    path = tmp_path / name
    lines = ["name;x;y"] + [f"{n};{i % 4};{i % 2}" for i, n in enumerate(names * 4)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    "names",
    [
        ["JOSÉ’S", "BOB", "ANN"],  # 0xC9 0x92: ɒ (IPA)
        ["ZOË’S", "BOB", "ANN"],  # 0xCB 0x92: a spacing modifier
        ["HÜ”", "BOB", "ANN"],  # 0xDC 0x94: a Syriac letter
        ["ESPAÑ”", "CAFÉ™", "ANN"],  # Cyrillic є, IPA ə
        ["SÆ°C", "BOB", "ANN"],  # 0xC6 0xB0: ư, alone after a capital
    ],
)
def test_windows_1252_pairs_that_are_valid_utf8_read_as_windows_1252(tmp_path, names):
    # before: every byte was valid UTF-8, so JOSÉ’S read as JOSɒS without a word
    path = _write(tmp_path, names, "cp1252")
    data = load_csv(path, target="y", categorical=["name"])
    assert {f"name={n}" for n in names} <= set(data.feature_names)
    note = next(n for n in data.notes if "Windows-1252" in n)
    assert "valid UTF-8" in note and "encoding='utf-8'" in note
    forced = load_csv(path, target="y", categorical=["name"], encoding="utf-8")
    assert f"name={names[0]}" not in forced.feature_names  # UTF-8, as named: garbled


@pytest.mark.parametrize(
    "names",
    [
        ["Genève", "Zoë", "Łódź"],
        ["CAFÉ", "ZÜRICH", "ÅRHUS"],  # capitals from Latin-1: never a chance pair
        ["5 μm", "10 μm", "2 μm"],  # a Greek letter after a space
        ["ΔT", "α=0.5", "5 Ω"],  # Greek symbols: "Î”", "Î±", "Î©" in Windows-1252
        ["Məmmədov", "Əliyev", "Bakı"],  # ə after lower-case letters
        ["Αθήνα", "Москва", "תל אביב"],  # letters in runs
        ["東京", "서울", "北京"],
        ["🙂 ok", "bad 😞", "n"],
        ["Ali", "Hasan", "Gülşən"],
    ],
)
def test_genuine_utf8_files_stay_utf8(tmp_path, names):
    path = _write(tmp_path, names, "utf-8")
    assert choose_charset(path, "f.csv").codec == "utf-8"
    data = load_csv(path, target="y", categorical=["name"])
    assert {f"name={n}" for n in names} <= set(data.feature_names)
    assert not any("Windows-1252" in n for n in data.notes)


def test_a_chance_pair_beside_a_genuine_utf8_letter_stays_utf8(tmp_path):
    # ɒ (IPA) next to é: one genuine UTF-8 letter makes the whole file UTF-8
    path = _write(tmp_path, ["JOSɒS", "José"], "utf-8")
    assert choose_charset(path, "f.csv").codec == "utf-8"


def test_an_ascii_file_stays_utf8(tmp_path):
    path = _write(tmp_path, ["ann", "bob"], "utf-8")
    assert choose_charset(path, "f.csv").label == "UTF-8"
