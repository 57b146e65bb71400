"""Shared set-up of the benchmark tests: one quick runner pass that several tests read.

Each runner pass starts a fresh Python process per (case, implementation), importing PyTorch
or compiling Numba kernels in each, so a pass costs about ten seconds. The tests that only
read what the runner wrote share one pass instead of starting their own.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def quick_run_without_jax(tmp_path_factory):
    """``python -m benchmarks --quick --cases a,f`` with JAX reported missing.

    Returns ``(exit status, output folder)``. JAX's package name is swapped for one that does
    not exist, so the pass also shows how the runner leaves out an optional peer; the JAX
    column itself is measured by ``test_chainrule_bench_shows_the_jax_column``.
    """
    from benchmarks import runner

    out = tmp_path_factory.mktemp("bench_quick")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "OPTIONAL_IMPLS", {"jax": "no_such_package_for_chainrule"})
        status = runner.main(["--quick", "--cases", "a,f", "--out", str(out), "--quiet"])
    return status, out
