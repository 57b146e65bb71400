"""The examples a newcomer runs first reach the accuracy they promise."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# example -> (the line holding the result, the least accuracy in percent)
TARGETS = {
    "xor.py": ("accuracy", 100.0),
    "seed_example.py": ("accuracy", 97.0),
    "moons.py": ("test accuracy", 97.0),
    "digits.py": ("test accuracy", 96.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_example_reaches_its_target(name, tmp_path):
    label, target = TARGETS[name]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    found = re.findall(rf"^{label}: ([0-9.]+)%$", run.stdout, flags=re.MULTILINE)
    assert found, run.stdout
    assert float(found[-1]) >= target, run.stdout
    assert len((EXAMPLES / name).read_text().splitlines()) < 40
    if name == "digits.py":
        assert seconds < 60
        assert (tmp_path / "digits_confusion.png").stat().st_size > 0
    if name == "moons.py":
        assert {p.name for p in tmp_path.iterdir()} == {"moons_boundary.png", "moons_curves.png"}
