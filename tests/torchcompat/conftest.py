"""Shared fixtures of the PyTorch-compatibility tests: each tutorial script runs once per
backend (chainrule via ``install_as_torch``, then the real PyTorch), in two subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tutorial_list import TUTORIALS

HERE = Path(__file__).parent
SRC = HERE.parent.parent / "src"


def run_backend(backend: str, names: list[str]) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["PYTHONWARNINGS"] = "ignore"
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run(
        [sys.executable, str(HERE / "run_scripts.py"), backend, *names],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULTS "):
            return json.loads(line[len("RESULTS ") :])
    raise RuntimeError(f"{backend} runner failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


@pytest.fixture(scope="session")
def chainrule_results() -> dict:
    return run_backend("chainrule", TUTORIALS)


@pytest.fixture(scope="session")
def torch_results() -> dict:
    pytest.importorskip("torch")
    return run_backend("torch", TUTORIALS)
