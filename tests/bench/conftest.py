"""Shared set-up of the benchmark tests: one quick runner pass that several tests read.

Each runner pass starts a fresh Python process per (case, implementation), importing PyTorch
or JAX or compiling Numba kernels in each, so a full pass costs ten seconds or more. The tests
that only read what the runner wrote and printed share one pass instead of starting their own.
"""

import contextlib
import io
import sys
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``chainrule bench --quick --cases a,f``: returns (exit status, output folder, stdout).

    Every implementation of the two cases runs, JAX included where it is installed.
    """
    from chainrule.cli import bench_cmd

    out = tmp_path_factory.mktemp("bench_quick")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = bench_cmd.run(
            Namespace(rest=["--quick", "--cases", "a,f", "--out", str(out), "--quiet"])
        )
    return status, out, printed.getvalue()
