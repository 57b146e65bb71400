"""``import chainrule`` keeps freed arrays reusable (glibc malloc thresholds, _allocator.py).

Each check runs in a fresh interpreter: the settings are process-wide and applied at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_GLIBC = sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith(
    "glibc"
)
needs_glibc = pytest.mark.skipif(not _GLIBC, reason="the settings are glibc's")

# Six 1.2 MB arrays made, written and freed, 50 times: the pattern of a training step.
_FAULTS = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    if sys.argv[1] == "chainrule":
        import chainrule
    def step():
        arrays = [np.ones(300_000, dtype=np.float32) for _ in range(6)]
        del arrays
    for _ in range(5):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
    """
)


def _run(code: str, *args: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environment.pop("CHAINRULE_MALLOC", None)
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def _faults_per_step(*args: str, **env: str) -> float:
    return float(_run(_FAULTS, *args, **env))


@needs_glibc
def test_import_stops_the_page_faults_of_a_repeated_step():
    with_chainrule = _faults_per_step("chainrule")
    numpy_alone = _faults_per_step("numpy")
    # glibc alone gives the 7 MB back and faults it in again (about 1,700 pages a step here)
    assert numpy_alone > 100, numpy_alone
    assert with_chainrule < 5, with_chainrule


@needs_glibc
def test_the_opt_out_and_user_settings_leave_malloc_alone():
    assert _faults_per_step("chainrule", CHAINRULE_MALLOC="system") > 100
    status = "import chainrule._allocator as a; print(a.status())"
    assert "CHAINRULE_MALLOC=system" in _run(status, CHAINRULE_MALLOC="system")
    tuned = _run(status, MALLOC_TRIM_THRESHOLD_="1000000")
    assert "'applied': False" in tuned and "MALLOC_TRIM_THRESHOLD_" in tuned


@needs_glibc
def test_status_reports_the_settings_in_effect():
    out = _run("import chainrule, chainrule._allocator as a; print(a.status())")
    assert "'applied': True" in out and "33554432" in out and "67108864" in out
