"""Forward + backward of every loss and every activation, alone, against PyTorch (CPU).

Each row times ``fn(leaf).backward()`` for a leaf tensor that requires grad, at two sizes: one
row (the seed network's single example) and a batch of 128. Losses take (N, 1) inputs, or
(N, 10) for the class losses; activations take (1, 16) and (128, 256), with a fixed upstream
gradient. PyTorch runs one thread, as NumPy's elementwise functions do. Each measurement is
the fastest of 5 timed blocks. The implementations take turns
(a fresh process each) within each round, and the ratio (PyTorch's time ÷
chainrule's, above 1 when chainrule is faster) is computed per round, then the median is taken.

``--baseline-src PATH`` also times the chainrule found under ``PATH`` (another checkout's
``src``) in a fresh process alternating with this one, round by round: before/after numbers
from one run.

Run: ``python -m benchmarks.bench_losses [--rounds 3] [--seconds 0.1] [--baseline-src PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

SIZES = {"row": 1, "batch": 128}
CLASSES = 10
ACTIVATION_WIDTH = {"row": 16, "batch": 256}

# name: (module constructor arguments as text, input kind)
LOSSES = {
    "MSELoss": ("MSELoss()", "real"),
    "L1Loss": ("L1Loss()", "real"),
    "HuberLoss": ("HuberLoss()", "real"),
    "BCELoss": ("BCELoss()", "prob"),
    "BCEWithLogitsLoss": ("BCEWithLogitsLoss()", "logit"),
    "CrossEntropyLoss": ("CrossEntropyLoss()", "class"),
    "NLLLoss": ("NLLLoss()", "logprob"),
}
ACTIVATIONS = {
    "Sigmoid": "Sigmoid()",
    "Tanh": "Tanh()",
    "ReLU": "ReLU()",
    "LeakyReLU": "LeakyReLU()",
    "ELU": "ELU()",
    "GELU": "GELU()",
    "GELU(tanh)": "GELU(approximate='tanh')",
    "Softplus": "Softplus()",
    "SiLU": "SiLU()",
    "LogSigmoid": "LogSigmoid()",
    "Softmax": "Softmax(dim=1)",
    "LogSoftmax": "LogSoftmax(dim=1)",
}


def loss_data(kind: str, rows: int, seed: int = 0):
    """(input, target) float32/int64 arrays for one loss at ``rows`` rows."""
    rng = np.random.default_rng(seed)
    if kind in ("class", "logprob"):
        z = rng.standard_normal((rows, CLASSES)).astype(np.float32)
        if kind == "logprob":
            z = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return z.astype(np.float32), rng.integers(0, CLASSES, rows).astype(np.int64)
    z = rng.standard_normal((rows, 1)).astype(np.float32)
    if kind == "prob":
        z = (1 / (1 + np.exp(-z))).astype(np.float32)
    if kind == "real":
        return z, rng.standard_normal((rows, 1)).astype(np.float32)
    return z, (rng.random((rows, 1)) < 0.5).astype(np.float32)


def calls(library: str, only=None):
    """{row name: {size: zero-argument callable}} for one library (the rows in ``only``).

    Each callable runs forward and backward and returns ``(output, leaf)``: the leaf's gradient
    is the backward pass's result (the smoke test compares both libraries with them).
    """
    if library == "torch":
        import torch

        # One thread, as NumPy's elementwise work: on a shared two-core machine a second
        # PyTorch thread waits for a time slice at every parallel op (milliseconds, measured)
        torch.set_num_threads(1)
        nn, wrap = torch.nn, torch.from_numpy
    else:
        import chainrule as cr

        nn, wrap = cr.nn, cr.as_tensor
    table = {}
    for name, (ctor, kind) in LOSSES.items():
        if only and name not in only:
            continue
        fn = eval(ctor, {}, vars(nn))  # noqa: S307 - constructors from the table above
        table[name] = {}
        for size, rows in SIZES.items():
            x, y = loss_data(kind, rows)
            table[name][size] = _loss_call(fn, wrap(x.copy()).requires_grad_(True), wrap(y))
    for name, ctor in ACTIVATIONS.items():
        if only and name not in only:
            continue
        fn = eval(ctor, {}, vars(nn))  # noqa: S307
        table[name] = {}
        for size, rows in SIZES.items():
            rng = np.random.default_rng(1)
            shape = (rows, ACTIVATION_WIDTH[size])
            x = rng.standard_normal(shape).astype(np.float32)
            up = rng.standard_normal(shape).astype(np.float32)
            table[name][size] = _activation_call(fn, wrap(x).requires_grad_(True), wrap(up))
    return table


def _loss_call(fn, x, y):
    def call():
        x.grad = None
        out = fn(x, y)
        out.backward()
        return out, x

    return call


def _activation_call(fn, x, upstream):
    def call():
        x.grad = None
        out = fn(x)
        out.backward(upstream)
        return out, x

    return call


def measure(library: str, rounds: int, seconds: float, only=None) -> dict:
    """{row: {size: [µs per call, one per round]}} for ``library`` in this process."""
    from benchmarks.worker import time_calls

    table = calls(library, only)
    out = {name: {size: [] for size in SIZES} for name in table}
    for _ in range(rounds):
        for name, by_size in table.items():
            for size, call in by_size.items():
                # the fastest of 5 blocks: on a shared machine a burst of load elsewhere lands
                # on a block or two, and these calls are too short to average it out
                out[name][size].append(time_calls(call, seconds, blocks=5)["min_s"] * 1e6)
    return out


def _worker(library: str, src: str | None, seconds: float, only=None) -> dict:
    """One round of ``library`` in a fresh process (chainrule from ``src`` when given)."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, root) if p)
    cmd = [sys.executable, "-m", "benchmarks.bench_losses", "--worker", library]
    cmd += ["--seconds", str(seconds)] + (["--only", ",".join(only)] if only else [])
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=root)
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_rounds(rounds: int, seconds: float, baseline_src: str | None = None, only=None) -> dict:
    """Alternate the libraries round by round, each round in fresh processes."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    impls = {"chainrule": here if os.path.isdir(here) else None, "torch": None}
    if baseline_src:
        impls["baseline"] = baseline_src
    runs = {impl: [] for impl in impls}
    for r in range(rounds):
        order = list(impls)
        order = order[r % len(order) :] + order[: r % len(order)]
        for impl in order:
            library = "torch" if impl == "torch" else "chainrule"
            runs[impl].append(_worker(library, impls[impl], seconds, only))
    return runs


def summarize(runs: dict) -> list[dict]:
    rows = []
    for name in runs["chainrule"][0]:
        for size in SIZES:
            row = {"name": name, "size": size}
            for impl, per_round in runs.items():
                row[impl] = statistics.median(r[name][size][0] for r in per_round)
            row["vs_torch"] = statistics.median(
                t[name][size][0] / c[name][size][0]
                for t, c in zip(runs["torch"], runs["chainrule"])
            )
            if "baseline" in runs:
                row["speedup"] = statistics.median(
                    b[name][size][0] / c[name][size][0]
                    for b, c in zip(runs["baseline"], runs["chainrule"])
                )
            rows.append(row)
    return rows


def render(rows: list[dict]) -> str:
    baseline = "baseline" in rows[0]
    head = "| op | size | chainrule µs | PyTorch µs | ÷ PyTorch |"
    rule = "|---|---|---|---|---|"
    if baseline:
        head += " before µs | speed-up |"
        rule += "---|---|"
    lines = [head, rule]
    for row in rows:
        size = _size_label(row["name"], row["size"])
        line = (
            f"| {row['name']} | {size} | {row['chainrule']:.1f} | {row['torch']:.1f} | "
            f"{row['vs_torch']:.2f}× |"
        )
        if baseline:
            line += f" {row['baseline']:.1f} | {row['speedup']:.2f}× |"
        lines.append(line)
    return "\n".join(lines)


def _size_label(name: str, size: str) -> str:
    rows = SIZES[size]
    if name in ACTIVATIONS:
        return f"{rows}×{ACTIVATION_WIDTH[size]}"
    width = CLASSES if LOSSES[name][1] in ("class", "logprob") else 1
    return f"{rows}×{width}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.1, help="time per row and round")
    parser.add_argument("--baseline-src", default=None, help="another chainrule's src folder")
    parser.add_argument("--only", default=None, help="comma-separated rows (default: all)")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--worker", choices=("chainrule", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    if args.worker:
        print(json.dumps(measure(args.worker, 1, args.seconds, only)))
        return 0
    rows = summarize(run_rounds(args.rounds, args.seconds, args.baseline_src, only))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
