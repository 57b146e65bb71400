"""Smoke test of the LeNet-5 benchmark: both libraries do the same arithmetic, the per-layer
table and the runner's worker job run, and the runner summarises the case."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("torch")
from benchmarks import bench_lenet, runner  # noqa: E402


def test_lenet_steps_agree_with_torch_and_every_part_runs():
    pairs = bench_lenet.check_same_arithmetic(steps=3)
    assert len(pairs) == 3 and pairs[0][0] > 2.0  # ten classes: the first loss is about ln 10
    rows = bench_lenet.per_layer(rounds=1, repeats=1)
    assert [r["layer"].split(":")[1].split("(")[0].strip() for r in rows][:3] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
    ]
    assert all(r["cr_fb"] > 0 and r["torch_fb"] > 0 for r in rows)
    result = bench_lenet.worker_job("chainrule", seconds=0.05)
    assert result["median_s"] > 0 and result["peak_rss_mb"] > 0
    raw = {"lenet": {"chainrule": [result], "torch": [bench_lenet.worker_job("torch", 0.05)]}}
    summary = runner.summarize(raw)["lenet"]
    assert summary["vs_torch"] > 0
