"""One measurement in a fresh process: ``python -m benchmarks.worker --impl I --job J``.

The runner starts one worker per (job, implementation, round) and reads the JSON object that
the worker prints as the last line of its standard output. A fresh process per measurement
keeps one framework's caches, threads and heap from touching another's timings.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import statistics
import sys
import time

from benchmarks import cases

IMPLS = {
    "chainrule": "benchmarks.impl_chainrule",
    "torch": "benchmarks.impl_torch",
    "numpy": "benchmarks.impl_numpy",
    "sklearn": "benchmarks.impl_sklearn",
    "compiled": "benchmarks.impl_compiled",
    "jax": "benchmarks.impl_jax",
    "ops": "benchmarks.impl_ops",  # a diagnostic row for benchmarks.alternate (see its docstring)
}


def _proc_status_mb(field: str) -> float | None:
    """A memory figure (``VmRSS``, ``VmHWM``) of this process from /proc, in MiB (Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if field == "VmHWM":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return None


def time_calls(fn, seconds: float, blocks: int = 5) -> dict:
    """Median seconds per call of ``fn`` over ``blocks`` timed blocks, after a warm-up.

    The warm-up (one untimed call, then at least 3 calls, about a tenth of the budget) also
    calibrates how many calls go in a block so the blocks together take about ``seconds``.
    """
    perf = time.perf_counter
    # The first call is left out of the calibration: it may record the step or compile a kernel
    # (seconds for cr.compile's jit tier), which made every block a single call.
    fn()
    start = perf()
    calls = 0
    while calls < 3 or perf() - start < seconds / 10:
        fn()
        calls += 1
    per_call = (perf() - start) / calls
    per_block = max(1, int(seconds / blocks / max(per_call, 1e-9)))
    times = []
    for _ in range(blocks):
        start = perf()
        for _ in range(per_block):
            fn()
        times.append((perf() - start) / per_block)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "blocks_s": times,
        "calls_per_block": per_block,
    }


def _mlp_runner(impl, case):
    params = cases.init_params(case.sizes)
    batches = cases.make_batches(case, n_batches=8)
    step = impl.build_mlp_step(case, params, batches)
    batch_iter = itertools.cycle(batches)

    def run():
        x, y = next(batch_iter)
        step(x, y)

    return run


def job_mlp(impl, key: str, seconds: float) -> dict:
    case = cases.MLP_CASES[key]
    rss_start = _proc_status_mb("VmRSS")
    run = _mlp_runner(impl, case)
    result = time_calls(run, seconds if seconds > 0 else case.seconds)
    result["rss_start_mb"] = rss_start
    result["peak_rss_mb"] = _proc_status_mb("VmHWM")
    result["page_faults_per_step"] = page_faults_per_call(run)
    return result


def page_faults_per_call(fn, calls: int = 20) -> float | None:
    """Minor page faults per call of ``fn`` in steady state (after the timing's warm-up).

    A step that allocates fresh pages from the kernel each time (a large temporary the
    allocator gave back) pays a fault per 4 KiB page: the count shows it.
    """
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def job_per_op(impl, seconds: float) -> dict:
    fns = impl.build_per_op(cases.PER_OP_CHAIN, cases.PER_OP_SIZE)
    out = {}
    for mode, fn in fns.items():
        timing = time_calls(fn, seconds / 3 if seconds > 0 else 0.3)
        out[mode + "_us_per_op"] = timing["median_s"] / cases.PER_OP_CHAIN * 1e6
    return out


def job_scaling(impl, seconds: float, quick: bool) -> dict:
    """Step time of case (c) over batch sizes and widths: the fastest of 5 blocks per point.

    One process sweeps all points, so the fastest block (rather than the median) keeps a burst
    of load on a shared machine from bending the curve at one point.
    """
    batches = cases.QUICK_SCALING_BATCHES if quick else cases.SCALING_BATCHES
    widths = cases.QUICK_SCALING_WIDTHS if quick else cases.SCALING_WIDTHS
    budget = seconds if seconds > 0 else 0.25
    out = {"batch": {}, "width": {}}
    # untimed first: the process's first steps pay one-time costs (BLAS thread start-up, first
    # page faults) that would otherwise land on the first point of the sweep
    time_calls(_mlp_runner(impl, cases.scaled_case()), budget, blocks=1)
    for batch in batches:
        run = _mlp_runner(impl, cases.scaled_case(batch=batch))
        out["batch"][str(batch)] = time_calls(run, budget, blocks=5)["min_s"]
    for width in widths:
        run = _mlp_runner(impl, cases.scaled_case(width=width))
        out["width"][str(width)] = time_calls(run, budget, blocks=5)["min_s"]
    return out


def job_digits(impl, quick: bool) -> dict:
    cfg = dict(cases.DIGITS)
    epochs = 2 if quick else cfg["epochs"]
    X, y, source = cases.load_digits()
    X_train, y_train, X_test, y_test = cases.digits_split(X, y, cfg["test_size"])
    orders = cases.epoch_orders(len(X_train), epochs)
    params = cases.init_params((X.shape[1], cfg["hidden"], 10), seed=0)
    fit_s, accuracy = impl.fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg)
    return {"fit_s": fit_s, "accuracy": accuracy, "epochs": epochs, "source": source}


def _set_threads(impl_name: str, threads: int | None) -> int:
    """Match thread counts: NumPy's BLAS threads, and PyTorch's intra-op threads to the same."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if threads:
        # Kept in a module global so the limit lasts for the whole process.
        globals()["_limits"] = threadpool_limits(limits=threads, user_api="blas")
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    count = threads or (blas[0]["num_threads"] if blas else 1)
    if impl_name == "torch":
        import torch

        torch.set_num_threads(count)
    if impl_name == "jax" and threads == 1:  # before jax is imported: XLA reads it once
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
        # JAX 0.10's CPU client still ran two threads with these flags (process CPU time twice
        # the wall time, measured): one core for the whole process is what holds it to one
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return count


def blas_info() -> list[dict]:
    """The BLAS libraries loaded in this process, as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [
        {k: p.get(k) for k in keys} | {"library": p.get("filepath", "").rsplit("/", 1)[-1]}
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    ]


def run(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--impl", required=True, choices=sorted(IMPLS))
    parser.add_argument("--job", required=True, help="a, b, c, d, per_op, digits or scaling")
    parser.add_argument("--seconds", type=float, default=0.0, help="timing budget (0: default)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)

    if args.impl not in ("chainrule", "compiled"):
        # A peer's process may import chainrule for data or shared weights (digits, LeNet):
        # leave its malloc as its own library leaves it (chainrule/_allocator.py).
        os.environ["CHAINRULE_MALLOC"] = "system"
    threads = _set_threads(args.impl, args.threads or None)
    impl = importlib.import_module(IMPLS[args.impl])
    start = time.perf_counter()
    if args.job in cases.MLP_CASES:
        result = job_mlp(impl, args.job, args.seconds)
    elif args.job == "per_op":
        result = job_per_op(impl, args.seconds)
    elif args.job == "scaling":
        result = job_scaling(impl, args.seconds, args.quick)
    elif args.job == "digits":
        result = job_digits(impl, args.quick)
    elif args.job == "losses":  # every loss and activation alone: benchmarks/bench_losses.py
        from benchmarks.bench_losses import measure

        result = {"rows": measure(args.impl, 1, args.seconds / 4 if args.seconds else 0.1)}
    elif args.job == "lenet":  # benchmarks/bench_lenet.py (JAX: benchmarks/lenet_jax.py)
        from benchmarks.bench_lenet import worker_job

        result = worker_job(args.impl, args.seconds)
    else:
        parser.error(f"unknown job {args.job!r}")
    result.update(
        impl=args.impl,
        job=args.job,
        threads=threads,
        api=getattr(impl, "API", None),
        blas=blas_info(),
        wall_s=time.perf_counter() - start,
    )
    if args.impl == "torch":
        import torch

        result["torch_threads"] = torch.get_num_threads()
    if args.impl in ("chainrule", "compiled"):
        import chainrule

        result["chainrule_file"] = chainrule.__file__  # which checkout was measured
    return result


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:])))
