"""A corpus of realistic CSV files, each trained, predicted on new rows and evaluated.

Every file is written by the test (Titanic-like passengers, European `;` exports with decimal
commas, survey exports with ids, dates and free text, integer-coded regression targets, tiny
and wide files, several encodings and line ends). For each one: training exits 0 and says
which columns it left out, prediction on new rows holding unseen categories and missing
values exits 0 with one line per row, evaluation reaches an accuracy (or R²) well above
chance. The CLI's main() runs in-process to keep the corpus fast.
"""

import csv
import io
import re

import numpy as np
import pytest

from chainrule.cli.main import main

NAMES = ["Anna", "Ben", "Carl", "Dora", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jana"]
WORDS = "good service but slow delivery and the price was fair overall very happy".split()


def _people(rng, n):
    return [
        f"{NAMES[rng.integers(10)]} {NAMES[rng.integers(10)]}son, Mr. {i} {rng.integers(1e6)}"
        for i in range(n)
    ]


def titanic(rng, n, new=False):
    header = ["PassengerId", "Name", "Sex", "Age", "Fare", "Embarked", "Cabin", "Survived"]
    rows = []
    for i in range(n):
        sex = "female" if rng.random() < 0.4 else "male"
        age = "" if rng.random() < 0.15 else f"{rng.uniform(1, 70):.0f}"
        fare = f"{rng.lognormal(3, 1):.2f}"
        embarked = "" if rng.random() < 0.03 else str(rng.choice(["S", "C", "Q"]))
        if new and i % 5 == 0:
            embarked = "X"  # a port not seen in training
        cabin = "" if rng.random() < 0.7 else f"{rng.choice(['B', 'C', 'E'])}{rng.integers(100)}"
        survived = int((sex == "female") ^ (rng.random() < 0.1))
        name = _people(rng, 1)[0]
        rows.append([str(i + 1), name, sex, age, fare, embarked, cabin, str(survived)])
    return header, rows, "Survived", "classification"


def european(rng, n, new=False):
    header = ["Artikel", "Preis", "Gewicht", "Kategorie", "Klasse"]
    rows = []
    for i in range(n):
        price = rng.uniform(1, 3000)
        weight = rng.uniform(0.1, 50)
        category = str(rng.choice(["Haushalt", "Garten", "Büro"]))
        if new and i % 4 == 0:
            category = "Küche"
        label = "teuer" if price > 1500 else "günstig"
        price_text = f"{price:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        weight_text = "" if new and i % 7 == 0 else f"{weight:.3f}".replace(".", ",")
        rows.append([f"A-{i:05d}", price_text, weight_text, category, label])
    return header, rows, "Klasse", "classification"


def survey(rng, n, new=False):
    header = ["respondent_id", "submitted", "age", "region", "member", "comment", "score"]
    rows = []
    for i in range(n):
        age = rng.integers(18, 80)
        member = str(rng.choice(["yes", "no"]))
        region = str(rng.choice(["north", "south", "east", "west"]))
        if new and i % 3 == 0:
            region = "abroad"
        score = 1 + int(age > 35) + int(age > 50) + int(member == "yes")
        comment = " ".join(rng.choice(WORDS, 8)) + f" #{i}"
        day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rows.append([f"R{i:06d}", day, str(age), region, member, comment, str(score)])
    return header, rows, "score", "classification"


def houses(rng, n, new=False):
    header = ["id", "rooms", "area", "district", "year", "price"]
    rows = []
    for i in range(n):
        rooms = rng.integers(1, 7)
        area = rng.uniform(20, 250)
        district = str(rng.choice(["old town", "harbour", "hills"]))
        if new and i % 4 == 0:
            district = "airport"
        bonus = {"old town": 90_000, "harbour": 40_000, "hills": 0, "airport": 0}[district]
        price = int(1500 * area + 10_000 * rooms + bonus + rng.normal(0, 5000))
        year = "" if new and i % 6 == 0 else str(rng.integers(1950, 2024))
        rows.append([str(1000 + i), str(rooms), f"{area:.1f}", district, year, str(price)])
    return header, rows, "price", "regression"


def wide(rng, n, new=False):
    k = 60
    header = [f"g{j}" for j in range(k)] + ["batch", "status"]
    rows = []
    for _ in range(n):
        x = rng.standard_normal(k)
        status = "sick" if x[:5].sum() > 0 else "healthy"
        batch = str(rng.choice(["b1", "b2"])) if not new else "b9"
        rows.append([f"{v:.4f}" for v in x] + [batch, status])
    return header, rows, "status", "classification"


def sensors(rng, n, new=False):
    header = ["timestamp", "site", "temp", "humidity", "load kWh"]
    rows = []
    for i in range(n):
        temp = rng.uniform(-10, 35)
        humidity = rng.uniform(10, 90)
        site = str(rng.choice(["plant-a", "plant-b"]))
        load = 50 + 2.5 * abs(temp - 18) + 0.2 * humidity + rng.normal(0, 1)
        stamp = f"2024-03-{1 + i % 28:02d} {i % 24:02d}:00"
        humidity_text = "NA" if new and i % 5 == 0 else f"{humidity:.1f}"
        rows.append([stamp, site, f"{temp:.2f}", humidity_text, f"{load:.3f}"])
    return header, rows, "load kWh", "regression"


FAMILIES = {
    "titanic": (titanic, 240, ["--impute", "mean"], 0.75),
    "european": (european, 200, ["--impute", "mean"], 0.8),
    "survey": (survey, 240, ["--impute", "mean"], 0.5),
    "houses": (houses, 240, ["--impute", "mean"], 0.8),
    "wide": (wide, 200, [], 0.7),
    "sensors": (sensors, 240, ["--impute", "mean"], 0.7),
}
# How each variant writes the file: delimiter, encoding, line end, rows (tiny files too).
VARIANTS = [
    (",", "utf-8", "\n", 1.0),
    (",", "utf-8-sig", "\r\n", 1.0),
    ("\t", "utf-16", "\n", 1.0),
    ("|", "utf-8", "\r", 1.0),
    (",", "utf-8", "\r\n", 0.25),
    (";", "utf-8", "\n", 1.0),
    ("\t", "utf-8-sig", "\n", 1.0),
]
CASES = [(f, v) for f in FAMILIES for v in range(len(VARIANTS))]


def _write(path, header, rows, delimiter, encoding, newline):
    if delimiter != ";":
        # decimal commas only where ';' separates the cells, as in real European exports
        rows = [[_dot(cell) for cell in row] for row in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _dot(cell: str) -> str:
    if re.fullmatch(r"-?[\d.]+,\d+", cell):
        return cell.replace(".", "").replace(",", ".")
    return cell


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_corpus_has_at_least_forty_files():
    assert len(CASES) >= 40


@pytest.mark.parametrize("family, variant", CASES, ids=[f"{f}-{v}" for f, v in CASES])
def test_corpus_file_trains_predicts_and_evaluates(tmp_path, capsys, family, variant):
    make, n, flags, floor = FAMILIES[family]
    delimiter, encoding, newline, share = VARIANTS[variant]
    rng = np.random.default_rng(variant)
    n = max(int(n * share), 40)
    header, rows, target, task = make(rng, n)
    data = _write(tmp_path / f"{family}.csv", header, rows, delimiter, encoding, newline)
    model = tmp_path / "m.safetensors"
    epochs = "60" if n < 100 else "25"
    code, out, err = _cli(
        capsys, "train", data, "--target", target, "--epochs", epochs, "--out", model,
        "--no-plots", "--layers", "16", "--seed", "0", *flags,
    )  # fmt: skip
    assert code == 0, err
    assert ("Training regression" in out) == (task == "regression"), out
    if family in ("titanic", "survey", "houses"):
        assert "left out:" in out and "--features" in out
    if delimiter == ";" and family in ("european",):
        assert "decimal comma" in out

    _, new_rows, _, _ = make(np.random.default_rng(100 + variant), 30, new=True)
    fresh = _write(tmp_path / "new.csv", header, new_rows, delimiter, encoding, newline)
    code, out, err = _cli(capsys, "predict", model, fresh, "--proba")
    assert code == 0, err
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0][:2] == ["line", f"predicted_{target}"] and len(lines) == 31
    assert len({len(line) for line in lines}) == 1  # the header matches the rows
    if family in ("titanic", "european", "survey", "houses"):
        assert "not seen in training" in err

    code, out, err = _cli(capsys, "evaluate", model, data)
    assert code == 0, err
    metric = "r2" if task == "regression" else "accuracy"
    score = float(re.search(rf"^{metric}\s+(-?[\d.]+)", out, re.M).group(1))
    assert score >= floor, out
