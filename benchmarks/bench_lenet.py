"""LeNet-5 training step, chainrule against PyTorch (CPU), in one run, plus a per-layer table.

The network is the modern LeNet-5 (ReLU and max pooling): Conv2d(1, 6, 5, padding=2) → ReLU →
MaxPool2d(2) → Conv2d(6, 16, 5) → ReLU → MaxPool2d(2) → Flatten → Linear(400, 120) → ReLU →
Linear(120, 84) → ReLU → Linear(84, 10), softmax cross-entropy, plain SGD (lr 0.05), batch 64
of 1×28×28 float32 images. Both libraries start from the same weights (chainrule's, loaded
into PyTorch through ``state_dict``) and train on the same batches; the first steps' losses are
compared before anything is timed.

Timing alternates the two libraries within each round (a busy machine slows both alike) and
reports medians and the median of the per-round ratios. Times are the process's CPU time
(``time.process_time``), so waiting for a core on a shared machine is not counted; with one
thread it equals the time the step computes. The per-layer table times each layer
alone, forward and forward + backward (of the output times a fixed upstream gradient), at the
shapes it sees inside the network. BLAS and PyTorch use ``--threads`` threads (default 1:
on a shared machine one thread each gives the steadiest ratio).

Run: ``python -m benchmarks.bench_lenet [--rounds 7] [--steps 20] [--threads 1] [--memory]``
(``--memory``: the peak resident memory 20 steps add, each library in a fresh process).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

BATCH = 64
LR = 0.05


def lenet(nn):
    """The same architecture from ``chainrule.nn`` or ``torch.nn``."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def batches(n: int, seed: int = 0):
    """``n`` batches of digit-like inputs in [0, 1] and labels."""
    rng = np.random.default_rng(seed)
    return [
        (
            rng.random((BATCH, 1, 28, 28), dtype=np.float32),
            rng.integers(0, 10, BATCH).astype(np.int64),
        )
        for _ in range(n)
    ]


def build(seed: int = 0):
    """(chainrule step, torch step, chainrule model, torch model) sharing initial weights."""
    import torch

    import chainrule as cr

    cr.manual_seed(seed)
    ours = lenet(cr.nn)
    theirs = lenet(torch.nn)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    our_loss, their_loss = cr.nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    our_opt = cr.optim.SGD(ours.parameters(), lr=LR)
    their_opt = torch.optim.SGD(theirs.parameters(), lr=LR)

    def our_step(x, y):
        our_opt.zero_grad()
        loss = our_loss(ours(cr.as_tensor(x)), cr.as_tensor(y))
        loss.backward()
        our_opt.step()
        return loss.item()

    def their_step(x, y):
        their_opt.zero_grad()
        loss = their_loss(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        their_opt.step()
        return loss.item()

    return our_step, their_step, ours, theirs


def check_same_arithmetic(steps: int = 5) -> list[tuple[float, float]]:
    """The first steps' losses in both libraries (they must agree to float32 rounding)."""
    our_step, their_step, _, _ = build()
    pairs = [(our_step(x, y), their_step(x, y)) for x, y in batches(steps, seed=1)]
    for ours, theirs in pairs:
        if not np.isclose(ours, theirs, rtol=1e-4, atol=1e-5):
            raise SystemExit(f"chainrule and PyTorch disagree: losses {pairs}")
    return pairs


def time_steps(rounds: int, steps: int) -> dict:
    our_step, their_step, _, _ = build()
    data = batches(steps)
    for x, y in data[:3]:  # warm up both
        our_step(x, y), their_step(x, y)
    times = {"chainrule": [], "torch": []}
    for r in range(rounds):
        order = [("chainrule", our_step), ("torch", their_step)]
        for name, step in order if r % 2 == 0 else order[::-1]:
            start = time.process_time()
            for x, y in data:
                step(x, y)
            times[name].append((time.process_time() - start) / steps)
    ratios = [a / b for a, b in zip(times["chainrule"], times["torch"])]
    return {
        "chainrule_ms": 1e3 * statistics.median(times["chainrule"]),
        "torch_ms": 1e3 * statistics.median(times["torch"]),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
    }


def _time_layer(ours_layer, theirs_layer, x, upstream, needs_input_grad, rounds, repeats):
    import torch

    import chainrule as cr

    our_x, their_x = cr.as_tensor(x), torch.from_numpy(x)
    if needs_input_grad:
        our_x.requires_grad_(True)
        their_x.requires_grad_(True)
    our_up, their_up = cr.as_tensor(upstream), torch.from_numpy(upstream)
    calls = {
        "cr_fwd": lambda: ours_layer(our_x),
        "torch_fwd": lambda: theirs_layer(their_x),
        "cr_fb": lambda: ours_layer(our_x).backward(our_up),
        "torch_fb": lambda: theirs_layer(their_x).backward(their_up),
    }
    timings = {key: [] for key in calls}
    for _ in range(rounds):
        for key, fn in calls.items():
            start = time.process_time()
            for _ in range(repeats):
                fn()
            timings[key].append((time.process_time() - start) / repeats * 1e6)
    return {k: statistics.median(v) for k, v in timings.items()}


def per_layer(rounds: int, repeats: int = 20) -> list[dict]:
    """Each layer alone at its in-network shape: forward and forward + backward times (µs)."""
    import torch

    _, _, ours, theirs = build()
    x = batches(1)[0][0]
    rows = []
    for i, (ours_layer, theirs_layer) in enumerate(zip(ours, theirs)):
        with torch.no_grad():
            out = theirs_layer(torch.from_numpy(x)).numpy()
        upstream = np.random.default_rng(i).standard_normal(out.shape).astype(np.float32)
        # the first layer's input is data: no gradient, as in training
        row = {"layer": f"{i}: {ours_layer!r}", "shape": tuple(x.shape)}
        row.update(_time_layer(ours_layer, theirs_layer, x, upstream, i > 0, rounds, repeats))
        rows.append(row)
        x = out
    return rows


def worker_job(impl: str, seconds: float) -> dict:
    """The runner's ``lenet`` case (``python -m benchmarks --cases lenet``): one library's step,
    timed by the worker's common timer in a fresh process, as the MLP cases are."""
    import itertools

    from benchmarks.worker import _proc_status_mb, time_calls

    rss_start = _proc_status_mb("VmRSS")
    our_step, their_step, ours, _ = build()
    step = our_step if impl == "chainrule" else their_step
    if impl == "jax":  # the same weights, one jax.jit-compiled step (benchmarks/impl_jax.py)
        from benchmarks.impl_jax import build_lenet_step

        step = build_lenet_step(ours.state_dict(), LR)
    batch_iter = itertools.cycle(batches(8))

    def run():
        step(*next(batch_iter))

    result = time_calls(run, seconds if seconds > 0 else 1.0)
    result["rss_start_mb"] = rss_start
    result["peak_rss_mb"] = _proc_status_mb("VmHWM")
    return result


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_worker(library: str, steps: int = 20) -> None:
    """Print the peak resident memory that ``steps`` training steps add above the memory held
    before them, in MiB (Linux: the peak is reset through /proc/self/clear_refs first). Run in
    a fresh process per library, so each library's peak is its own."""
    our_step, their_step, _, _ = build()
    step = our_step if library == "chainrule" else their_step
    data = batches(steps)
    before = _status_mib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM, the peak resident size, to the current size
    for x, y in data:
        step(x, y)
    print(_status_mib("VmHWM") - before)


def peak_memory() -> dict:
    """Peak RSS added by training, chainrule and PyTorch, each in its own process."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = {}
    for library in ("chainrule", "torch"):
        run = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_lenet", "--memory-worker", library],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        result[library] = float(run.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def limited_threads(n: int):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the test extra
        limiter = contextlib.nullcontext()
    else:
        limiter = threadpool_limits(n)
    with limiter:
        yield
    torch.set_num_threads(previous)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="training steps per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-layers", action="store_true", help="skip the per-layer table")
    parser.add_argument("--memory", action="store_true", help="also compare peak memory")
    parser.add_argument("--memory-worker", choices=("chainrule", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker:
        with limited_threads(1):
            memory_worker(args.memory_worker)
        return 0
    with limited_threads(args.threads):
        pairs = check_same_arithmetic()
        print(f"same arithmetic: first losses {pairs[0][0]:.6f} (chainrule) "
              f"{pairs[0][1]:.6f} (torch)")  # fmt: skip
        result = time_steps(args.rounds, args.steps)
        print(
            f"LeNet-5 step, batch {BATCH}, {args.threads} thread(s): chainrule "
            f"{result['chainrule_ms']:.2f} ms, PyTorch {result['torch_ms']:.2f} ms, ratio "
            f"{result['ratio']:.2f}x (per round: "
            f"{', '.join(f'{r:.2f}' for r in result['ratios'])})"
        )
        if args.memory:
            peak = peak_memory()
            print(
                f"peak memory added by 20 training steps: chainrule {peak['chainrule']:.1f} MiB, "
                f"PyTorch {peak['torch']:.1f} MiB"
            )
        if not args.no_layers:
            print("\n| layer | input | chainrule fwd µs | torch fwd µs | chainrule fwd+bwd µs | "
                  "torch fwd+bwd µs | ratio fwd+bwd |")  # fmt: skip
            print("|---|---|---|---|---|---|---|")
            for row in per_layer(max(3, args.rounds // 2)):
                print(
                    f"| {row['layer']} | {row['shape']} | {row['cr_fwd']:.0f} | "
                    f"{row['torch_fwd']:.0f} | {row['cr_fb']:.0f} | {row['torch_fb']:.0f} | "
                    f"{row['cr_fb'] / row['torch_fb']:.2f} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
