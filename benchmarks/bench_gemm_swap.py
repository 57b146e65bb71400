"""The swapped product (``chainrule._gemm``): a layer's x · Wᵀ as (W · xᵀ)ᵀ, on and off.

Two measurements, each alternating the two routes in one process, so a slow minute slows both:

- ``grid``: one float32 product x (m × k) · Wᵀ plus a bias, the plain route (``x @ W.T``, then
  ``+= b``) against the swapped one (``(W @ x.T).T + b`` written in C order), for rows m, columns
  n and inner sizes k; prints plain ÷ swapped time (above 1: the swap is faster) and whether the
  two gave the same bits. This grid chose the rule in ``_gemm._swap_wins``.
- ``steps``: whole training steps of case (c)'s network (784-256-128-10 ReLU, SGD,
  class-index cross-entropy) at several batch sizes, chainrule with the route on and off
  (``chainrule._gemm._SWAP``) and the hand-written NumPy step; prints µs per step and the
  ratios (medians of the per-round ratios).

Run: ``python -m benchmarks.bench_gemm_swap [grid|steps|both] [--threads 1] [--rounds 9]``.
The route is chosen only where OpenBLAS runs its SkylakeX kernel (AVX-512 CPUs); elsewhere the
tool still measures both routes, which is how the rule was checked against the Haswell kernel
(``OPENBLAS_CORETYPE=Haswell``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

GRID_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
GRID_COLUMNS = (64, 128, 256, 512, 1024)
GRID_INNER = (64, 256, 784, 1024)
STEP_BATCHES = (8, 16, 32, 64, 128, 256)


def _clock(threads: int):
    # One thread: the thread's CPU time (other processes' load does not count). More: wall time.
    return time.thread_time_ns if threads == 1 else time.perf_counter_ns


def _paired_ratio(first, second, reps: int, rounds: int, clock) -> float:
    """Median over rounds of (time of ``first``) ÷ (time of ``second``), the order alternating."""
    ratios = []
    for r in range(rounds):
        times = {}
        for name, fn in (
            (("a", first), ("b", second)) if r % 2 == 0 else (("b", second), ("a", first))
        ):
            start = clock()
            for _ in range(reps):
                fn()
            times[name] = clock() - start
        ratios.append(times["a"] / times["b"])
    return statistics.median(ratios)


def grid(threads: int, rounds: int) -> list[tuple]:
    rng = np.random.default_rng(0)
    clock = _clock(threads)
    rows = []
    for m, n, k in itertools.product(GRID_ROWS, GRID_COLUMNS, GRID_INNER):
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)

        def plain(x=x, w=w, b=b):
            out = x @ w.T
            out += b
            return out

        def swapped(x=x, w=w, b=b):
            return np.add((w @ x.T).T, b, order="C")

        same = bool(np.array_equal(plain(), swapped()))
        reps = max(3, int(2e6 / (m * n * k)))
        rows.append((m, n, k, _paired_ratio(plain, swapped, reps, rounds, clock), same))
    return rows


def print_grid(rows: list[tuple]) -> None:
    print("plain ÷ swapped time (above 1: the swapped product is faster; * = other bits)")
    for k in GRID_INNER:
        print(f"k = {k:4d}   n:" + "".join(f"{n:8d}" for n in GRID_COLUMNS))
        for m in GRID_ROWS:
            cells = [r for r in rows if r[0] == m and r[2] == k]
            print(f"  m = {m:4d}   " + "".join(f"{r[3]:7.2f}{' ' if r[4] else '*'}" for r in cells))
    print(f"shapes whose bits differ: {sum(not r[4] for r in rows)} of {len(rows)}")


def steps(threads: int, rounds: int, n_steps: int | None = None) -> list[dict]:
    from benchmarks import cases, impl_chainrule, impl_numpy
    from chainrule import _gemm

    clock = _clock(threads)
    results = []
    for batch in STEP_BATCHES:
        case = cases.scaled_case(batch=batch)
        params = cases.init_params(case.sizes, seed=0)
        data = cases.make_batches(case, 16)
        ours = impl_chainrule.build_mlp_step(case, params)
        numpy_step = impl_numpy.build_mlp_step(case, params)
        per_block = n_steps or max(10, 2000 // batch)
        times: dict[str, list[float]] = {"on": [], "off": [], "numpy": []}
        order = ["on", "off", "numpy"]
        for r in range(rounds):
            for name in order[r % 3 :] + order[: r % 3]:
                _gemm._SWAP[0] = name == "on"
                step = numpy_step if name == "numpy" else ours
                start = clock()
                for i in range(per_block):
                    x, y = data[i % len(data)]
                    step(x, y)
                times[name].append((clock() - start) / per_block / 1e3)
        _gemm._SWAP[0] = _gemm._decide_swap()
        on, off, ref = (np.array(times[k]) for k in ("on", "off", "numpy"))
        results.append(
            {
                "batch": batch,
                "on_us": float(np.median(on)),
                "off_us": float(np.median(off)),
                "numpy_us": float(np.median(ref)),
                "off_over_on": float(np.median(off / on)),
                "on_vs_numpy": float(np.median(ref / on)),
                "off_vs_numpy": float(np.median(ref / off)),
            }
        )
    return results


def print_steps(results: list[dict]) -> None:
    print(
        "batch | route on µs | off µs | NumPy µs | off ÷ on | on ÷ NumPy | off ÷ NumPy (throughput)"
    )
    for r in results:
        print(
            f"{r['batch']:5d} | {r['on_us']:11.1f} | {r['off_us']:6.1f} | {r['numpy_us']:8.1f} | "
            f"{r['off_over_on']:8.3f} | {r['on_vs_numpy']:10.3f} | {r['off_vs_numpy']:.3f}"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="both", choices=("grid", "steps", "both"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_info, threadpool_limits

    from chainrule import _gemm
    from chainrule._blas import core_name

    threadpool_limits(args.threads, user_api="blas")
    kernels = [p.get("architecture") for p in threadpool_info() if p.get("user_api") == "blas"]
    print(
        f"OpenBLAS kernel {core_name()} ({kernels}), {args.threads} thread(s), route chosen "
        f"by default here: {_gemm._decide_swap()}"
    )
    if args.what in ("grid", "both"):
        print_grid(grid(args.threads, args.rounds))
    if args.what in ("steps", "both"):
        print_steps(steps(args.threads, args.rounds))


if __name__ == "__main__":
    main()
