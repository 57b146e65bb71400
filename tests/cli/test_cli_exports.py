"""``chainrule train``, ``predict`` and ``evaluate`` on files as Excel and pandas export them:
a byte-order mark, CRLF, a ``sep=;`` line, euros written ``€`` and ``EUR``, zip codes with
leading zeros, a database ``\\N``, dates, trailing empty columns and a pandas index."""

import csv
import re

import numpy as np
from cli_helpers import run_cli


def _export(path, n=300, seed=2):
    rng = np.random.default_rng(seed)
    rows = ["sep=;", "when;zip;price;member;bought;;"]
    for i in range(n):
        price, member = rng.uniform(5, 95), int(rng.integers(0, 2))
        bought = "yes" if price / 95 + 0.4 * member > 0.8 else "no"
        euro = f"€{price:.2f}" if i % 2 else f"{price:.2f} EUR"
        zip_code = ["01234", "02139", "10001"][i % 3]
        flag = "\\N" if i % 29 == 5 else ["no", "yes", "N", "Y"][member + 2 * (i % 2)]
        rows.append(
            f"2024/03/{1 + i % 28:02d};{zip_code};{euro.replace('.', ',')};{flag};{bought};;"
        )
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    return path


def test_train_predict_evaluate_on_an_excel_export(tmp_path):
    data, model = _export(tmp_path / "shop.csv"), tmp_path / "m.safetensors"
    result = run_cli(
        "train",
        data,
        "--target",
        "bought",
        "--impute",
        "mean",
        "--no-plots",
        "--out",
        model,
        "--seed",
        "0",
        "--epochs",
        "150",
    )
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "price: numbers in EUR (the sign removed)" in shown  # as many € as EUR
    assert "when (date)" in shown and "unnamed_6 (no values), unnamed_7 (no values)" in shown

    # new rows: pandas wrote them with its index, reordered, EUR for €, Y for yes
    new = tmp_path / "new.csv"
    new.write_text(
        ',member,price,zip,bought\n17,Y,"95,00 EUR",02139,yes\n3,no,"€5,00",01234,no\n'
        '8,yes,"€90,00",10001,yes\n',
        encoding="utf-8",
    )
    out = tmp_path / "p.csv"
    result = run_cli("predict", model, new, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "an index written by pandas" in result.stdout + result.stderr
    assert [r[1] for r in csv.reader(out.open())][1:] == ["yes", "no", "yes"]
    result = run_cli("evaluate", model, new)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^accuracy +1\.0000$", result.stdout, re.M)  # the width follows rows


def test_inspect_names_the_words_in_a_numeric_column(tmp_path):
    rows = [f"{20 + i % 50 if i % 19 else 'unknown'},{i % 2}" for i in range(200)]
    data = tmp_path / "ages.csv"
    data.write_text("age,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_cli("inspect", data)
    assert result.returncode == 0, result.stderr
    assert "mixed" in result.stdout
    # --features would refuse the column, so inspect does not offer it
    assert "left out of training: age (see why)" in result.stdout
    result = run_cli("train", data, "--target", "label", "--features", "age", "--dry-run")
    assert result.returncode == 2
    assert "'age'): numbers with 11 text cell(s) ('unknown' (11x))" in result.stderr
