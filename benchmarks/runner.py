"""Run the benchmark suite: every job, every implementation, several alternating rounds.

``main(argv)`` is the entry point of ``python -m benchmarks`` and of ``chainrule bench``; it
takes the same command-line arguments (``--help`` lists them) and returns an exit status.

Each (job, implementation) pair runs in its own subprocess (:mod:`benchmarks.worker`). Within
a round the implementations go one after the other, and the order rotates from round to round,
so slow drift in machine load affects every implementation alike. Ratios are computed per
round (from measurements taken seconds apart) and summarised by their median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import cases, report

ROOT = Path(__file__).resolve().parent.parent

MLP_IMPLS = ("chainrule", "torch", "numpy")
JOBS = {
    # job: (implementations, at most this many rounds)
    "a": (MLP_IMPLS + ("compiled", "jax"), None),  # chainrule with cr.compile as well
    "a2": (MLP_IMPLS + ("compiled", "jax"), None),  # the seed's sigmoid output + BCELoss
    "b": (MLP_IMPLS + ("compiled", "jax"), None),
    "c": (MLP_IMPLS + ("compiled", "jax"), None),
    "d": (MLP_IMPLS + ("compiled", "jax"), None),
    "f": (MLP_IMPLS + ("compiled",), None),  # per-op overhead; the worker calls it "per_op"
    "e": (("chainrule", "torch", "sklearn", "jax"), None),  # the digits job
    "scaling": (MLP_IMPLS, 3),
    "lenet": (("chainrule", "torch", "jax"), None),  # LeNet-5, benchmarks/bench_lenet.py
    "losses": (("chainrule", "torch"), None),  # each loss and activation, benchmarks/bench_losses
}
# Optional peers: left out, with a note in the results, when their package is missing.
OPTIONAL_IMPLS = {"jax": "jax"}
WORKER_JOB = {"f": "per_op", "e": "digits"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark chainrule against PyTorch (CPU) and hand-written NumPy.",
    )
    parser.add_argument("--quick", action="store_true", help="one short round (about 30 s)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5, quick 1)")
    parser.add_argument(
        "--cases",
        default=",".join(JOBS),
        help="comma-separated subset of " + ",".join(JOBS) + " (default: all)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS and PyTorch threads (default: NumPy's BLAS thread count)",
    )
    parser.add_argument(
        "--seconds", type=float, default=0.0, help="timing budget per measurement (0: default)"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for results (default benchmarks/results, or benchmarks/results/quick)",
    )
    parser.add_argument("--plot", default=None, help="scaling plot path (default OUT/scaling.png)")
    parser.add_argument(
        "--unset-openblas-coretype",
        action="store_true",
        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the benchmark subprocesses' "
        "environment (OpenBLAS then picks its kernel for the real CPU)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def worker_env(unset_coretype: bool) -> dict:
    """The subprocesses' environment: ours, with the repository importable, and this checkout's
    ``src/chainrule`` ahead of any installed chainrule (an editable install of another
    checkout would otherwise be what gets measured)."""
    env = dict(os.environ)
    src = ROOT / "src"
    paths = [str(src)] if (src / "chainrule").is_dir() else []
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, str(ROOT), env.get("PYTHONPATH")]))
    if unset_coretype:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_worker(impl: str, job: str, args, env: dict) -> dict:
    """One measurement in a fresh Python process; errors come back as ``{"error": ...}``."""
    cmd = [sys.executable, "-m", "benchmarks.worker", "--impl", impl]
    cmd += ["--job", WORKER_JOB.get(job, job)]
    if args.seconds:
        cmd += ["--seconds", str(args.seconds)]
    elif args.quick:
        cmd += ["--seconds", "0.05" if job != "scaling" else "0.03"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.quick:
        cmd.append("--quick")
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired:
        return {"impl": impl, "job": job, "error": "timed out after 600 s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"impl": impl, "job": job, "error": " | ".join(tail) or f"exit {proc.returncode}"}
    return json.loads(lines[-1])


def machine_info(env: dict) -> dict:
    import numpy

    info = {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "lscpu_model": _lscpu_model(),
        "openblas_core": _openblas_core(),
        "numpy": numpy.__version__,
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        "openblas_env_in_workers": {k: v for k, v in env.items() if k.startswith("OPENBLAS")},
        "load_before": os.getloadavg(),
        "mkl_route": _mkl_route(env),
    }
    for module in ("chainrule", "torch", "sklearn", "threadpoolctl", "jax"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    return info


def _mkl_route(env: dict) -> str:
    """Whether chainrule's large products go through MKL (src/chainrule/_mkl.py) in the workers."""
    from chainrule import _mkl

    setting = env.get("CHAINRULE_MKL", os.environ.get("CHAINRULE_MKL"))
    if setting == "0":
        return "off (CHAINRULE_MKL=0)"
    if _mkl.available():
        return "on with one BLAS thread (the mkl wheel is installed)"
    if not _mkl._library_paths():
        return "off (the mkl wheel is not installed)"
    if setting != "1" and not _mkl._intel_cpu():
        return "off (not an Intel CPU; CHAINRULE_MKL=1 turns it on)"
    return "off (the mkl wheel was found but could not be loaded)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def missing_peers() -> dict:
    """{implementation: note} for the optional peers whose package is not installed."""
    import importlib.util

    return {
        impl: f"{package} is not installed (pip install 'chainrule[bench]'): its column is empty"
        for impl, package in OPTIONAL_IMPLS.items()
        if importlib.util.find_spec(package) is None
    }


def _lscpu_model() -> str | None:
    """``lscpu``'s "Model name" line (None where lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.strip().startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return None


def _openblas_core() -> str | None:
    """The kernel OpenBLAS chose for this CPU (its "core type"), as threadpoolctl reports it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            return pool.get("architecture")
    return None


def run_suite(args) -> dict:
    jobs = [j.strip() for j in args.cases.split(",") if j.strip()]
    unknown = [j for j in jobs if j not in JOBS]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; choose from {', '.join(JOBS)}")
    rounds = args.rounds or (1 if args.quick else 5)
    env = worker_env(args.unset_openblas_coretype)
    skipped = missing_peers()
    results = {
        "skipped": skipped,
        "machine": machine_info(env),
        "settings": {"quick": args.quick, "rounds": rounds, "threads": args.threads or None},
        "raw": {job: {} for job in jobs},
    }
    start = time.perf_counter()
    for r in range(rounds):
        for job in jobs:
            impls, max_rounds = JOBS[job]
            impls = tuple(i for i in impls if i not in skipped)
            if max_rounds is not None and r >= max_rounds:
                continue
            shift = r % len(impls)
            for impl in impls[shift:] + impls[:shift]:
                res = run_worker(impl, job, args, env)
                results["raw"][job].setdefault(impl, []).append(res)
                if not args.quiet:
                    note = res.get("error") or f"{res.get('wall_s', 0):.1f} s"
                    print(f"[round {r + 1}/{rounds}] {job:8s} {impl:10s} {note}", file=sys.stderr)
    results["machine"]["load_after"] = os.getloadavg()
    results["machine"]["suite_s"] = time.perf_counter() - start
    results["summary"] = summarize(results["raw"])
    return results


# ---- summaries ----------------------------------------------------------------------------------
def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ok(runs):
    return [r for r in runs if "error" not in r]


def _round_ratios(num_runs, den_runs, key):
    """Per-round ratios num/den of ``key`` (rounds paired in order)."""
    return [
        n[key] / d[key]
        for n, d in zip(num_runs, den_runs)
        if "error" not in n and "error" not in d and d[key]
    ]


def _summarize_losses(by_impl: dict) -> list[dict]:
    """Per (op, size): median µs of each library and the median per-round PyTorch ÷ chainrule."""
    cr, torch = _ok(by_impl.get("chainrule", [])), _ok(by_impl.get("torch", []))
    if not cr:
        return []
    rows = []
    for name, sizes in cr[0]["rows"].items():
        for size in sizes:
            times = {
                impl: _median([r["rows"][name][size][0] for r in runs])
                for impl, runs in (("chainrule", cr), ("torch", torch))
            }
            ratios = [
                t["rows"][name][size][0] / c["rows"][name][size][0] for t, c in zip(torch, cr)
            ]
            rows.append({"name": name, "size": size, **times, "vs_torch": _median(ratios)})
    return rows


def summarize(raw: dict) -> dict:
    summary = {}
    for job, by_impl in raw.items():
        cr = by_impl.get("chainrule", [])
        if job in cases.MLP_CASES or job == "lenet":
            s = {
                impl: {
                    "step_s": _median([r["median_s"] for r in _ok(runs)]),
                    "peak_rss_mb": _median([r.get("peak_rss_mb") for r in _ok(runs)]),
                    "rss_start_mb": _median([r.get("rss_start_mb") for r in _ok(runs)]),
                    "page_faults_per_step": _median(
                        [r.get("page_faults_per_step") for r in _ok(runs)]
                    ),
                }
                for impl, runs in by_impl.items()
            }
            # throughput ratio chainrule ÷ X = time(X) / time(chainrule)
            s["vs_torch_rounds"] = _round_ratios(by_impl.get("torch", []), cr, "median_s")
            s["vs_numpy_rounds"] = _round_ratios(by_impl.get("numpy", []), cr, "median_s")
            s["vs_torch"] = _median(s["vs_torch_rounds"])
            s["vs_numpy"] = _median(s["vs_numpy_rounds"])
            s["vs_jax_rounds"] = _round_ratios(by_impl.get("jax", []), cr, "median_s")
            s["vs_jax"] = _median(s["vs_jax_rounds"])
            compiled = by_impl.get("compiled")
            if compiled:
                s["compiled_vs_torch_rounds"] = _round_ratios(
                    by_impl.get("torch", []), compiled, "median_s"
                )
                s["compiled_vs_numpy_rounds"] = _round_ratios(
                    by_impl.get("numpy", []), compiled, "median_s"
                )
                s["compiled_vs_torch"] = _median(s["compiled_vs_torch_rounds"])
                s["compiled_vs_numpy"] = _median(s["compiled_vs_numpy_rounds"])
                s["compiled_vs_jax_rounds"] = _round_ratios(
                    by_impl.get("jax", []), compiled, "median_s"
                )
                s["compiled_vs_jax"] = _median(s["compiled_vs_jax_rounds"])
            summary[job] = s
        elif job == "f":
            s = {}
            for impl, runs in by_impl.items():
                s[impl] = {
                    mode: _median([r.get(mode + "_us_per_op") for r in _ok(runs)])
                    for mode in ("forward", "forward_graph", "forward_backward")
                }
            base = s.get("numpy")
            if base:
                for impl in ("chainrule", "torch", "compiled"):
                    if impl not in s:
                        continue
                    for mode, key, against in (
                        ("forward", "overhead_forward", "forward"),
                        ("forward_graph", "overhead_graph", "forward"),
                        ("forward_backward", "overhead_backward", "forward_backward"),
                    ):
                        if s[impl][mode] is not None and base[against] is not None:
                            s[impl][key] = s[impl][mode] - base[against]
            summary[job] = s
        elif job == "e":
            s = {
                impl: {
                    "fit_s": _median([r["fit_s"] for r in _ok(runs)]),
                    "accuracy": _median([r["accuracy"] for r in _ok(runs)]),
                    "epochs": _ok(runs)[0]["epochs"] if _ok(runs) else None,
                    "source": _ok(runs)[0]["source"] if _ok(runs) else None,
                }
                for impl, runs in by_impl.items()
            }
            s["time_vs_torch_rounds"] = _round_ratios(cr, by_impl.get("torch", []), "fit_s")
            s["time_vs_torch"] = _median(s["time_vs_torch_rounds"])
            s["time_vs_sklearn"] = _median(_round_ratios(cr, by_impl.get("sklearn", []), "fit_s"))
            s["time_vs_jax"] = _median(_round_ratios(cr, by_impl.get("jax", []), "fit_s"))
            summary[job] = s
        elif job == "losses":
            summary[job] = _summarize_losses(by_impl)
        elif job == "scaling":
            s = {}
            for impl, runs in by_impl.items():
                s[impl] = {}
                for axis in ("batch", "width"):
                    points = _ok(runs)[0][axis].keys() if _ok(runs) else []
                    s[impl][axis] = {p: _median([r[axis][p] for r in _ok(runs)]) for p in points}
            summary[job] = s
    return summary


def main(argv=None) -> int:
    """Run the suite; write ``results.json``, ``results.md`` and the scaling plot to ``--out``.

    Args:
        argv: command-line arguments without the program name (default ``sys.argv[1:]``), e.g.
            ``["--quick"]`` or ``["--cases", "a,b", "--rounds", "3"]``.

    Returns:
        0 when every measurement ran, 1 when some failed (their errors are in the results).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `chainrule bench -- --quick` passes the separator through
        argv = argv[1:]
    args = _parser().parse_args(argv)
    results = run_suite(args)
    default_out = ROOT / "benchmarks" / "results"
    out = Path(args.out) if args.out else default_out / "quick" if args.quick else default_out
    out.mkdir(parents=True, exist_ok=True)
    plot_path = Path(args.plot) if args.plot else out / "scaling.png"
    if "scaling" in results["summary"]:
        try:
            report.plot_scaling(results["summary"]["scaling"], plot_path)
            results["plot"] = str(plot_path)
        except ImportError:  # matplotlib missing: the numbers are still in the tables
            results["plot"] = None
    (out / "results.json").write_text(json.dumps(results, indent=1))
    markdown = report.render_markdown(results)
    (out / "results.md").write_text(markdown)
    print(markdown)
    failed = [
        r
        for by_impl in results["raw"].values()
        for runs in by_impl.values()
        for r in runs
        if "error" in r
    ]
    for r in failed:
        print(f"FAILED {r['job']} {r['impl']}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0
