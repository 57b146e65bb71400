"""``chainrule train``, ``predict``, ``evaluate``, ``info`` on files a user would have."""

import csv
import hashlib
import re
import statistics

import pytest
from cli_helpers import run_cli, write_classification_csv, write_regression_csv


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def species_csv(tmp_path):
    return write_classification_csv(tmp_path / "species.csv")


def test_train_predict_evaluate_info_round_trip(tmp_path, species_csv):
    model = tmp_path / "model.safetensors"
    result = run_cli(
        "train",
        species_csv,
        "--target",
        "species",
        "--layers",
        "8",
        "--epochs",
        "40",
        "--out",
        model,
        "--seed",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "Summary" in result.stdout and str(model) in result.stdout
    accuracy = float(re.search(r"final val_accuracy\s+([\d.]+)", result.stdout).group(1))
    assert accuracy >= 0.9
    assert (tmp_path / "model-plots" / "loss.png").exists()
    assert (tmp_path / "model-plots" / "confusion_matrix.png").exists()

    predictions = tmp_path / "predictions.csv"
    result = run_cli("predict", model, species_csv, "--out", predictions, "--proba")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(predictions.open()))
    assert rows[0] == ["line", "predicted_species", "setosa", "virginica"]
    assert all(len(row) == 4 for row in rows)
    truth = [r[-1] for r in list(csv.reader(species_csv.open()))[1:]]
    assert [int(r[0]) for r in rows[1:]] == list(range(2, len(truth) + 2))
    predicted = [r[1] for r in rows[1:]]
    assert len(predicted) == len(truth)
    assert sum(p == t for p, t in zip(predicted, truth)) / len(truth) >= 0.9
    for row in rows[1:]:
        assert abs(float(row[2]) + float(row[3]) - 1) < 1e-5

    result = run_cli("evaluate", model, species_csv)
    assert result.returncode == 0, result.stderr
    assert float(re.search(r"accuracy\s+([\d.]+)", result.stdout).group(1)) >= 0.9

    result = run_cli("info", model)
    assert result.returncode == 0, result.stderr
    for text in ("Linear", "species", "setosa", "parameters", "colour"):
        assert text in result.stdout, text


def test_train_regression_with_config_file_and_override(tmp_path):
    data = write_regression_csv(tmp_path / "reg.csv")
    config = tmp_path / "run.toml"
    config.write_text('layers = [16]\noptimizer = "adam"\nlr = 0.02\nepochs = 2\nloss = "mse"\n')
    model = tmp_path / "reg.safetensors"
    result = run_cli(
        "train",
        data,
        "--target",
        "y",
        "--config",
        config,
        "--epochs",
        "60",
        "--out",
        model,
        "--no-plots",
    )
    assert result.returncode == 0, result.stderr
    trained = result
    assert re.search(r"epochs run\s+60", result.stdout)  # the flag overrode the file
    r2 = float(re.search(r"final val_r2\s+([-\d.]+)", result.stdout).group(1))
    assert r2 > 0.95
    result = run_cli("predict", model, data, "--proba")  # --proba was dropped without a word
    assert result.returncode == 0 and result.stdout.splitlines()[0] == "line,predicted_y"
    assert "note: --proba is for classes" in result.stderr
    # The mae shown is on the standardised target, and the note spoke of losses only: it
    # names mae and the factor to the target's own units, in train's summary and in info.
    with open(data) as f:
        std = statistics.pstdev(float(row["y"]) for row in csv.DictReader(f))
    for text in (trained.stdout, run_cli("info", model).stdout):
        factor = re.search(r"loss and mae are .* mae × ([\d.]+) is in y's own units", text)
        assert factor and abs(float(factor.group(1)) / std - 1) < 0.1, text


def test_train_on_builtin_dataset_reaches_documented_accuracy(tmp_path):
    result = run_cli(
        "train",
        "--dataset",
        "moons",
        "--layers",
        "16,16",
        "--activation",
        "tanh",
        "--epochs",
        "60",
        "--out",
        tmp_path / "moons.safetensors",
        "--no-plots",
    )
    assert result.returncode == 0, result.stderr
    assert float(re.search(r"final val_accuracy\s+([\d.]+)", result.stdout).group(1)) >= 0.95


def test_same_seed_gives_identical_model_files(tmp_path, species_csv):
    digests = set()
    for i in range(3):
        out = tmp_path / f"m{i}.safetensors"
        result = run_cli(
            "train",
            species_csv,
            "--target",
            "species",
            "--epochs",
            "3",
            "--seed",
            "7",
            "--out",
            out,
            "--no-plots",
        )
        assert result.returncode == 0, result.stderr
        digests.add(sha256(out))
    assert len(digests) == 1


def test_resume_continues_to_the_same_weights(tmp_path, species_csv):
    common = ["--target", "species", "--layers", "6", "--seed", "3", "--no-plots"]
    straight = tmp_path / "straight.safetensors"
    result = run_cli("train", species_csv, *common, "--epochs", "6", "--out", straight)
    assert result.returncode == 0, result.stderr
    ckpt = tmp_path / "ckpt"
    resumed = tmp_path / "resumed.safetensors"
    first = run_cli(
        "train", species_csv, *common, "--epochs", "3", "--out", resumed, "--checkpoint-dir", ckpt
    )
    assert first.returncode == 0, first.stderr
    second = run_cli(
        "train",
        species_csv,
        *common,
        "--epochs",
        "6",
        "--out",
        resumed,
        "--checkpoint-dir",
        ckpt,
        "--resume",
    )
    assert second.returncode == 0, second.stderr
    import chainrule as cr

    a, b = cr.load(straight).state_dict(), cr.load(resumed).state_dict()
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert "note:" not in second.stderr
    # Resuming a finished run with --epochs 3 printed a summary of 6 epochs without a word.
    again = run_cli(
        "train", species_csv, *common, "--epochs", "3", "--out", resumed,
        "--checkpoint-dir", ckpt, "--resume",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"note: {ckpt} already holds 6 epochs (--epochs 3): nothing was left to train" in (
        again.stderr
    )


def test_resume_with_other_config_is_refused(tmp_path, species_csv):
    ckpt = tmp_path / "ckpt"
    base = [
        "train",
        species_csv,
        "--target",
        "species",
        "--epochs",
        "2",
        "--no-plots",
        "--out",
        tmp_path / "m.safetensors",
        "--checkpoint-dir",
        ckpt,
    ]
    assert run_cli(*base).returncode == 0
    result = run_cli(*base, "--resume", "--layers", "99")
    assert result.returncode == 2 and "config" in result.stderr.lower()


def test_a_fresh_run_does_not_replace_an_earlier_runs_checkpoint_unasked(tmp_path, species_csv):
    # forgetting --resume silently started over and replaced the earlier run's backup
    ckpt = tmp_path / "ckpt"
    base = ["train", species_csv, "--target", "species", "--epochs", "2", "--no-plots"]
    first = run_cli(*base, "--out", tmp_path / "a.safetensors", "--checkpoint-dir", ckpt)
    assert first.returncode == 0, first.stderr
    backup = (ckpt / "backup.safetensors").read_bytes()
    again = run_cli(*base, "--out", tmp_path / "b.safetensors", "--checkpoint-dir", ckpt)
    assert again.returncode == 2
    assert (
        f"--checkpoint-dir {ckpt} already holds the checkpoint of a run; continue it with "
        "--resume, replace it with --overwrite, or choose another folder"
    ) in again.stderr
    assert (ckpt / "backup.safetensors").read_bytes() == backup
    assert not (tmp_path / "b.safetensors").exists()
    args = ["--out", tmp_path / "b.safetensors", "--checkpoint-dir", ckpt, "--overwrite"]
    replaced = run_cli(*base, "--seed", "5", *args)
    assert replaced.returncode == 0, replaced.stderr
    assert (ckpt / "backup.safetensors").read_bytes() != backup


def test_divergence_exits_3_and_keeps_the_good_model(tmp_path):
    data = write_regression_csv(tmp_path / "reg.csv")
    model = tmp_path / "reg.safetensors"
    good = run_cli("train", data, "--target", "y", "--epochs", "2", "--out", model, "--no-plots")
    assert good.returncode == 0, good.stderr
    before = sha256(model)
    result = run_cli(
        "train",
        data,
        "--target",
        "y",
        "--epochs",
        "50",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--out",
        model,
        "--no-plots",
        "--overwrite",
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.search(r"epoch \d+/\d+, batch \d+/\d+", result.stderr)
    assert re.search(r"\b(nan|inf|non-finite)\b", result.stderr.lower())
    assert sha256(model) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "nope"], "nope"),
        (["--target", "species", "--layers", "4,x"], "--layers"),
        (["--target", "species", "--loss", "mse", "--dataset", "moons"], "not both"),
        ([], "--target"),
    ],
)
def test_train_argument_errors(tmp_path, species_csv, args, message):
    result = run_cli("train", species_csv, *args, "--out", tmp_path / "m.safetensors")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_predict_with_wrong_number_of_features(tmp_path, species_csv):
    model = tmp_path / "m.safetensors"
    assert (
        run_cli(
            "train",
            species_csv,
            "--target",
            "species",
            "--epochs",
            "1",
            "--out",
            model,
            "--no-plots",
        ).returncode
        == 0
    )
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("height\n1.0\n2.0\n")
    result = run_cli("predict", model, narrow)
    assert result.returncode == 2
    assert "m.safetensors" in result.stderr and "Traceback" not in result.stderr


def test_predict_rejects_a_file_that_is_not_a_model(tmp_path, species_csv):
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"\x00" * 64)
    result = run_cli("predict", fake, species_csv)
    assert result.returncode == 2 and "fake.safetensors" in result.stderr


def test_train_report_and_report_from_checkpoint_dir(tmp_path):
    report = tmp_path / "report.html"
    ckpt = tmp_path / "run"
    result = run_cli(
        "train",
        "--dataset",
        "moons",
        "--layers",
        "8",
        "--epochs",
        "3",
        "--no-plots",
        "--out",
        tmp_path / "m.safetensors",
        "--report",
        report,
        "--checkpoint-dir",
        ckpt,
    )
    assert result.returncode == 0, result.stderr
    # the explanation's update is the run's own optimizer's next step (the default: Adam)
    from html import unescape

    srcdoc = unescape(re.search(r'srcdoc="([^"]*)"', report.read_text()).group(1))
    explained = " ".join(unescape(re.sub("<[^>]+>", " ", srcdoc)).split())
    assert "One step of your optimizer, Adam(" in explained
    for html in (report, tmp_path / "again.html"):
        if html != report:
            again = run_cli("report", ckpt, "--out", html)
            assert again.returncode == 0, again.stderr
        text = html.read_text()
        assert text.lstrip().lower().startswith("<!doctype html")
        assert "Decision boundary" in text and "data:image/png;base64," in text
        assert not re.search(r"(src|href)\s*=\s*[\"']?https?:|url\(\s*[\"']?https?:", text)
    missing = run_cli("report", tmp_path / "nowhere")
    assert missing.returncode == 2 and "nowhere" in missing.stderr


def test_train_compiles_by_default_and_every_compile_setting_gives_the_same_model(
    tmp_path, species_csv
):
    """The default run (training accuracy, the diagnosis Recorder, early stopping) compiles
    the steps the Recorder does not watch; on, auto and off save the same weights."""
    import numpy as np

    import chainrule as cr

    common = ("--target", "species", "--layers", "8", "--epochs", "3", "--no-plots", "--seed", "1")
    weights = {}
    for mode in ("off", "auto", "on"):
        out = tmp_path / f"{mode}.safetensors"
        args = ("--out", out, "--compile", mode, "--early-stopping", "5")
        result = run_cli("train", species_csv, *common, *args)
        assert result.returncode == 0, result.stderr
        weights[mode] = cr.load(out).state_dict()
        compiled, total = map(
            int, re.search(r"compiled steps\s+(\d+) of (\d+)", result.stdout).groups()
        )
        assert total == 3 * 6  # 192 training rows in batches of 32, 3 epochs
        assert (compiled == 0) == (mode == "off"), result.stdout
        assert "training steps were eager" not in result.stdout
    for mode in ("auto", "on"):
        for name, value in weights["off"].items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(weights[mode][name]))


def test_train_says_why_its_steps_were_eager(tmp_path, species_csv, monkeypatch, capsys):
    """A model that cannot compile under auto trains eagerly and the summary names why."""
    import chainrule.models
    from chainrule import nn
    from chainrule.cli import train_cmd
    from chainrule.cli.main import main

    class Custom(nn.Module):  # not one of chainrule's layers: auto does not trace it
        def forward(self, x):
            return x

    mlp = chainrule.models.mlp
    monkeypatch.setattr(
        chainrule.models, "mlp", lambda *a, **kw: nn.Sequential(mlp(*a, **kw), Custom())
    )
    monkeypatch.setattr(train_cmd, "_save", lambda args, run: None)  # no file for Custom
    out = tmp_path / "m.safetensors"
    args = ["train", species_csv, "--target", "species", "--epochs", "2", "--no-plots"]
    assert main([str(a) for a in [*args, "--out", out]]) == 0
    text = capsys.readouterr().out
    assert re.search(r"compiled steps\s+0 of 12", text)
    assert "training steps were eager: Custom not chainrule's own" in text


@pytest.mark.parametrize("optimizer", ["nadam", "radam", "adamax"])
def test_train_takes_the_newer_adam_variants(tmp_path, optimizer):
    data = write_regression_csv(tmp_path / "reg.csv")
    model = tmp_path / "reg.safetensors"
    result = run_cli(
        "train", data, "--target", "y", "--epochs", "3", "--optimizer", optimizer,
        "--out", model, "--no-plots",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert model.exists()
