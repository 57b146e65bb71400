"""Smoke test of benchmarks/bench_gemm_swap.py: both routes run and agree, the tables print,
and the steps restore the route the machine chose."""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_gemm_swap  # noqa: E402

from chainrule import _gemm  # noqa: E402


def test_the_grid_compares_both_routes(monkeypatch, capsys):
    monkeypatch.setattr(bench_gemm_swap, "GRID_ROWS", (1, 8))
    monkeypatch.setattr(bench_gemm_swap, "GRID_COLUMNS", (256,))
    monkeypatch.setattr(bench_gemm_swap, "GRID_INNER", (64,))
    rows = bench_gemm_swap.grid(threads=1, rounds=2)
    assert [(m, n, k) for m, n, k, _, _ in rows] == [(1, 256, 64), (8, 256, 64)]
    assert all(ratio > 0 and np.isfinite(ratio) for _, _, _, ratio, _ in rows)
    bench_gemm_swap.print_grid(rows)
    printed = capsys.readouterr().out
    assert "m =    8" in printed and "of 2" in printed


def test_the_steps_time_both_routes_and_restore_the_choice(monkeypatch, capsys):
    monkeypatch.setattr(bench_gemm_swap, "STEP_BATCHES", (8,))
    chosen = _gemm._SWAP[0]
    (result,) = bench_gemm_swap.steps(threads=1, rounds=3, n_steps=2)
    assert _gemm._SWAP[0] == chosen
    assert result["batch"] == 8
    assert min(result["on_us"], result["off_us"], result["numpy_us"]) > 0
    bench_gemm_swap.print_steps([result])
    assert capsys.readouterr().out.splitlines()[1].startswith("    8 |")
