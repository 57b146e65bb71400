"""``chainrule train`` on a shop's export: percent and euro columns with decimal commas, an id,
and labels written ``Yes``/`` YES``/``no``; then ``predict`` and ``evaluate`` on new rows."""

import csv
import re

import numpy as np
from cli_helpers import run_cli


def _shop(path, n=300, seed=1):
    rng = np.random.default_rng(seed)
    rows = ["id;discount;price;bought"]
    for i in range(n):
        rate, price = rng.uniform(0, 40), rng.uniform(10, 3000)
        label = "Yes" if rate / 40 + price / 3000 > 1 else "no"
        label = " YES" if label == "Yes" and i % 7 == 0 else label
        euro = f"{price:,.2f}".replace(",", " ").replace(".", ",")
        percent = f"{rate:.1f}".replace(".", ",")
        rows.append(f"{i};{percent} %;{euro} €;{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_on_percent_and_euro_columns_with_case_variant_labels(tmp_path):
    data, model = _shop(tmp_path / "shop.csv"), tmp_path / "m.safetensors"
    common = ("train", data, "--target", "bought", "--no-plots", "--out", model, "--seed", "0")
    refused = run_cli(*common, "--epochs", "1")
    assert refused.returncode != 0
    shown = refused.stdout + refused.stderr
    assert "the labels 'YES', 'Yes' differ only in case" in shown
    assert "pass --label-case fold to merge each group" in shown

    result = run_cli(*common, "--epochs", "80", "--label-case", "fold", "--overwrite")
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr  # notes go to the terminal's stream of choice
    assert "bought: the label 'YES' is read as 'Yes' (--label-case fold)" in shown
    assert "discount: numbers in % (the sign removed)" in shown
    assert "price: numbers in € (the sign removed)" in shown
    assert "binary" in result.stdout

    new = tmp_path / "new.csv"
    new.write_text(
        "id;discount;price;bought\n1;39,0 %;2 900,00 €;yes\n2;1,5 %;12,50 €;NO\n"
        "3;35 %;2 999,99 €;YES\n4;2,0 %;100,00 €;no\n",
        encoding="utf-8",
    )
    out = tmp_path / "p.csv"
    result = run_cli("predict", model, new, "--out", out)
    assert result.returncode == 0, result.stderr
    assert [r[1] for r in csv.reader(out.open())][1:] == ["Yes", "no", "Yes", "no"]
    result = run_cli("evaluate", model, new)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^accuracy +1\.0000$", result.stdout, re.M)

    dollars = tmp_path / "usd.csv"
    dollars.write_text("id;discount;price\n1;39,0 %;$2 900,00\n", encoding="utf-8")
    result = run_cli("predict", model, dollars, "--out", out)
    assert result.returncode != 0
    shown = result.stdout + result.stderr
    assert "'$2 900,00' is written in another unit than the training file's '€'" in shown
