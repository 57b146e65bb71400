"""Ctrl-C during ``chainrule train`` and a reader that closes the pipe early: a clear line
saying what was kept and how to go on, never a traceback."""

import os
import signal
import subprocess
import sys
import time

from cli_helpers import run_cli

from chainrule.cli.main import main


def _train_until(tmp_path, epochs_seen: int, *extra):
    """Start a long `chainrule train`, wait for ``epochs_seen`` epoch lines, send SIGINT."""
    args = ["train", "--dataset", "digits", "--epochs", "500", "--no-plots", "--no-diagnose"]
    args += ["--out", str(tmp_path / "m.safetensors"), *extra]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainrule", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
        # Python installs its Ctrl-C handler only where SIGINT is not ignored (a background
        # job of a shell ignores it): restore the default, as a terminal has it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen, deadline = 0, time.monotonic() + 120
    while seen < epochs_seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line.startswith("epoch ")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_ctrl_c_with_a_checkpoint_says_how_to_resume(tmp_path):
    """Before: 'chainrule: interrupted' alone, not saying that the backup is there."""
    run = tmp_path / "run"
    code, err = _train_until(tmp_path, 2, "--checkpoint-dir", str(run))
    assert code == 130
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("chainrule train: interrupted; stopped after ")
    assert "no model file was written" in err and "--resume" in err and str(run) in err
    assert (run / "backup.safetensors").is_file() and not (tmp_path / "m.safetensors").exists()


def test_ctrl_c_without_a_checkpoint_names_the_flag_that_makes_runs_resumable(tmp_path):
    code, err = _train_until(tmp_path, 1)
    assert code == 130 and len(err.strip().splitlines()) == 1
    assert "no model file was written" in err and "--checkpoint-dir" in err


def test_a_closed_pipe_is_not_an_error(monkeypatch, capsys):
    """`chainrule gradcheck | head -1` printed 'error: [Errno 32] Broken pipe' (exit 2)."""
    import chainrule.cli.gradcheck_cmd as gradcheck_cmd

    def reader_went_away(args):
        print("first line")
        raise BrokenPipeError(32, "Broken pipe")  # what print raises once `head` has exited

    monkeypatch.setattr(gradcheck_cmd, "run", reader_went_away)
    assert main(["gradcheck"]) == 141
    assert capsys.readouterr().err == ""


def test_interrupt_before_training_is_still_one_line(tmp_path, capsys, monkeypatch):
    import chainrule.cli.train_cmd as train_cmd

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd, "_prepare", interrupted)
    assert main(["train", "--dataset", "xor", "--out", str(tmp_path / "m.safetensors")]) == 130
    assert capsys.readouterr().err == "chainrule train: interrupted\n"
    assert run_cli("--version").returncode == 0
