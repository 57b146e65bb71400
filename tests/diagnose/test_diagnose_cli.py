"""`chainrule train` diagnoses by default; `chainrule diagnose DIR` reads the run back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def run_cli(*args, cwd=None):
    env = {**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def leaked_csv(path, n=200):
    rng = np.random.default_rng(0)
    rows = ["a,b,leak,label"]
    for i in range(n):
        label = i % 2
        rows.append(
            f"{rng.normal():.4f},{rng.normal():.4f},{label * 3 + 1},{'yes' if label else 'no'}"
        )
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_prints_the_diagnosis_and_diagnose_reads_it_back(tmp_path):
    ckpt = tmp_path / "ckpt"
    out = run_cli(
        "train",
        leaked_csv(tmp_path / "leak.csv"),
        "--target",
        "label",
        "--layers",
        "8",
        "--epochs",
        "4",
        "--checkpoint-dir",
        ckpt,
        "--out",
        tmp_path / "m.safetensors",
        "--no-plots",
        "--report",
        tmp_path / "run.html",
    )
    assert out.returncode == 0, out.stderr
    assert "Diagnosis:" in out.stdout and "LEAKED_TARGET" in out.stdout
    assert (ckpt / "diagnose.json").is_file()
    page = (tmp_path / "run.html").read_text()
    assert 'id="diagnosis"' in page and "LEAKED_TARGET" in page
    assert "gradient norm per layer" in page

    again = run_cli("diagnose", ckpt, "--json")
    assert again.returncode == 0, again.stderr
    findings = json.loads(again.stdout)
    assert findings[0]["code"] == "LEAKED_TARGET"
    printed = " ".join(out.stdout.split())  # train wraps its lines to the terminal width
    assert "LEAKED_TARGET: " + " ".join(findings[0]["sentence"].split()) in printed

    text = run_cli("diagnose", ckpt / "diagnose.json")
    assert text.returncode == 0 and "LEAKED_TARGET" in text.stdout

    report = run_cli("report", ckpt, "--out", tmp_path / "again.html")
    assert report.returncode == 0, report.stderr
    assert 'id="diagnosis"' in (tmp_path / "again.html").read_text()


def test_a_loss_ending_far_above_its_start_exits_3_and_saves_nothing(tmp_path):
    model = tmp_path / "m.safetensors"
    out = run_cli(
        "train",
        "--dataset",
        "moons",
        "--layers",
        "16",
        "--epochs",
        "5",
        "--optimizer",
        "adam",
        "--lr",
        "1e6",
        "--out",
        model,
        "--no-plots",
    )
    assert out.returncode == 3, out.stdout + out.stderr
    assert "LOSS_ROSE" in out.stdout or "DIVERGED" in out.stdout
    assert "not saved" in out.stderr
    assert not model.exists()


def test_no_diagnose_turns_it_off(tmp_path):
    ckpt = tmp_path / "ckpt"
    out = run_cli(
        "train",
        "--dataset",
        "moons",
        "--layers",
        "8",
        "--epochs",
        "2",
        "--no-diagnose",
        "--checkpoint-dir",
        ckpt,
        "--out",
        tmp_path / "m.safetensors",
        "--no-plots",
    )
    assert out.returncode == 0, out.stderr
    assert "Diagnosis" not in out.stdout
    assert not (ckpt / "diagnose.json").exists()
    missing = run_cli("diagnose", ckpt)
    assert missing.returncode == 2
    assert "no diagnosis record" in missing.stderr and "--no-diagnose" in missing.stderr


@pytest.mark.parametrize("make", ["nowhere", "badjson"])
def test_diagnose_errors(tmp_path, make):
    target = tmp_path / "nowhere"
    if make == "badjson":
        target = tmp_path / "x.json"
        target.write_text("{}")
    out = run_cli("diagnose", target)
    assert out.returncode == 2
    assert out.stderr.startswith("chainrule diagnose: error:")
    assert len(out.stderr.strip().splitlines()) == 1


def test_deep_sigmoid_run_resumed_then_explained_from_its_folder(tmp_path):
    ckpt = tmp_path / "ckpt"
    args = [
        "train",
        "--dataset",
        "moons",
        "--layers",
        "16,16,16,16,16,16",
        "--activation",
        "sigmoid",
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--checkpoint-dir",
        ckpt,
        "--out",
        tmp_path / "m.safetensors",
        "--no-plots",
    ]
    first = run_cli(*args, "--epochs", "2")
    assert first.returncode == 0, first.stderr
    resumed = run_cli(*args, "--epochs", "4", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    record = json.loads((ckpt / "diagnose.json").read_text())
    assert record["epochs"]["epoch"] == [0.0, 1.0, 2.0, 3.0]  # the record went on
    assert record["steps"] == 4 * 13
    out = run_cli("diagnose", ckpt)
    assert out.returncode == 0, out.stderr
    assert "4 epoch(s), 52 step(s)" in out.stdout
    assert "1. [warning] VANISHING_GRADIENTS" in out.stdout
    assert "σ'(z) ≤ 0.25" in out.stdout and "the engine's gradient" in out.stdout


def test_example_why_not_learning(tmp_path):
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "why_not_learning.py")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    broken, fixed = run.stdout.split("\ntanh: ")
    assert "1. [warning] VANISHING_GRADIENTS" in broken and "σ'(z) ≤ 0.25" in broken
    assert "sigmoid: accuracy 50.0%" in broken
    assert "no problems found" in fixed
    assert float(fixed.split("accuracy ")[1].split("%")[0]) >= 95.0
