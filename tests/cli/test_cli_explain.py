"""``chainrule explain`` and terminal behaviour (colour, NO_COLOR)."""

import json
import os
import pty
import re
import subprocess
import sys

from cli_helpers import run_cli, write_classification_csv, write_regression_csv


def test_explain_mazur_reproduces_the_published_numbers():
    result = run_cli("explain", "--example", "mazur")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # equations wrap to the width
    assert (
        "∂E/∂w5 = ∂E/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w5 = "
        "0.74136507 × 0.186815602 × 0.593269992 = 0.082167041"
    ) in out
    for number in ("0.593269992", "0.75136507", "0.772928465", "0.298371109", "0.291027774"):
        assert number in out, number


def test_explain_seed_formats(tmp_path):
    result = run_cli(
        "explain", "--example", "seed", "--format", "json", "--out", tmp_path / "seed.json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "seed.json").read_text())
    assert report["parameters"]
    html = run_cli("explain", "--example", "seed", "--format", "html")
    assert html.returncode == 0 and html.stdout.lstrip().lower().startswith("<!doctype html")
    # self-contained: nothing to fetch (an SVG's xmlns is a name, not a download)
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:|url\(\s*[\"']?https?:", html.stdout)
    md = run_cli("explain", "--example", "scalar", "--format", "md")
    assert md.returncode == 0 and "$" in md.stdout


def test_explain_a_saved_model_on_a_data_row(tmp_path):
    data = write_classification_csv(tmp_path / "d.csv", n=60)
    model = tmp_path / "m.safetensors"
    args = ["--layers", "3", "--activation", "tanh", "--epochs", "2", "--no-plots"]
    trained = run_cli("train", data, "--target", "species", *args, "--out", model)
    assert trained.returncode == 0, trained.stderr
    result = run_cli("explain", model, "--data", data, "--row", "3", "--param", "0.weight[0, 1]")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # equations wrap to the width
    assert re.search(r"∂E/∂0\.weight\[0, 1\] = .* = -?[\d.]+", text)
    bad = run_cli("explain", model, "--data", data, "--param", "9.weight[0, 0]")
    assert bad.returncode == 2 and "valid names" in bad.stderr
    far = run_cli("explain", model, "--data", data, "--row", "999")
    assert far.returncode == 2 and "out of range" in far.stderr
    neither = run_cli("explain")
    assert neither.returncode == 2 and "--example" in neither.stderr
    # The report shows the network's target (a class index); a note names the class.
    row3 = data.read_text().splitlines()[4].split(",")[-1]
    assert "the target t = " in result.stderr and f"is class {row3!r}" in result.stderr
    # ... and so does the report itself, beside the index (was the bare index 0 or 1)
    assert re.search(rf"z2\[0\] -?[\d.]+ [01] \({row3}\)", text), text
    # The update shown is the next step of the training's own optimizer, saved with the model
    assert "plain gradient-descent step" not in result.stderr
    assert re.search(r"One step of your optimizer, (Adam|SGD)\(lr=", text)


def _train_with(tmp_path, optimizer):
    data = write_classification_csv(tmp_path / "d.csv", n=60)
    model = tmp_path / "m.safetensors"
    args = ["--layers", "3", "--epochs", "2", "--no-plots", "--optimizer", optimizer]
    trained = run_cli("train", data, "--target", "species", *args, "--out", model)
    assert trained.returncode == 0, trained.stderr
    return data, model


def test_explain_a_saved_model_shows_the_next_step_of_its_training_optimizer(tmp_path):
    """The file keeps the optimizer (Adam: its step count and moments); the update section is
    the step PyTorch's Adam takes from that state with the report's gradients."""
    import numpy as np
    import pytest
    from safetensors.numpy import load_file

    torch = pytest.importorskip("torch")
    import chainrule as cr

    data, model = _train_with(tmp_path, "adam")
    result = run_cli("explain", model, "--data", data, "--row", "5", "--format", "json")
    assert result.returncode == 0, result.stderr
    update = json.loads(result.stdout)["update"]
    assert update["optimizer"].startswith("Adam(lr=0.01, betas=(0.9, 0.999)")
    # 2 epochs of 2 batches (48 training rows after the 20% validation split, batches of 32)
    assert "after 4 steps of its own" in update["optimizer"]
    saved = cr.io.load_optimizer(model, cr.load(model)).state_dict()
    weights = load_file(str(model))
    names = [p["name"] for p in update["parameters"]]
    params = [torch.tensor(weights[n], dtype=torch.float64, requires_grad=True) for n in names]
    adam = torch.optim.Adam(params, lr=0.01)
    adam.load_state_dict(
        {
            "state": {
                i: {
                    "step": torch.tensor(float(s["step"])),
                    "exp_avg": torch.tensor(s["exp_avg"], dtype=torch.float64),
                    "exp_avg_sq": torch.tensor(s["exp_avg_sq"], dtype=torch.float64),
                }
                for i, s in saved["state"].items()
            },
            "param_groups": [{**adam.state_dict()["param_groups"][0]}],
        }
    )
    for p, row in zip(params, update["parameters"]):
        p.grad = torch.tensor(np.array(row["grad"], dtype=np.float64))
    adam.step()
    for p, row in zip(params, update["parameters"]):
        np.testing.assert_allclose(np.array(row["new"]), p.detach().numpy(), rtol=0, atol=1e-7)
    info = run_cli("info", model)
    assert info.returncode == 0 and "Adam, its state after 4 steps" in info.stdout
    plain = run_cli("explain", model, "--data", data, "--lr", "0.5")
    assert plain.returncode == 0, plain.stderr
    assert "one plain gradient-descent step, w − 0.5·∂E/∂w" in plain.stderr
    assert "leave out --lr to see the next step of the optimizer saved" in plain.stderr


def test_explain_a_model_file_saved_without_its_optimizer_shows_a_plain_step(tmp_path):
    """A file from before the optimizer was kept (re-saved here without it, as every earlier
    version wrote it) still explains, with plain gradient descent and a note saying why."""
    import chainrule as cr

    data, model = _train_with(tmp_path, "sgd")
    loaded = cr.load(model)
    old = tmp_path / "old.safetensors"
    cr.save(loaded, old, metadata=loaded.metadata)
    result = run_cli("explain", old, "--data", data, "--row", "3")
    assert result.returncode == 0, result.stderr
    assert "one plain gradient-descent step, w − 0.1·∂E/∂w" in result.stderr
    assert "trained with sgd, lr 0.1 and momentum 0.9" in result.stderr
    assert "keeps no optimizer state" in result.stderr
    assert "not in the file" in run_cli("info", old).stdout
    text = " ".join(result.stdout.split())
    assert "One step of plain gradient descent" in text


def test_explain_a_regression_model_says_its_target_is_standardised(tmp_path):
    """The report's target and loss are on the standardised scale, with nothing saying so:
    t = 0.32 for a CSV value of 11.8."""
    data = write_regression_csv(tmp_path / "r.csv")
    model = tmp_path / "r.safetensors"
    trained = run_cli("train", data, "--target", "y", "--epochs", "1", "--no-plots", "--out", model)
    assert trained.returncode == 0, trained.stderr
    result = run_cli("explain", model, "--data", data, "--row", "0", "--format", "json")
    assert result.returncode == 0, result.stderr
    raw = float(data.read_text().splitlines()[1].split(",")[-1])
    note = re.search(r"'y' is standardised as in training: t = \(([-\d.]+) − ", result.stderr)
    assert (
        note
        and abs(float(note.group(1)) - raw) < 1e-3
        and "loss are on that scale" in result.stderr
    )
    json.loads(result.stdout)  # the note stays off stdout, which holds the report alone


def test_a_negative_target_mean_is_written_in_parentheses(tmp_path):
    # before: "t = (-41.2 − -50.3) / 5.1": a minus sign beside a minus sign
    data = tmp_path / "neg.csv"
    rows = "".join(f"{i % 9},{-50 + (i % 9) * 2.5 + (i % 4) * 0.1:.1f}\n" for i in range(60))
    data.write_text("x,y\n" + rows)
    model = tmp_path / "neg.safetensors"
    trained = run_cli("train", data, "--target", "y", "--epochs", "1", "--no-plots", "--out", model)
    assert trained.returncode == 0, trained.stderr
    result = run_cli("explain", model, "--data", data, "--row", "0", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert re.search(r"t = \(-50 − \(-4\d\.\d+\)\) / ", result.stderr), result.stderr


def _run_in_terminal(args, env_extra):
    """Run the command with its stdout on a pseudo-terminal; returns what it printed."""
    main, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120", **env_extra})
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainrule", *args],
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


_COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9](;[0-9]+)*m|\x1b\[[0-9;]*38;")


def test_terminal_gets_colour_and_no_color_turns_it_off():
    args = ["explain", "--example", "seed"]
    coloured = _run_in_terminal(args, {})
    plain = _run_in_terminal(args, {"NO_COLOR": "1"})
    assert "0." in plain and "∂E/∂" in plain
    assert _COLOUR.search(coloured)
    assert not _COLOUR.search(plain)


def test_piped_output_is_plain_lines():
    result = run_cli("demo", "--epochs", "2", "--no-plots", "--no-explain")
    assert "\x1b[" not in result.stdout
    assert re.search(r"^Epoch 1/2 .*loss: [\d.]+", result.stdout, re.M)


def test_explain_says_which_column_each_input_is(tmp_path):
    # the report read x[0] = -1.839, x[2] = 1 with no word of income, or of colour=blue
    rows = ["income;colour;bought"]
    for i in range(40):
        income, colour = 500 + 97 * i, "red blue green".split()[i % 3]
        rows.append(f"{income},5;{colour};{'yes' if i % 2 else 'no'}")
    data = tmp_path / "shop.csv"
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    args = ["--target", "bought", "--epochs", "2", "--no-plots", "--out", model]
    assert run_cli("train", data, *args).returncode == 0
    result = run_cli("explain", model, "--data", data, "--line", "5")
    assert result.returncode == 0, result.stderr
    from chainrule.cli.model_cmds import load_model
    from chainrule.data import Preprocessor

    pre = Preprocessor.from_dict(load_model(str(model))[1]["preprocessing"])
    k = pre.feature_names.index("income")
    mean, std = float(pre.mean[k]), float(pre.std[k])  # the training split's statistics
    # line 5 is the fourth row: income 791,5, colour red
    match = re.search(
        r"x\[0\] = \(791\.5 − ([\d.]+)\) / ([\d.]+) = (-?[\d.]+): 'income'", result.stderr
    )
    assert match, result.stderr
    printed = [float(match[n]) for n in (1, 2, 3)]  # six significant digits
    expected = [mean, std, (791.5 - mean) / std]
    assert all(abs(p - e) <= 1e-5 * abs(e) for p, e in zip(printed, expected)), printed
    assert re.search(r"x\[\d\] = 1: colour=red \(1 where 'colour' is 'red'\)", result.stderr)
    assert len(re.findall(r"x\[\d\] = 0: colour=", result.stderr)) == 2


def test_explain_rows_without_the_target_column_explains_the_prediction(tmp_path):
    # an unlabelled CSV (the rows 'chainrule predict' reads) was refused: no target column
    data = write_classification_csv(tmp_path / "d.csv", n=60)
    model = tmp_path / "m.safetensors"
    args = ["--layers", "3", "--epochs", "2", "--no-plots"]
    assert run_cli("train", data, "--target", "species", *args, "--out", model).returncode == 0
    rows = [line.rsplit(",", 1)[0] for line in data.read_text().splitlines()[:4]]
    unlabelled = tmp_path / "new.csv"
    unlabelled.write_text("\n".join(rows) + "\n")
    result = run_cli("explain", model, "--data", unlabelled, "--row", "2", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "no target column 'species'" in result.stderr
    report = json.loads(result.stdout)
    assert report["loss"]["formula"] == "E = o"  # two classes: the one logit itself
    assert report["loss"]["value"] == report["output"][0][0]
    assert "the logit of class" in " ".join(report["notes"])
    labelled = run_cli("explain", model, "--data", data, "--row", "1", "--prediction")
    assert labelled.returncode == 0 and "E = o" in labelled.stdout, labelled.stderr


def test_explain_a_labelled_file_with_an_unusable_target_value_says_so(tmp_path):
    # before: a missing target or an unseen label on any row made explain claim "d.csv has
    # no target column 'y'" and explain row 0's prediction instead of its loss, without a word
    data = write_regression_csv(tmp_path / "r.csv", n=60)
    model = tmp_path / "r.safetensors"
    trained = run_cli("train", data, "--target", "y", "--epochs", "1", "--no-plots", "--out", model)
    assert trained.returncode == 0, trained.stderr
    lines = data.read_text().splitlines()
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join([*lines[:3], lines[3].rsplit(",", 1)[0] + ",", *lines[4:]]) + "\n")
    result = run_cli("explain", model, "--data", gap, "--row", "0")
    assert result.returncode == 2 and "no target column" not in result.stderr
    assert "line 4, column 3 ('y'): missing target value" in result.stderr
    assert "--drop-missing-target" in result.stderr and "--prediction" in result.stderr
    dropped = run_cli("explain", model, "--data", gap, "--row", "0", "--drop-missing-target")
    assert dropped.returncode == 0, dropped.stderr
    assert "'y' is standardised as in training" in dropped.stderr
    assert "left out (--drop-missing-target): line(s) 4" in dropped.stderr
    alone = run_cli("explain", model, "--data", gap, "--row", "2", "--prediction")
    assert alone.returncode == 0 and "E = o" in alone.stdout, alone.stderr


def test_explain_a_label_training_never_saw_is_an_error_not_a_prediction(tmp_path):
    data = write_classification_csv(tmp_path / "d.csv", n=60)
    model = tmp_path / "m.safetensors"
    args = ["--layers", "3", "--epochs", "1", "--no-plots"]
    assert run_cli("train", data, "--target", "species", *args, "--out", model).returncode == 0
    lines = data.read_text().splitlines()
    odd = tmp_path / "odd.csv"
    odd.write_text("\n".join([*lines[:5], lines[5].rsplit(",", 1)[0] + ",unicorn"]) + "\n")
    result = run_cli("explain", model, "--data", odd, "--row", "0")
    assert result.returncode == 2 and "no target column" not in result.stderr
    assert "label 'unicorn' was not seen in training" in result.stderr


def test_explain_input_note_escapes_a_line_break_in_a_category(tmp_path):
    # a quoted cell "New\nYork" printed its line break raw, splitting the note's line in two
    rows = ["size,city,bought"]
    for i in range(40):
        city = ["Paris", '"New\nYork"'][i % 2]
        rows.append(f"{i},{city},{'yes' if i % 3 else 'no'}")
    data = tmp_path / "shop.csv"
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    args = ["--target", "bought", "--epochs", "1", "--no-plots", "--out", model]
    assert run_cli("train", data, *args).returncode == 0
    result = run_cli("explain", model, "--data", data, "--row", "1")
    assert result.returncode == 0, result.stderr
    assert "city=New\\nYork (1 where 'city' is 'New\\nYork')" in result.stderr
    assert not any(line.startswith("York") for line in result.stderr.splitlines())


def test_explain_input_note_names_a_column_whose_name_holds_an_equals_sign(tmp_path):
    # the one-hot input 'kind=2=p' was split at its first '=': "1 where 'kind' is '2=p'"
    rows = ["a=b,kind=2,bought"]
    for i in range(40):
        rows.append(f"{i % 7},{['p', 'q=1'][i % 2]},{'yes' if i % 3 else 'no'}")
    data = tmp_path / "shop.csv"
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    args = ["--target", "bought", "--epochs", "1", "--no-plots", "--out", model]
    assert run_cli("train", data, *args).returncode == 0
    result = run_cli("explain", model, "--data", data, "--row", "1")
    assert result.returncode == 0, result.stderr
    assert "x[1] = 0: kind=2=p (1 where 'kind=2' is 'p')" in result.stderr
    assert "x[2] = 1: kind=2=q=1 (1 where 'kind=2' is 'q=1')" in result.stderr
    assert re.search(r"x\[0\] = \(1 − [\d.]+\) / [\d.]+ = -?[\d.]+: 'a=b'", result.stderr)
