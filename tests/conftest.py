"""Shared test set-up: a fixed seed for every test, and PyTorch as an optional oracle."""

import os
import sys

import numpy as np
import pytest

import chainrule as cr

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _seed():
    cr.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def torch_or_skip():
    """Import torch, or skip the test with a clear reason (CI always has it)."""
    return pytest.importorskip(
        "torch", reason="PyTorch is the cross-check oracle; pip install torch==2.13.0"
    )


# Suite-wide guard: chainrule's own code must never unpickle, unmarshal, eval or exec
# (see tests/io/pickle_guard.py); any such call fails the test that caused it.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "io"))
from pickle_guard import pickle_guard, pickle_guard_check  # noqa: E402,F401
