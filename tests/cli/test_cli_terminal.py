"""Output fits the terminal: at 80 columns no line is longer, and no number is split.

A number split across lines would show up as a different list of numbers than the same
command prints at 1000 columns; data strings (column names, labels) reach the terminal
literally: no escape sequence, no markup swallowed.
"""

import re

import numpy as np
import pytest
from cli_helpers import write_classification_csv

from chainrule.cli.main import main

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def _run(capsys, monkeypatch, columns, *args):
    monkeypatch.setenv("COLUMNS", str(columns))
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _numbers(text):
    # times vary between runs: leave their lines out, and the count of compiled steps with
    # them (the diagnosis recorder picks the steps it watches, eagerly, by its time budget)
    timed = re.compile(r"time|done in|\d\.\d+s\b|compiled steps|eager steps")
    kept = [line for line in text.splitlines() if not timed.search(line)]
    return NUMBER.findall(" ".join(kept))


def _subsequence(short, long):
    """Every number of ``short`` appears whole in ``long``, as often (narrow tables may leave
    some examples out, but never print part of a number). Not in order: a table that wraps
    its cells prints a cell's second line after the next column's first."""
    from collections import Counter

    return not Counter(short) - Counter(long)


@pytest.fixture()
def model(tmp_path, capsys, monkeypatch):
    # relative names: a file path is one word that no terminal width can wrap, and pytest's
    # temporary folders are longer under pytest-xdist (…/popen-gw1/…) than 80 columns allow
    monkeypatch.chdir(tmp_path)
    data = write_classification_csv(tmp_path / "d.csv", n=80).name
    path = "m.safetensors"
    args = ["train", data, "--target", "species", "--epochs", "3", "--no-plots", "--out", path]
    assert main([str(a) for a in args]) == 0
    capsys.readouterr()
    return path, data


COMMANDS = {
    "demo": lambda m, d, o: ["demo", "--epochs", "3", "--no-plots"],
    "explain-seed": lambda m, d, o: ["explain", "--example", "seed"],
    "explain-mazur": lambda m, d, o: ["explain", "--example", "mazur"],
    "explain-model": lambda m, d, o: ["explain", m, "--data", d, "--row", "1"],
    "info": lambda m, d, o: ["info", m],
    "inspect": lambda m, d, o: ["inspect", d, "--target", "species"],
    "train": lambda m, d, o: [
        "train",
        d,
        "--target",
        "species",
        "--epochs",
        "3",
        "--no-plots",
        "--out",
        o,
        "--overwrite",
        "--layers",
        "4,4",
    ],  # fmt: skip
    "evaluate": lambda m, d, o: ["evaluate", m, d],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_output_fits_80_columns_without_splitting_numbers(
    tmp_path, capsys, monkeypatch, model, name
):
    path, data = model
    args = COMMANDS[name](path, data, "o.safetensors")
    narrow = _run(capsys, monkeypatch, 80, *args)
    for line in narrow.splitlines():
        assert len(line) <= 80, f"{len(line)}: {line}"
    wide = _run(capsys, monkeypatch, 1000, *args)
    assert _subsequence(_numbers(narrow), _numbers(wide))
    assert len(_numbers(narrow)) >= 0.5 * len(_numbers(wide))


def test_piped_output_defaults_to_100_columns(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["explain", "--example", "mazur"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_strings_from_data_are_printed_literally(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    lines = ["rate [/s],mass [kg],colour,label"]
    for i in range(60):
        label = "\x1b[31mred\x1b[0m" if i % 2 else "[bold]blue[/bold]"
        lines.append(f"{rng.normal(i % 2, 0.3):.3f},{rng.normal():.3f},c{i % 3},{label}")
    data = tmp_path / "odd.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.safetensors"
    out = _run(
        capsys, monkeypatch, 80, "train", data, "--target", "label", "--epochs", "2",
        "--no-plots", "--out", model,
    )  # fmt: skip
    out += _run(capsys, monkeypatch, 80, "inspect", data, "--target", "label")
    out += _run(capsys, monkeypatch, 80, "info", model)
    assert "\x1b" not in out
    assert "rate [/s]" in out and "mass [kg]" in out
    assert "\\x1b[31mred" in out and "[bold]blue[/bold]" in out


def test_column_names_in_notes_and_errors_are_printed_literally(tmp_path, capsys):
    # the left-out note, inspect's last line and predict's list of the model's columns
    # printed a header's line break and escape sequence raw
    rng = np.random.default_rng(0)
    rows = ['"weight\n(kg)","col\x1b[31mred",id,label']
    rows += [f"{rng.normal():.3f},{'ab'[i % 2]},{i},{i % 3 % 2}" for i in range(40)]
    data = tmp_path / "d.csv"
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    args = ["--target", "label", "--epochs", "1", "--no-plots", "--out", str(model)]
    assert main(["train", str(data), *args]) == 0
    assert main(["inspect", str(data), "--target", "label"]) == 0
    new = tmp_path / "new.csv"
    new.write_text("col\x1b[31mred\nb\n")
    assert main(["predict", str(model), str(new)]) == 2
    out, err = capsys.readouterr()
    printed = out + err
    assert "\x1b" not in printed and "weight\n" not in printed
    assert "--features weight\\n(kg),col\\x1b[31mred,id" in printed  # train's left-out note
    assert "expects 2 feature columns: weight\\n(kg), col\\x1b[31mred)" in err
