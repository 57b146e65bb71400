"""Shared test set-up: a fixed seed for every test, PyTorch as an optional oracle, and a
runner for the docs pages' Python examples."""

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

os.environ.setdefault("MPLBACKEND", "Agg")

# The test command runs one pytest-xdist worker per core: each worker keeps to one BLAS thread
# and one PyTorch thread (two workers each spinning two BLAS threads on two cores run slower
# than one). Tests that need more threads raise the limit inside `threadpool_limits(n)`.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read when PyTorch is first imported
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the test extra
        pass
    else:
        threadpool_limits(1)  # NumPy's OpenBLAS is loaded already: limit it now


@pytest.fixture(autouse=True)
def _seed():
    cr.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture
def run_doc_page(tmp_path, monkeypatch):
    """``run(page, shared=True)``: every ```python block of ``docs/page`` runs as written, in
    ``tmp_path`` (the examples write their files into the working directory); ``shared``: one
    namespace for the page (later blocks use earlier ones' names), else one per block."""

    def run(page: str, shared: bool = True) -> None:
        text = (DOCS / page).read_text(encoding="utf-8")
        blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
        assert blocks, f"docs/{page} has no Python examples"
        monkeypatch.chdir(tmp_path)
        namespace = {"__name__": f"docs_{page}"}
        for i, code in enumerate(blocks):
            if not shared:
                namespace = {"__name__": f"docs_{page}_{i}"}
            exec(compile(code, f"docs/{page} block {i + 1}", "exec"), namespace)

    return run


def torch_or_skip():
    """Import torch, or skip the test with a clear reason (CI always has it)."""
    return pytest.importorskip(
        "torch", reason="PyTorch is the cross-check oracle; pip install torch==2.13.0"
    )


# Suite-wide guard: chainrule's own code must never unpickle, unmarshal, eval or exec
# (see tests/io/pickle_guard.py); any such call fails the test that caused it.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "io"))
from pickle_guard import pickle_guard, pickle_guard_check  # noqa: E402,F401
