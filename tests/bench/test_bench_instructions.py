"""benchmarks/instructions.py: parsing valgrind's and callgrind_annotate's output, and its
refusals (the counting itself needs valgrind and a minute a case: run by hand)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import instructions  # noqa: E402

ANNOTATE = """\
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
3,357,498,801 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                      file:function
--------------------------------------------------------------------------------
1,682,514,130 (50.11%)  ???:sgemm_kernel_HASWELL [/venv/numpy.libs/libscipy_openblas64_.so]
   57,213,494 ( 1.70%)  /tmp/Py/ceval.c:_PyEval_EvalFrameDefault'2 [/lib/libpy.so]
    7,930,579 ( 0.24%)  ./string/memset.S:__memset_avx2_unaligned_erms [/lib/libc.so.6]
        1,000 ( 0.00%)  ???:sgemm_kernel_HASWELL [/other/copy/libopenblas.so]
"""


def test_functions_are_read_with_their_counts_and_without_source_paths():
    counts = instructions.parse_functions(ANNOTATE)
    assert counts == {
        "???:sgemm_kernel_HASWELL": 1_682_515_130,  # two libraries' rows of one name add up
        "_PyEval_EvalFrameDefault'2": 57_213_494,
        "__memset_avx2_unaligned_erms": 7_930_579,
    }


def test_the_total_is_read_from_valgrinds_exit_line():
    stderr = "==6216== Events    : Ir\n==6216== Collected : 1,420,339,456\n==6216==\n"
    assert instructions.parse_total(stderr) == 1_420_339_456
    with pytest.raises(RuntimeError, match="no instruction total"):
        instructions.parse_total("valgrind: command not found")


def test_without_valgrind_it_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(instructions.shutil, "which", lambda tool: None)
    with pytest.raises(SystemExit):
        instructions.main(["--case", "c"])
    assert "install valgrind" in capsys.readouterr().err


def test_diff_needs_two_of_the_measured_implementations(monkeypatch, capsys):
    monkeypatch.setattr(instructions.shutil, "which", lambda tool: "/usr/bin/" + tool)
    with pytest.raises(SystemExit):
        instructions.main(["--impls", "chainrule,numpy", "--diff", "chainrule,torch"])
    assert "--diff takes two of the --impls" in capsys.readouterr().err
