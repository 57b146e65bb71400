"""The command line's promises: help, version, demo, exit codes, one-line errors."""

import re

import pytest
from cli_helpers import run_cli

import chainrule as cr

COMMANDS = [
    "demo",
    "train",
    "predict",
    "evaluate",
    "info",
    "inspect",
    "explain",
    "gradcheck",
    "bench",
    "playground",
    "report",
]


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"chainrule {cr.__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "examples:" in result.stdout and "chainrule " + command in result.stdout


def test_no_command_prints_help_and_exits_2():
    result = run_cli()
    assert result.returncode == 2 and "COMMAND" in result.stdout


def test_demo_explains_then_trains_and_the_loss_falls(tmp_path):
    result = run_cli("demo", "--epochs", "8", "--out", tmp_path / "plots")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The walkthrough comes first: forward pass, loss, chain rule, update.
    for word in ("forward", "loss", "∂", "update"):
        assert word.lower() in out.lower(), word
    first, last = map(float, re.search(r"first ([\d.]+) -> last ([\d.]+)", out).groups())
    assert last < first
    accuracy = float(re.search(r"final accuracy: ([\d.]+)%", out).group(1))
    assert accuracy >= 90.0
    for name in ("loss.png", "decision_boundary.png"):
        path = tmp_path / "plots" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(path) in out


def test_demo_options_change_the_network(tmp_path):
    result = run_cli(
        "demo",
        "--epochs",
        "2",
        "--hidden",
        "3",
        "--activation",
        "tanh",
        "--no-plots",
        "--no-explain",
        "--lr",
        "0.1",
        "--seed",
        "4",
    )
    assert result.returncode == 0, result.stderr
    assert "Linear(in_features=2, out_features=3, bias=True)" in result.stdout
    assert "Tanh()" in result.stdout
    assert not list(tmp_path.iterdir())


def test_bad_argument_is_one_line_exit_2():
    result = run_cli("demo", "--epochs", "-3")
    assert result.returncode == 2
    assert "must be a positive integer" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # argparse printed its usage first


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--epochs", "many"], "--epochs: must be a positive integer, got 'many'"),
        (["train", "--lr", "fast"], "--lr: must be a positive number, got 'fast'"),
        (["train", "--validation-split", "x"], "must be a number in [0, 1), got 'x'"),
        (["explain", "--row", "x"], "--row: must be a whole number, 0 or more, got 'x'"),
        (["train", "--activation", "nope"], "invalid choice: 'nope'"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_argparse_errors_are_one_line_naming_the_rule(args, message, capsys):
    """Before: 20 lines of usage, then 'invalid positive_int value' (a function's name)."""
    from chainrule.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and "positive_int" not in err
    assert len(err.strip().splitlines()) == 1 and "--help" in err


def test_a_bad_number_in_a_config_file_names_the_rule(tmp_path, capsys):
    from chainrule.cli.main import main

    config = tmp_path / "run.toml"
    config.write_text('epochs = "many"\n')
    assert main(["train", "--dataset", "xor", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "option 'epochs': must be a positive integer, got 'many'" in err


def test_missing_file_is_one_line_exit_2(tmp_path):
    result = run_cli("train", tmp_path / "nope.csv", "--target", "y")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.csv" in lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "train", tmp_path / "nope.csv", "--target", "y")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_gradcheck_table_passes_for_every_builtin_op():
    result = run_cli("gradcheck")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"(\d+) ops passed, 0 failed", result.stdout)
    for op in ("sigmoid", "cross_entropy", "matmul", "linear", "logsumexp"):
        assert re.search(rf"^{re.escape(op)}\s+\S+\s+\S+\s+pass$", result.stdout, re.M), op


def test_gradcheck_unknown_op_is_an_error():
    result = run_cli("gradcheck", "--ops", "frobnicate")
    assert result.returncode == 2 and "frobnicate" in result.stderr


def test_bench_passes_its_options_to_the_suite():
    result = run_cli("bench", "--no-such-option")
    assert result.returncode == 2
    assert "benchmarks" in result.stderr and "--no-such-option" in result.stderr


def test_unknown_option_of_another_command_is_an_error():
    result = run_cli("demo", "--no-such-option")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr
