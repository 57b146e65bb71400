"""Shared fixtures of the PyTorch-compatibility tests: each tutorial script runs once per
backend (chainrule via ``install_as_torch``, then the real PyTorch), in two subprocesses."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tutorial_list import TUTORIALS

HERE = Path(__file__).parent
SRC = HERE.parent.parent / "src"


def _start(backend: str, names: list[str]) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["PYTHONWARNINGS"] = "ignore"
    env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.Popen(
        [sys.executable, str(HERE / "run_scripts.py"), backend, *names],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _collect(backend: str, proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=600)
    for line in stdout.splitlines():
        if line.startswith("RESULTS "):
            return json.loads(line[len("RESULTS ") :])
    raise RuntimeError(f"{backend} runner failed:\n{stdout[-2000:]}\n{stderr[-4000:]}")


@pytest.fixture(scope="session")
def _runs():
    """Both backends' runs, started together (two processes) and collected when needed."""
    runs = {"chainrule": _start("chainrule", TUTORIALS)}
    if importlib.util.find_spec("torch") is not None:
        runs["torch"] = _start("torch", TUTORIALS)
    yield runs
    for proc in runs.values():  # a run no test collected: stop it and close its pipes
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.fixture(scope="session")
def chainrule_results(_runs) -> dict:
    return _collect("chainrule", _runs["chainrule"])


@pytest.fixture(scope="session")
def torch_results(_runs) -> dict:
    if "torch" not in _runs:
        pytest.skip("torch is not installed")
    return _collect("torch", _runs["torch"])
