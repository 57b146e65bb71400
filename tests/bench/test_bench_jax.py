"""JAX as a benchmark peer: its jitted steps do the same training as the others, and the runner
leaves it out with a note when it is not installed."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import cases, impl_numpy, runner  # noqa: E402


def _losses(impl, case, steps=4):
    params = cases.init_params(case.sizes)
    batches = cases.make_batches(case, n_batches=2)
    step = impl.build_mlp_step(case, params, batches)
    return [float(step(*batches[0])) for _ in range(steps)]


@pytest.mark.parametrize("key", sorted(cases.MLP_CASES))
def test_jax_step_trains_as_numpy_does(key):
    impl_jax = pytest.importorskip("benchmarks.impl_jax", exc_type=ImportError)
    case = cases.MLP_CASES[key]
    ref = _losses(impl_numpy, case)
    np.testing.assert_allclose(_losses(impl_jax, case), ref, rtol=5e-4, atol=1e-6)


def test_jax_digits_reaches_chainrules_accuracy():
    impl_jax = pytest.importorskip("benchmarks.impl_jax", exc_type=ImportError)
    from benchmarks import impl_chainrule

    X, y, _ = cases.load_digits()
    X_train, y_train, X_test, y_test = cases.digits_split(X, y)
    orders = cases.epoch_orders(len(X_train), 3)
    params = cases.init_params((X.shape[1], 64, 10))
    cfg = dict(cases.DIGITS)
    _, acc_cr = impl_chainrule.fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg)
    fit_s, acc_jax = impl_jax.fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg)
    assert fit_s > 0 and abs(acc_cr - acc_jax) <= 0.01


def test_jax_lenet_step_matches_chainrules_losses():
    impl_jax = pytest.importorskip("benchmarks.impl_jax", exc_type=ImportError)
    pytest.importorskip("torch")
    from benchmarks import bench_lenet

    our_step, _, ours, _ = bench_lenet.build()
    jax_step = impl_jax.build_lenet_step(ours.state_dict(), bench_lenet.LR)
    for x, y in bench_lenet.batches(3, seed=1):
        np.testing.assert_allclose(jax_step(x, y), our_step(x, y), rtol=1e-4, atol=1e-5)


def test_runner_skips_a_missing_peer_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "OPTIONAL_IMPLS", {"jax": "no_such_package_for_chainrule"})
    # only chainrule besides the missing peer: the full case runs in the shared pass (conftest)
    monkeypatch.setitem(runner.JOBS, "a", (("chainrule", "jax"), None))
    status = runner.main(["--quick", "--cases", "a", "--out", str(tmp_path), "--quiet"])
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert "jax" not in results["raw"]["a"] and "not installed" in results["skipped"]["jax"]
    text = (tmp_path / "results.md").read_text()
    assert "skipped jax" in text and "| (a) tiny" in text


def test_chainrule_bench_shows_the_jax_column(quick_run):
    pytest.importorskip("jax")
    status, _, out = quick_run  # `chainrule bench --quick --cases a,f`, shared (conftest.py)
    assert status == 0
    assert "| JAX jit |" in out
    row = next(line for line in out.splitlines() if line.startswith("| (a) tiny"))
    jax_cell = row.split("|")[6]
    assert "µs" in jax_cell  # measured, not the "—" of a missing peer
