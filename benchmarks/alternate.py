"""Training steps of several implementations timed in turns, in one process.

``python -m benchmarks`` times each implementation in its own process, one after another; on a
shared machine whose speed drifts by a few percent over minutes, that drift lands in the
ratios. Near a target of 1.0 (cases (c) and (d) against hand-written NumPy) the question is
sharper: here every implementation runs one block of steps in turn, round after round, so a
slow minute slows all of them alike, and the ratio is taken per round (median over rounds).

Run: ``python -m benchmarks.alternate [--cases c,d] [--impls chainrule,compiled,numpy]
[--rounds 7] [--threads 1]``. Ratios are throughput ÷ the last implementation's (higher is
better for the first ones).

Case ``f`` is the per-op chain (``cases.PER_OP_CHAIN`` multiplications, forward and backward),
timed per op; with ``torch`` and ``numpy`` among the implementations it also prints each one's
overhead (time minus NumPy's) ÷ PyTorch's, per round: the per-op target's ratio without the
drift between the separate processes of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import statistics
import time

from benchmarks import cases
from benchmarks.worker import IMPLS


def _runner(impl_name: str, case):
    # "chainrule-openblas", "compiled-openblas": the same step with the MKL route off (an A/B
    # of the optional mkl wheel in one process; see src/chainrule/_mkl.py)
    base_name, _, variant = impl_name.partition("-")
    impl = importlib.import_module(IMPLS[base_name])
    batches = cases.make_batches(case, n_batches=8)
    step = impl.build_mlp_step(case, cases.init_params(case.sizes), batches)
    it = itertools.cycle(batches)
    matmul = importlib.import_module("chainrule.ops.matmul")  # the module, not the function
    mkl_on = matmul._MKL_ON and variant != "openblas"

    def run(n: int) -> float:
        saved, matmul._MKL_ON = matmul._MKL_ON, mkl_on
        try:
            start = time.perf_counter()
            for _ in range(n):
                step(*next(it))
            return (time.perf_counter() - start) / n
        finally:
            matmul._MKL_ON = saved

    return run


def _per_op_runner(impl_name: str):
    """``run(n)``: seconds per call of ``n`` calls of the per-op chain with backward (case f)."""
    impl = importlib.import_module(IMPLS[impl_name])
    chain = impl.build_per_op(cases.PER_OP_CHAIN, cases.PER_OP_SIZE)["forward_backward"]

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            chain()
        return (time.perf_counter() - start) / n  # per chain; compare() reports it per op

    return run


def compare(key: str, impls: list[str], rounds: int, block_seconds: float) -> dict:
    """Median seconds per step of each implementation, and per-round ratios to the last one."""
    if key == "f":
        runners = {name: _per_op_runner(name) for name in impls}
    else:
        runners = {name: _runner(name, cases.MLP_CASES[key]) for name in impls}
    calls = {}
    for name, run in runners.items():  # warm up, and size a block to about block_seconds
        run(3)
        per_step = run(max(3, int(0.2 / max(run(1), 1e-6))))
        calls[name] = max(3, int(block_seconds / per_step))
    times = {name: [] for name in impls}
    for _ in range(rounds):
        for name in impls:
            times[name].append(runners[name](calls[name]))
    if key == "f":
        times = {name: [t / cases.PER_OP_CHAIN for t in ts] for name, ts in times.items()}
    base = impls[-1]
    result = {
        "median_s": {name: statistics.median(t) for name, t in times.items()},
        "ratios": {name: [b / t for t, b in zip(times[name], times[base])] for name in impls[:-1]},
    }
    if key == "f" and "torch" in times and "numpy" in times:
        result["overhead_vs_torch"] = {
            name: [
                (t - n) / (pt - n) for t, n, pt in zip(times[name], times["numpy"], times["torch"])
            ]
            for name in impls
            if name not in ("torch", "numpy")
        }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alternate", description=__doc__)
    parser.add_argument("--cases", default="c,d")
    parser.add_argument("--impls", default="chainrule,compiled,torch,numpy")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--block-seconds", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None, help="BLAS and PyTorch threads")
    args = parser.parse_args(argv)
    impls = args.impls.split(",")
    known = set(IMPLS) | {"chainrule-openblas", "compiled-openblas"}
    unknown = [name for name in impls if name not in known]
    if unknown or len(impls) < 2:
        parser.error(f"--impls: two or more of {', '.join(sorted(known))}; unknown: {unknown}")
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        if "torch" in impls:
            import torch

            torch.set_num_threads(args.threads)
    for key in args.cases.split(","):
        result = compare(key, impls, args.rounds, args.block_seconds)
        base = impls[-1]
        scale, unit_name = (1e6, "µs") if key == "f" else (1e3, "ms")
        times = ", ".join(f"{n} {s * scale:.3f} {unit_name}" for n, s in result["median_s"].items())
        unit = "per op" if key == "f" else "per step"
        print(f"({key}) median {unit}: {times}")
        for name, ratios in result["ratios"].items():
            rounds = " ".join(f"{r:.3f}" for r in ratios)
            print(f"    {name} ÷ {base}: median {statistics.median(ratios):.3f}  (rounds {rounds})")
        for name, ratios in result.get("overhead_vs_torch", {}).items():
            rounds = " ".join(f"{r:.3f}" for r in ratios)
            print(
                f"    {name} overhead ÷ PyTorch's: median {statistics.median(ratios):.3f}  "
                f"(rounds {rounds})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
