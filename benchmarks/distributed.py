"""Data-parallel training over MPI: scaling, allreduce cost, and what overlap gains.

    python -m benchmarks.distributed              # all of it, a few minutes on 2 cores
    python -m benchmarks.distributed --quick      # shorter timings

The driver starts ``mpiexec -n R python -m benchmarks.distributed --worker ...`` jobs (the
mpiexec beside this Python first, then the one on PATH) and prints a Markdown report:

1. **Scaling of case (c)** (784-256-128-10, ReLU, cross-entropy, SGD, float32, batch 128 per
   rank): training throughput (samples/s over all ranks) for 1, 2 and 4 ranks with one BLAS
   thread each, 2 ranks bound to a core each (``mpiexec -bind-to core``), 2 ranks whose
   buckets travel by ``MPI_Iallreduce`` (``CHAINRULE_DIST_SHM=0``) instead of shared memory,
   2 ranks with ``gradient_as_bucket_view=True`` (what ``cr.fit`` and ``chainrule train`` use)
   and 2 ranks with two BLAS threads each (what pinning avoids); the 1- and 2-rank jobs run
   three times, alternating, each row says how many CPUs other people's work took meanwhile,
   and a last table gives each 2-rank setup's median ratio over its three runs.
   Weak scaling: the work per rank is fixed, so ideal throughput grows with the number of
   ranks, as long as there is a core per rank.
2. **Allreduce**: the 235,146 float32 gradients of case (c) (0.94 MB) summed over 2 ranks by
   raw ``mpi4py`` ``Allreduce(IN_PLACE)`` on one buffer, by chainrule's guarded non-blocking
   wait on the same buffer, by ``allreduce_mean`` of the six parameter-shaped arrays (copies
   into one flat buffer and the division included), and through DDP's shared-memory window.
   Rounds alternate in one job.
3. **Overlap**: steps/s of DDP with the buckets' allreduces started during backward versus
   after it, with small buckets (so there are several) and with PyTorch's 25 MB default (all
   through ``MPI_Iallreduce``), beside the shared-memory default.

``benchmarks/distributed_profile.py`` splits one step into its parts, and
``benchmarks/distributed_control.py`` measures the ceiling without MPI.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

SIZES = (784, 256, 128, 10)
BATCH = 128


# ---- the worker (runs under mpiexec) --------------------------------------------------------
def _model(seed: int = 0):
    import chainrule as cr
    from chainrule import nn

    cr.manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _batches(rank: int, count: int = 8):
    rng = np.random.default_rng(1000 + rank)
    return [
        (
            rng.normal(size=(BATCH, SIZES[0])).astype(np.float32),
            rng.integers(0, SIZES[-1], size=BATCH),
        )
        for _ in range(count)
    ]


def _train_rate(ddp, opt, batches, seconds: float, cpu: list | None = None) -> tuple[float, int]:
    """Steps per second of ``ddp`` (all ranks run the same number of steps).

    ``cpu`` receives the largest per-rank CPU seconds per step (time.process_time).
    """
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule import nn

    loss_fn = nn.CrossEntropyLoss()

    def step(i):
        x, y = batches[i % len(batches)]
        opt.zero_grad()
        loss_fn(ddp(cr.tensor(x)), cr.tensor(y)).backward()
        opt.step()

    for i in range(5):  # warm up
        step(i)
    # rank 0 decides the step count from a short probe, so every rank runs the same number
    dist.barrier()
    start = time.perf_counter()
    for i in range(5):
        step(i)
    probe = dist.allgather_object(time.perf_counter() - start)
    steps = max(10, int(seconds / max(max(probe) / 5, 1e-6)))
    dist.barrier()
    start, start_cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(i)
    spent_cpu = time.process_time() - start_cpu
    dist.barrier()
    elapsed = max(dist.allgather_object(time.perf_counter() - start))
    if cpu is not None:
        cpu.append(max(dist.allgather_object(spent_cpu)) / steps)
    return steps / elapsed, steps


def worker_scaling(args) -> dict:
    from chainrule import distributed as dist
    from chainrule import optim

    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads, user_api="blas")  # also for a single rank
    dist.init(blas_threads=args.blas_threads or None)
    model = _model()
    ddp = dist.DistributedDataParallel(model, gradient_as_bucket_view=args.as_view)
    opt = optim.SGD(ddp.parameters(), lr=0.01)
    cpu = []
    rate, steps = _train_rate(ddp, opt, _batches(dist.rank()), args.seconds, cpu)
    return {
        "ranks": dist.world_size(),
        "steps_per_s": rate,
        "steps": steps,
        "samples_per_s": rate * BATCH * dist.world_size(),
        "cpu_s_per_step": cpu[0],
    }


def worker_allreduce(args) -> dict:
    from mpi4py import MPI

    from chainrule import distributed as dist
    from chainrule.distributed import comm

    dist.init()
    shapes = [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    arrays = [
        np.random.default_rng(i).normal(size=s).astype(np.float32) for i, s in enumerate(shapes)
    ]
    flat = np.concatenate([a.ravel() for a in arrays])
    world = comm._state.comm

    def raw():
        world.Allreduce(MPI.IN_PLACE, [flat, MPI.FLOAT], op=MPI.SUM)

    def guarded():
        comm.wait(comm.start_allreduce_sum(flat))

    def mean():
        dist.allreduce_mean(arrays)

    kinds = {"raw": raw, "guarded": guarded, "allreduce_mean": mean}
    from chainrule.distributed import shm

    if shm.available():  # DDP's default when every rank is on this machine
        shared = shm.SharedBuffers([(flat.size, flat.dtype)])

        def shared_sum():
            shared.sum([0])

        kinds["shared memory"] = shared_sum
    times = {k: [] for k in kinds}
    repeats = 300 if args.seconds < 1 else 1000
    dist.barrier()
    for _ in range(repeats):  # the three interleaved call by call: the same noise for each
        for name, fn in kinds.items():
            world.Barrier()  # both ranks start the call together
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    # the median call, as the slower of the two ranks saw it
    best = {k: max(dist.allgather_object(float(np.median(v)))) for k, v in times.items()}
    mb = flat.nbytes / 1e6
    return {
        "megabytes": mb,
        "seconds": best,
        "throughput_vs_raw": {k: best["raw"] / v for k, v in best.items()},
    }


def worker_overlap(args) -> dict:
    from chainrule import distributed as dist
    from chainrule import optim

    dist.init()
    batches = _batches(dist.rank())
    results = {}
    messages = dict(shared_memory=False)  # overlap concerns the MPI_Iallreduce path
    setups = {
        "small buckets, overlap on": dict(bucket_cap_mb=0.2, overlap=True, **messages),
        "small buckets, overlap off": dict(bucket_cap_mb=0.2, overlap=False, **messages),
        "25 MB (one bucket), overlap on": dict(bucket_cap_mb=25, overlap=True, **messages),
        "shared memory (the default on one machine)": dict(),
    }
    for _ in range(2):  # two alternating rounds; the best of each kept
        for name, options in setups.items():
            model = _model()
            ddp = dist.DistributedDataParallel(model, **options)
            opt = optim.SGD(ddp.parameters(), lr=0.01)
            rate, _ = _train_rate(ddp, opt, batches, args.seconds)
            results[name] = max(results.get(name, 0.0), rate)
            results[f"{name} buckets"] = len(ddp._reducer.buckets)
    return results


# ---- the driver ----------------------------------------------------------------------------
def _mpiexec() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if not found:
        raise SystemExit('no mpiexec: pip install "chainrule[mpi]"')
    return found


def _job(
    ranks: int,
    worker: str,
    seconds: float,
    blas_threads: int = 1,
    bind: bool = False,
    env=None,
    as_view: bool = False,
) -> dict:
    command = [
        _mpiexec(),
        *(["-bind-to", "core"] if bind else []),
        "-n",
        str(ranks),
        sys.executable,
        "-m",
        "benchmarks.distributed",
        "--worker",
        worker,
        "--seconds",
        str(seconds),
        "--blas-threads",
        str(blas_threads),
        *(["--as-view"] if as_view else []),
    ]
    env = {**os.environ, **(env or {})}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=env, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


# (ranks, BLAS threads each, mpiexec -bind-to core, buckets summed in shared memory,
#  gradient_as_bucket_view: what cr.fit and chainrule train use)
SCALING_JOBS = [(1, 1, False, True, False), (2, 1, False, True, False)]
SCALING_JOBS += [(2, 1, False, True, True), (2, 1, True, True, False)]
SCALING_JOBS += [(2, 1, False, False, False)]
SCALING_JOBS = SCALING_JOBS * 3 + [(4, 1, False, True, False), (2, 2, False, True, False)]


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


QUIET = 0.15  # a job counts as quiet when other work took less than this many CPUs


def _scaling(seconds: float) -> list:
    """Run SCALING_JOBS and print the table; each job is compared with the last 1-rank job."""
    rows, last_one = [], None
    for ranks, threads, bind, shared, as_view in SCALING_JOBS:
        env = {} if shared else {"CHAINRULE_DIST_SHM": "0"}
        busy, children, start = _busy_seconds(), _children_cpu(), time.time()
        r = _job(ranks, "scaling", seconds, threads, bind=bind, env=env, as_view=as_view)
        mine = _children_cpu() - children
        r["other_cpus"] = (_busy_seconds() - busy - mine) / (time.time() - start)
        r.update(blas_threads=threads, bind_to_core=bind, shared_memory=shared, as_view=as_view)
        if ranks == 1:
            last_one = r
        r["vs_1_rank"] = r["samples_per_s"] / last_one["samples_per_s"]
        r["quiet"] = max(r["other_cpus"], last_one["other_cpus"]) < QUIET
        rows.append(r)
    print("## Scaling of case (c), batch 128 per rank\n")
    print(
        f"vs 1 rank: against the 1-rank job run just before; quiet: other work below {QUIET} "
        "CPUs in both jobs\n"
    )
    print(
        "| ranks | BLAS threads each | -bind-to core | buckets summed by | .grad a bucket view "
        "| samples/s | steps/s per rank | vs 1 rank | other work (CPUs) |"
    )
    print("|---:|---:|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        how = "—" if r["ranks"] == 1 else ("shared memory" if r["shared_memory"] else "Iallreduce")
        print(
            f"| {r['ranks']} | {r['blas_threads']} | {'yes' if r['bind_to_core'] else 'no'} | "
            f"{how} | {'yes' if r['as_view'] else 'no'} | {r['samples_per_s']:.0f} | "
            f"{r['steps_per_s']:.1f} | {r['vs_1_rank']:.2f}x{'' if r['quiet'] else ' (not quiet)'}"
            f" | {r['other_cpus']:.2f} |"
        )
    _print_medians(rows)
    return rows


def _print_medians(rows: list) -> None:
    """The median 'vs 1 rank' of each 2-rank setup over its repeats (each against its own
    1-rank job, run just before it), the number the target is read from."""
    groups: dict = {}
    for r in rows:
        if r["ranks"] == 2 and r["blas_threads"] == 1:
            key = (r["bind_to_core"], r["shared_memory"], r["as_view"])
            groups.setdefault(key, []).append(r["vs_1_rank"])
    print("\n| 2 ranks, 1 BLAS thread each | runs | median vs 1 rank | range |")
    print("|---|---:|---:|---:|")
    for (bind, shared, as_view), ratios in groups.items():
        what = "shared memory" if shared else "Iallreduce"
        what += ", .grad a bucket view" if as_view else ""
        what += ", -bind-to core" if bind else ""
        print(
            f"| {what} | {len(ratios)} | {float(np.median(ratios)):.2f}x | "
            f"{min(ratios):.2f}-{max(ratios):.2f}x |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("scaling", "allreduce", "overlap"))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    parser.add_argument(
        "--as-view", action="store_true", help="(worker) DDP with gradient_as_bucket_view"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--scaling-only", action="store_true", help="only the scaling table")
    args = parser.parse_args(argv)
    if args.worker:
        result = {
            "scaling": worker_scaling,
            "allreduce": worker_allreduce,
            "overlap": worker_overlap,
        }[args.worker](args)
        from chainrule import distributed as dist

        if dist.rank() == 0:
            print("RESULT " + json.dumps(result), flush=True)
        return 0

    seconds = 1.0 if args.quick else args.seconds
    out = {"cpus": os.cpu_count(), "scaling": [], "seconds_per_timing": seconds}
    print(f"# Distributed benchmark ({os.cpu_count()} CPUs, {seconds:g} s per timing)\n")
    out["scaling"] = _scaling(seconds)
    if args.scaling_only:
        _write_json(args.json, out)
        return 0
    print("\n## Allreduce of case (c)'s gradients, 2 ranks\n")
    a = _job(2, "allreduce", seconds)
    out["allreduce"] = a
    print(f"{a['megabytes']:.2f} MB float32\n")
    print("| path | time per allreduce | throughput vs raw Allreduce |")
    print("|---|---:|---:|")
    for k, v in a["seconds"].items():
        print(f"| {k} | {v * 1e3:.3f} ms | {a['throughput_vs_raw'][k]:.2f} |")
    print("\n## Overlap, 2 ranks, steps/s\n")
    o = _job(2, "overlap", seconds)
    out["overlap"] = o
    print("| setup | buckets | steps/s |")
    print("|---|---:|---:|")
    for k, v in o.items():
        if not k.endswith("buckets"):
            print(f"| {k} | {o[k + ' buckets']} | {v:.1f} |")
    _write_json(args.json, out)
    return 0


def _write_json(path, out) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
