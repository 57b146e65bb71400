"""Shared test set-up: a fixed seed for every test, and PyTorch as an optional oracle."""

import os

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
