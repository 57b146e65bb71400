"""The control for the 2-rank scaling target: two independent processes, no MPI at all.

    python -m benchmarks.distributed_control                 # 5 interleaved rounds
    python -m benchmarks.distributed_control --rounds 7 --seconds 2 --impls numpy,chainrule

Data-parallel training on 2 ranks can at best reach the throughput of two processes that do
the same work side by side and never talk. This measures that ceiling on the machine at
hand: one process alone versus two at once, each running a training step of case (c)
(784-256-128-10, ReLU, cross-entropy, SGD, float32, batch 128) with one BLAS thread, pinned
each to its own core (``os.sched_setaffinity``) and unpinned. The ratio of the pair's
combined steps/s to one process's steps/s is the best 2-rank scaling the hardware allows.

Steps compared (``--impls``):

* ``numpy``: the hand-written NumPy step of ``benchmarks/impl_numpy.py`` (no autograd);
* ``chainrule``: chainrule's eager step (``nn.Sequential``, ``CrossEntropyLoss``, ``SGD``);
* ``gemm``: one 256×784 by 784×128 float32 product in a loop (BLAS only);
* ``pyloop``: a pure-Python integer loop (no memory traffic, no BLAS): when even this slows
  down beside a twin, the two virtual CPUs share a physical core or the host is busy, and no
  software change can recover the loss.

Every configuration is run once per round, rounds interleaved, and each process counts its
steps inside one common time window (the driver starts the window after every process has
built and warmed up its step). Reported: the min and median over rounds of the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

CONFIGS = {  # name: the CPU of each process (None: unpinned)
    "alone": (None,),
    "alone, pinned": (0,),
    "pair, pinned": (0, 1),
    "pair, unpinned": (None, None),
}


def _cpu_ticks() -> tuple[int, int]:
    """(busy, stolen) clock ticks so far, summed over the CPUs (the first line of /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal


def _build(impl: str):
    from benchmarks.cases import MLP_CASES, init_params, make_batches

    case = MLP_CASES["c"]
    batches = make_batches(case, 8)
    if impl == "numpy":
        from benchmarks import impl_numpy

        step = impl_numpy.build_mlp_step(case, init_params(case.sizes))
    elif impl == "chainrule":
        from benchmarks import impl_chainrule

        step = impl_chainrule.build_mlp_step(case, init_params(case.sizes))
    elif impl == "gemm":
        rng = np.random.default_rng(0)
        a = rng.standard_normal((256, 784)).astype(np.float32)
        b = rng.standard_normal((784, 128)).astype(np.float32)
        out = np.empty((256, 128), dtype=np.float32)

        def step(x, y):
            np.matmul(a, b, out=out)

    elif impl == "pyloop":

        def step(x, y):
            total = 0
            for i in range(20_000):
                total += i
            return total

    else:
        raise SystemExit(f"unknown step {impl!r}")
    return step, batches


def worker(impl: str, cpu: int | None) -> None:
    """Build the step, warm up, say READY, wait for GO <start> <seconds>, print the rate."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    step, batches = _build(impl)
    for i in range(30):
        step(*batches[i % len(batches)])
    print("READY", flush=True)
    _, start, seconds = sys.stdin.readline().split()
    start, end = float(start), float(start) + float(seconds)
    while time.time() < start:
        pass
    steps, now, cpu0 = 0, time.time(), time.process_time()
    t0 = now
    while now < end:
        step(*batches[steps % len(batches)])
        steps += 1
        now = time.time()
    print(f"RATE {steps / (now - t0):.3f} {time.process_time() - cpu0:.4f}", flush=True)


def run_config(impl: str, cpus: tuple, seconds: float) -> tuple[list[float], float]:
    """Start one process per entry of ``cpus`` and time them in one window.

    Returns their rates and the CPUs' worth of other work (other people's jobs) that ran in
    the window: the busy time of the machine less the workers' own CPU time, per second.
    """
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = []
    for cpu in cpus:
        command = [sys.executable, "-m", "benchmarks.distributed_control", "--worker", impl]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        procs.append(
            subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
            )
        )
    for p in procs:
        line = p.stdout.readline()
        if not line.startswith("READY"):
            raise SystemExit(f"worker failed: {line!r}")
    start = time.time() + 0.05
    for p in procs:
        p.stdin.write(f"GO {start} {seconds}\n")
        p.stdin.flush()
    time.sleep(max(0.0, start - time.time()))
    busy0, _ = _cpu_ticks()
    time.sleep(seconds)
    busy1, _ = _cpu_ticks()
    rates, own = [], 0.0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        rates.append(float(out.split()[-2]))
        own += float(out.split()[-1])
    others = ((busy1 - busy0) / os.sysconf("SC_CLK_TCK") - own) / seconds
    return rates, others


QUIET = 0.15  # a round counts as quiet when other work used less than this many CPUs


def _measure(impls, rounds: int, seconds: float) -> dict:
    """Per (step, configuration): a list of (steps/s of all processes, vs alone, others)."""
    runs: dict = {(i, c): [] for i in impls for c in CONFIGS}
    for _ in range(rounds):
        for impl in impls:
            alone = None
            for name, cpus in CONFIGS.items():
                rates, others = run_config(impl, cpus, seconds)
                if name == "alone":
                    alone = (sum(rates), others)
                ratio = sum(rates) / alone[0]
                runs[impl, name].append((sum(rates), ratio, max(others, alone[1])))
    return runs


def _ratio_cells(entries: list) -> str:
    ratios = [r for _, r, _ in entries]
    quiet = [r for _, r, o in entries if o < QUIET]
    quiet_cell = f"{float(np.median(quiet)):.2f}x ({len(quiet)})" if quiet else "— (0)"
    return f"{min(ratios):.2f}x | {float(np.median(ratios)):.2f}x | {quiet_cell}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--impls", default="numpy,chainrule,gemm,pyloop")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.cpu)
        return 0
    with open("/proc/loadavg", encoding="ascii") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])}")
    (_, steal0), t0 = _cpu_ticks(), time.time()
    runs = _measure(args.impls.split(","), args.rounds, args.seconds)
    stolen = (_cpu_ticks()[1] - steal0) / os.sysconf("SC_CLK_TCK") / (time.time() - t0)
    with open("/proc/loadavg", encoding="ascii") as f:
        print(f"load average at end: {' '.join(f.read().split()[:3])}")
    print(f"host steal time during the run: {stolen * 100:.1f} % of one CPU")
    print(f"quiet rounds: other work below {QUIET} CPU in the window and in its 'alone' run\n")
    print(
        "| step | configuration | steps/s, all processes (median) | vs alone: min | median "
        "| median of quiet rounds (count) | other work, CPUs (median) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for (impl, name), entries in runs.items():
        median = float(np.median([t for t, _, _ in entries]))
        others = float(np.median([o for _, _, o in entries]))
        print(f"| {impl} | {name} | {median:.1f} | {_ratio_cells(entries)} | {others:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
