"""Smoke tests of the benchmark suite: the implementations agree, and the runner runs.

The benchmark's ratios only mean something if chainrule, PyTorch and the hand-written NumPy
step do the same arithmetic, so the first tests train each case for a few steps from the same
weights on the same batches and compare the losses.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import cases, impl_chainrule, impl_compiled, impl_numpy  # noqa: E402

torch = pytest.importorskip("torch")
from benchmarks import impl_torch  # noqa: E402


def _losses(impl, case, steps=4):
    params = cases.init_params(case.sizes)
    batches = cases.make_batches(case, n_batches=2)
    step = impl.build_mlp_step(case, params, batches)
    return [step(*batches[0]).item() for _ in range(steps)]  # one batch: loss must fall


@pytest.mark.parametrize("key", sorted(cases.MLP_CASES))
def test_bench_implementations_compute_the_same_training(key):
    case = cases.MLP_CASES[key]
    ref = _losses(impl_numpy, case)
    assert ref[-1] < ref[0]
    np.testing.assert_allclose(_losses(impl_torch, case), ref, rtol=2e-4, atol=1e-6)
    losses = _losses(impl_chainrule, case)
    np.testing.assert_allclose(losses, ref, rtol=2e-4, atol=1e-6)
    # cr.compile's NumPy tier runs the very same arithmetic: identical losses (now for the
    # class-index cases too); the default tier (Numba's kernel where installed) agrees to
    # rounding (docs/compile.md)
    impl_compiled.BACKEND = "numpy"
    try:
        assert _losses(impl_compiled, case) == losses
    finally:
        impl_compiled.BACKEND = "auto"
    np.testing.assert_allclose(_losses(impl_compiled, case), losses, rtol=1e-4, atol=1e-6)


def _array(value):
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def test_bench_per_op_chains_agree():
    results = {}
    for impl in (impl_numpy, impl_torch, impl_chainrule):
        fns = impl.build_per_op(chain=5, size=4)
        results[impl.name] = [_array(fns[mode]()) for mode in fns]
    for name in ("torch", "chainrule"):
        np.testing.assert_allclose(results[name][0], results["numpy"][0], rtol=1e-6)
        np.testing.assert_allclose(results[name][1], results["numpy"][0], rtol=1e-6)
        np.testing.assert_allclose(results[name][2], results["numpy"][0], rtol=1e-6)


def test_bench_per_op_compiled_chain_is_the_same_arithmetic():
    from benchmarks import impl_compiled

    expected = _array(impl_numpy.build_per_op(chain=5, size=4)["forward"]())
    step = impl_compiled.build_per_op(chain=5, size=4)["forward_backward"]
    for _ in range(3):  # the first call records, the later ones run the generated code
        np.testing.assert_allclose(_array(step()), expected.sum(), rtol=1e-6)


def test_bench_digits_same_start_same_accuracy():
    X, y, _ = cases.load_digits()
    X_train, y_train, X_test, y_test = cases.digits_split(X, y)
    orders = cases.epoch_orders(len(X_train), 3)
    params = cases.init_params((X.shape[1], 64, 10))
    cfg = dict(cases.DIGITS)
    _, acc_cr = impl_chainrule.fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg)
    _, acc_torch = impl_torch.fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg)
    assert abs(acc_cr - acc_torch) <= 0.01
    assert acc_cr > 0.5  # 3 epochs of Adam already beat chance (0.1) by far


def test_bench_runner_quick_writes_results(quick_run):
    status, out, _ = quick_run  # `chainrule bench --quick --cases a,f`, shared (conftest.py)
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["summary"]
    assert summary["a"]["vs_torch"] > 0 and summary["a"]["vs_numpy"] > 0
    assert summary["f"]["chainrule"]["forward_backward"] > 0
    assert "| (a) tiny" in (out / "results.md").read_text()


def test_bench_profile_breakdown_adds_up():
    from benchmarks.profile import breakdown

    # The phases timed directly are positive; the sub-phases are differences of two timings, and
    # on a busy CI machine one alone (topological_order is ~10 µs) can come out below zero. The
    # parts are timed in separate runs, so a neighbour's burst can inflate one run: a split that
    # is really of backward() itself holds in one of three tries, a wrong one in none.
    splits = []
    for _ in range(3):
        parts = breakdown("a", number=100)
        for name in ("step", "forward + loss", "backward()", "optimizer.step()"):
            assert parts[name] > 0, name
        inner = parts["  topological_order"] + parts["  ops' backward methods"]
        splits.append((inner, parts["backward()"]))
        if 0 < inner < parts["backward()"] * 1.5:
            return
    raise AssertionError(f"backward()'s parts exceed it in every try: {splits}")


@pytest.mark.parametrize("impl", [impl_chainrule, impl_compiled], ids=lambda m: m.name)
def test_bench_training_step_leaves_no_reference_cycles(impl):
    """Each step's graph must be freed by reference counting alone: the cycle collector finds
    nothing after many steps (a cycle would make the collector run during training)."""
    import gc

    case = cases.MLP_CASES["b"]
    batches = cases.make_batches(case, n_batches=2)
    step = impl.build_mlp_step(case, cases.init_params(case.sizes), batches)
    step(*batches[0])
    # Earlier tests' garbage (matplotlib figures with finalizers) can take more than one
    # collection to clear; start from a collector with nothing left to find.
    while gc.collect():
        pass
    gc.disable()
    try:
        for i in range(30):
            step(*batches[i % 2])
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_bench_losses_rows_compute_what_pytorch_computes():
    """Every row of the loss and activation table does the same arithmetic in both libraries:
    the same outputs and the same input gradients."""
    from benchmarks import bench_losses

    ours, theirs = bench_losses.calls("chainrule"), bench_losses.calls("torch")
    assert set(ours) == set(bench_losses.LOSSES) | set(bench_losses.ACTIVATIONS)
    for name, by_size in ours.items():
        for size, call in by_size.items():
            out, x = call()
            out_t, x_t = theirs[name][size]()
            np.testing.assert_allclose(
                out.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6
            )
            np.testing.assert_allclose(x.grad_array, x_t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_bench_runner_quick_losses_table(tmp_path):
    from benchmarks import runner

    status = runner.main(["--quick", "--cases", "losses", "--out", str(tmp_path), "--quiet"])
    assert status == 0
    rows = json.loads((tmp_path / "results.json").read_text())["summary"]["losses"]
    names = {r["name"] for r in rows}
    assert {"BCELoss", "NLLLoss", "HuberLoss", "Softmax"} <= names
    assert all(r["chainrule"] > 0 and r["vs_torch"] > 0 for r in rows)
    assert "| BCELoss | 1×1 |" in (tmp_path / "results.md").read_text()


def test_bench_alternate_times_each_implementation_in_turns(capsys):
    from benchmarks import alternate

    result = alternate.compare("b", ["chainrule", "numpy"], rounds=3, block_seconds=0.01)
    assert set(result["median_s"]) == {"chainrule", "numpy"}
    assert all(s > 0 for s in result["median_s"].values())
    assert len(result["ratios"]["chainrule"]) == 3  # one ratio per round, to the last impl
    assert (
        alternate.main(
            [
                "--cases",
                "a",
                "--impls",
                "compiled,numpy",
                "--rounds",
                "2",
                "--block-seconds",
                "0.01",
            ]
        )
        == 0
    )
    assert "compiled ÷ numpy: median" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        alternate.main(["--impls", "numpy"])  # one implementation has nothing to compare


@pytest.mark.parametrize("key", ["c", "d"])
def test_bench_ops_row_is_the_eager_step_without_the_engine(key):
    """``impl_ops`` calls the eager step's ops by hand: its losses and weights must be eager's
    bit for bit, or ``chainrule ÷ ops`` would not measure the engine's dispatch alone."""
    from benchmarks import impl_ops

    case = cases.MLP_CASES[key]
    batches = cases.make_batches(case, n_batches=2)
    eager = impl_chainrule.build_mlp_step(case, cases.init_params(case.sizes), batches)
    mirror = impl_ops.build_mlp_step(case, cases.init_params(case.sizes), batches)
    for i in range(3):
        batch = batches[i % 2]
        assert float(eager(*batch).item()) == float(mirror(*batch))
    eager_state = eager.model.state_dict()
    linear_names = sorted({name.rsplit(".", 1)[0] for name in eager_state}, key=int)
    for name, (w, b) in zip(linear_names, mirror.params):
        np.testing.assert_array_equal(np.asarray(eager_state[f"{name}.weight"]), w)
        np.testing.assert_array_equal(np.asarray(eager_state[f"{name}.bias"]), b)


def test_bench_ops_row_refuses_other_losses():
    from benchmarks import impl_ops

    with pytest.raises(ValueError, match="cross-entropy cases only"):
        impl_ops.build_mlp_step(cases.MLP_CASES["b"], cases.init_params(cases.MLP_CASES["b"].sizes))
