"""Smoke test of the recurrent-layer benchmark: the three implementations (one op per layer,
op by op, PyTorch) train the same network from the same weights to the same losses, and one
round of each runs."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("torch")
from benchmarks import bench_recurrent  # noqa: E402


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_three_implementations_train_alike(kind):
    impls = bench_recurrent.implementations(kind, layers=2, bidirectional=True)
    assert set(impls) == {"chainrule", "op by op", "torch"}
    losses = {name: [step() for _ in range(3)] for name, step in impls.items()}
    for name in ("chainrule", "op by op"):
        assert losses[name] == pytest.approx(losses["torch"], rel=1e-4, abs=1e-5), name
    assert losses["torch"][2] < losses["torch"][0]  # it trains


def test_one_round_reports_a_ratio():
    result = bench_recurrent.measure("GRU", rounds=1, steps=1, layers=1, bidirectional=False)
    assert set(result["ms"]) == {"chainrule", "op by op", "torch"}
    assert result["ratio"] > 0 and result["fused_gain"] > 0
