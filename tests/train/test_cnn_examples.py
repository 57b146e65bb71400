"""The CNN examples reach the accuracy docs/cnn.md promises."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, tmp_path) -> str:
    # one BLAS thread: on a busy machine a second thread mostly waits for a core
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def accuracy(stdout: str) -> float:
    found = re.findall(r"^test accuracy: ([0-9.]+)%$", stdout, flags=re.MULTILINE)
    assert found, stdout
    return float(found[-1])


@pytest.mark.slow
def test_cnn_digits_reaches_98_5_percent(tmp_path):
    assert accuracy(run_example("cnn_digits.py", tmp_path)) >= 98.5


def test_examples_are_short_and_credit_the_data():
    for name in ("cnn_digits.py", "lenet_mnist_sample.py"):
        assert len((EXAMPLES / name).read_text().splitlines()) < 45
    assert "CC BY-SA 3.0" in (EXAMPLES / "lenet_mnist_sample.py").read_text()
