"""How much does an optimizer step cost next to a forward pass?

An MLP 784 → 1024 → 256 → 10 (1,068,810 float32 parameters). We time:

- one forward pass at batch 128 (``chainrule.ops.linear`` + ``relu``, graph recorded as in
  training), and for context a forward + backward pass (of the sum of the outputs);
- one optimizer step (SGD with momentum, Adam, AdamW) on all parameters, after a warm-up
  step so that the state exists,

for chainrule and for PyTorch (``torch.optim``, its default CPU implementation) if installed.
The rows are timed in turn within each repetition, so a busy machine slows them alike; the
median is reported (``--stat min`` reports the fastest run instead). PyTorch runs in a child
process: two BLAS thread pools in one process slow each other down.

Run: ``python benchmarks/bench_optim_step.py [--repeat N] [--threads N] [--stat min]``
(``--threads`` limits the BLAS / PyTorch threads; it needs threadpoolctl for NumPy).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = [784, 1024, 256, 10]
BATCH = 128
FORWARD = "forward (batch 128)"
BACKWARD = "forward + backward"
OPTIMIZERS = [
    ("SGD step (momentum 0.9)", lambda mod, ps: mod.SGD(ps, lr=1e-3, momentum=0.9)),
    ("Adam step", lambda mod, ps: mod.Adam(ps, lr=1e-3)),
    ("AdamW step", lambda mod, ps: mod.AdamW(ps, lr=1e-3, weight_decay=1e-2)),
]


def make_problem():
    rng = np.random.default_rng(0)
    weights = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    grads = [rng.standard_normal(w.shape).astype(np.float32) for w in weights]
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    return weights, grads, x


def time_rows(rows: dict, repeat: int, stat: str = "median") -> dict:
    """Milliseconds of each callable (median or minimum), the rows timed in turn each time."""
    for fn in rows.values():  # warm-up: state, work buffers, BLAS threads
        fn()
    times = {label: [] for label in rows}
    for _ in range(repeat):
        for label, fn in rows.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    reduce = statistics.median if stat == "median" else min
    return {label: 1e3 * reduce(ts) for label, ts in times.items()}


def bench_chainrule(repeat: int, stat: str) -> dict:
    import chainrule as cr
    from chainrule import optim
    from chainrule.ops import linear, relu

    weights, grads, x = make_problem()
    params = [cr.tensor(w.copy(), requires_grad=True) for w in weights]
    xt = cr.tensor(x)

    def forward():
        h = xt
        for i in range(0, len(params), 2):
            h = linear(h, params[i], params[i + 1])
            if i + 2 < len(params):
                h = relu(h)
        return h

    def forward_backward():
        for p in params:
            p.grad = None
        forward().sum().backward()

    stepped = [cr.tensor(w, requires_grad=True) for w in weights]  # the optimizers' own copy
    for p, g in zip(stepped, grads):
        p.grad = g
    rows = {FORWARD: forward, BACKWARD: forward_backward}
    rows.update({label: make(optim, stepped).step for label, make in OPTIMIZERS})
    return time_rows(rows, repeat, stat)


def bench_torch(repeat: int, threads: int | None, stat: str) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    weights, grads, x = make_problem()
    params = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    xt = torch.from_numpy(x)

    def forward():
        h = xt
        for i in range(0, len(params), 2):
            h = torch.nn.functional.linear(h, params[i], params[i + 1])
            if i + 2 < len(params):
                h = torch.relu(h)
        return h

    def forward_backward():
        for p in params:
            p.grad = None
        forward().sum().backward()

    stepped = [torch.tensor(w, requires_grad=True) for w in weights]
    for p, g in zip(stepped, grads):
        p.grad = torch.from_numpy(g)
    rows = {FORWARD: forward, BACKWARD: forward_backward}
    rows.update({label: make(torch.optim, stepped).step for label, make in OPTIMIZERS})
    return {
        "results": time_rows(rows, repeat, stat),
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def torch_in_child(repeat: int, threads: int | None, stat: str) -> dict | None:
    """PyTorch's numbers from a fresh process, or None when torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    # Run as a module from the repository root: run as a script, the child would have
    # benchmarks/ first on sys.path, where profile.py hides the standard library's (torch
    # imports cProfile, which imports profile).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "benchmarks.bench_optim_step", "--torch-only"]
    command += ["--repeat", str(repeat), "--stat", stat]
    if threads:
        command += ["--threads", str(threads)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root)
    return json.loads(out.stdout)


def blas_limit(threads: int | None):
    if not threads:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100, help="timed runs per row")
    parser.add_argument("--threads", type=int, default=None, help="BLAS / torch threads")
    parser.add_argument(
        "--stat",
        choices=["median", "min"],
        default="median",
        help="report the median (default) or, on a busy machine, the minimum",
    )
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_only:
        print(json.dumps(bench_torch(args.repeat, args.threads, args.stat)))
        return

    with blas_limit(args.threads):
        ours = bench_chainrule(args.repeat, args.stat)
    theirs = torch_in_child(args.repeat, args.threads, args.stat)

    n_params = sum(w.size for w in make_problem()[0])
    print(f"MLP {' → '.join(map(str, SIZES))}: {n_params:,} float32 parameters")
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, BLAS threads: {args.threads or 'default'}, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
        + (f", torch {theirs['version']} ({theirs['threads']} threads)" if theirs else "")
    )
    print(f"{args.stat} of {args.repeat} runs, milliseconds\n")
    header = f"{'':26} {'chainrule':>10} {'÷ forward':>10}"
    if theirs:
        header += f" {'torch':>10} {'÷ forward':>10}"
    print(header)
    for label, ms in ours.items():
        line = f"{label:26} {ms:10.3f} {ms / ours[FORWARD]:10.2f}"
        if theirs:
            t_ms, t_forward = theirs["results"][label], theirs["results"][FORWARD]
            line += f" {t_ms:10.3f} {t_ms / t_forward:10.2f}"
        print(line)


if __name__ == "__main__":
    main()
