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
    # The update shown is one plain SGD step with --lr; the training's optimizer is named.
    assert "one plain gradient-descent step, w − 0.1·∂E/∂w" in result.stderr
    assert re.search(r"trained with (adam|sgd)\b", result.stderr)


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
