"""Where a 2-rank DDP step of case (c) spends its time, and what each DDP option changes.

    python -m benchmarks.distributed_profile                      # mpiexec -n 2, default setups
    python -m benchmarks.distributed_profile --bind core --rounds 4
    python -m benchmarks.distributed_profile --ranks 1            # the same step, one process

The driver starts ``mpiexec -n R`` (``--bind core`` adds MPICH's ``-bind-to core``) and the
worker trains case (c) (784-256-128-10, ReLU, cross-entropy, SGD, float32, batch 128 per rank)
with DDP under several setups, alternating them round by round in one job so that the same
background load falls on each. For each setup it prints steps/s and the median split of a
step on the slower rank:

* forward, backward, optimizer step (wall time of each phase);
* inside backward: DDP's own work when a gradient is ready (copy into the bucket, starting
  and polling the allreduce), the wait for the allreduce at the end, and the copy of the
  averaged sums into ``.grad`` (the division by the number of ranks fused in).

The timers wrap DDP's internal methods from the outside (nothing in the library is changed
for measuring); they add about a microsecond per call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.distributed import (
    BATCH,
    _batches,
    _busy_seconds,
    _children_cpu,
    _model,
    _mpiexec,
)

SETUPS = {  # DDP options; "no_sync" trains each rank alone (no allreduce) inside MPI
    "default": {},
    "no_sync": {"no_sync": True},
    "messages (no shared memory)": {"shared_memory": False},
    "overlap off": {"overlap": False},
    "small buckets (0.2 MB)": {"bucket_cap_mb": 0.2},
    "gradient_as_bucket_view": {"gradient_as_bucket_view": True},
    "baseline": {"baseline": True},  # the DDP of --baseline FILE (e.g. an older ddp.py)
}


class _Clock:
    """Seconds spent in named parts during the current step."""

    def __init__(self):
        self.parts: dict = {}

    def add(self, name: str, seconds: float) -> None:
        self.parts[name] = self.parts.get(name, 0.0) + seconds


def _load_baseline(path: str):
    """Another version of ``ddp.py`` (``git show main:src/...``), imported beside this one."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("chainrule.distributed._ddp_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _instrument(clock: _Clock, ddp) -> None:
    """Wrap the reducer's methods and the waits with timers (from outside the library)."""

    def timed(owner, attr, name):
        original = getattr(owner, attr)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                clock.add(name, time.perf_counter() - start)

        setattr(owner, attr, wrapper)

    timed(ddp._Reducer, "ready", "ddp: ready (all)")
    timed(ddp._Reducer, "_finish", "ddp: finish (wait + copy out)")
    if not hasattr(ddp.comm.wait, "timed"):  # comm is shared by both versions
        timed(ddp.comm, "wait", "ddp: wait for allreduce")
        timed(ddp.comm, "start_allreduce_sum", "ddp: start allreduce")
        ddp.comm.wait.timed = True


def _profile_setup(options: dict, batches, steps: int, clock: _Clock, baseline) -> dict:
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule import nn, optim

    options = dict(options)
    local = options.pop("no_sync", False)
    wrapper = baseline.DistributedDataParallel if options.pop("baseline", False) else None
    ddp = (wrapper or dist.DistributedDataParallel)(_model(), **options)
    opt = optim.SGD(ddp.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    rows = []
    dist.barrier()
    for i in range(steps + 10):
        x, y = batches[i % len(batches)]
        clock.parts = {}
        t0 = time.perf_counter()
        opt.zero_grad()
        if local:
            with ddp.no_sync():
                loss = loss_fn(ddp(cr.tensor(x)), cr.tensor(y))
        else:
            loss = loss_fn(ddp(cr.tensor(x)), cr.tensor(y))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= 10:  # warm-up steps are not kept
            row = {"step": t3 - t0, "forward": t1 - t0, "backward": t2 - t1, "optimizer": t3 - t2}
            row.update(clock.parts)
            rows.append(row)
    names = rows[0].keys() | {k for r in rows for k in r}
    out = {k: float(np.median([r.get(k, 0.0) for r in rows])) for k in sorted(names)}
    steps = [r["step"] for r in rows]
    out["step, mean"] = float(np.mean(steps))
    out["step, 90th percentile"] = float(np.percentile(steps, 90))
    out["step, max"] = float(np.max(steps))
    return out


def worker(args) -> None:
    from threadpoolctl import threadpool_limits

    from chainrule import distributed as dist

    threadpool_limits(1, user_api="blas")  # also for one rank, which init() leaves alone
    dist.init()
    clock = _Clock()
    from chainrule.distributed import ddp

    _instrument(clock, ddp)
    baseline = _load_baseline(args.baseline) if args.baseline else None
    if baseline is not None:
        _instrument(clock, baseline)
    batches = _batches(dist.rank())
    setups = {k: SETUPS[k] for k in args.setups.split(",")} if args.setups else dict(SETUPS)
    if baseline is None:
        setups.pop("baseline", None)  # only with --baseline FILE
    results: dict = {k: [] for k in setups}
    for _ in range(args.rounds):
        for name, options in setups.items():
            results[name].append(_profile_setup(options, batches, args.steps, clock, baseline))
    out = {}
    for name, runs in results.items():
        # the median over rounds of each part; the slower rank's value
        parts = {k: float(np.median([r.get(k, 0.0) for r in runs])) for k in runs[0]}
        gathered = dist.allgather_object(parts)
        out[name] = {k: max(g[k] for g in gathered) for k in parts}
    if dist.rank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--bind", help="MPICH -bind-to value (core, hwthread, ...)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--setups", help="comma-separated names from SETUPS")
    parser.add_argument("--baseline", help="another ddp.py, for the setup 'baseline'")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the ranks")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    command = [_mpiexec(), "-n", str(args.ranks)]
    if args.bind:
        command += ["-bind-to", args.bind]
    command += [sys.executable, "-m", "benchmarks.distributed_profile", "--worker"]
    command += ["--rounds", str(args.rounds), "--steps", str(args.steps)]
    if args.setups:
        command += ["--setups", args.setups]
    if args.baseline:
        command += ["--baseline", os.path.abspath(args.baseline)]
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in args.env))
    with open("/proc/loadavg", encoding="ascii") as f:
        load = " ".join(f.read().split()[:3])
    busy0, children0, t0 = _busy_seconds(), _children_cpu(), time.time()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, env=env
    )
    others = (_busy_seconds() - busy0 - (_children_cpu() - children0)) / (time.time() - t0)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT ") :])
    print(
        f"{args.ranks} ranks, bind={args.bind}, env={args.env}, {os.cpu_count()} CPUs, load "
        f"average at start {load}, other work during the job {others:.2f} CPUs; median ms per "
        f"step, slower rank\n"
    )
    parts = sorted({k for v in out.values() for k in v})
    print("| part | " + " | ".join(out) + " |")
    print("|---|" + "---:|" * len(out))
    for part in ["step"] + [p for p in parts if p != "step"]:
        print(
            f"| {part} | " + " | ".join(f"{v.get(part, 0) * 1e3:.3f}" for v in out.values()) + " |"
        )
    rates = " | ".join(f"{args.ranks * BATCH / v['step, mean']:.0f}" for v in out.values())
    print(f"| samples/s (all ranks, from the mean step) | {rates} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
