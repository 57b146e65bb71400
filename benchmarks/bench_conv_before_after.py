"""LeNet-5's convolutions and training step with ``Conv2d`` as it was at a git revision against
the current one and PyTorch, alternating in one process (CPU time, one thread each).

The earlier ``src/chainrule/ops/conv.py`` is read with ``git show REV:...`` and loaded as a
separate module; switching ``chainrule.ops.conv.Conv2d`` between its class and today's makes
every ``conv2d`` call (and so ``nn.Conv2d``) use one or the other. Each variant's first five
losses are checked against PyTorch's before anything is timed. Per layer: µs per call, forward
and forward + backward (conv1's input needs no gradient, as in training); step: ms per step of
20; ratios are medians of the per-round ratios.

Run: ``python -m benchmarks.bench_conv_before_after REV [--rounds 9]``
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import bench_lenet as bl


def load_before(rev: str):
    source = subprocess.run(
        ["git", "show", f"{rev}:src/chainrule/ops/conv.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "conv_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("chainrule.ops._conv_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(rev: str, rounds: int) -> dict:
    import torch

    import chainrule as cr
    import chainrule.ops.conv as conv

    classes = {"before": load_before(rev).Conv2d, "after": conv.Conv2d}
    our_step, their_step, ours, theirs = bl.build()
    data = bl.batches(20)
    for name, cls in classes.items():
        conv.Conv2d = cls
        a, b, _, _ = bl.build()
        pairs = [(a(x, y), b(x, y)) for x, y in bl.batches(5, seed=1)]
        if not all(np.isclose(p, q, rtol=1e-4, atol=1e-5) for p, q in pairs):
            raise SystemExit(f"{name}: chainrule and PyTorch disagree: {pairs}")
    rng = np.random.default_rng(0)
    layers = {"conv1": (0, (64, 1, 28, 28), False), "conv2": (3, (64, 6, 14, 14), True)}
    calls = {}
    for key, (index, shape, input_grad) in layers.items():
        x = rng.random(shape, dtype=np.float32)
        with torch.no_grad():
            out_shape = theirs[index](torch.from_numpy(x)).shape
        up = rng.standard_normal(out_shape).astype(np.float32)
        ox, tx = cr.as_tensor(x), torch.from_numpy(x)
        if input_grad:
            ox.requires_grad_(True)
            tx.requires_grad_(True)
        oup, tup = cr.as_tensor(up), torch.from_numpy(up)
        calls[key] = (ours[index], ox, oup, theirs[index], tx, tup)
    res: dict = {}

    def timeit(key, fn, reps):
        start = time.process_time()
        for _ in range(reps):
            fn()
        res.setdefault(key, []).append((time.process_time() - start) / reps)

    for x, y in data[:3]:
        their_step(x, y)
    for cls in classes.values():
        conv.Conv2d = cls
        for x, y in data[:3]:
            our_step(x, y)
    names = [*classes, "torch"]
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            torch_side = name == "torch"
            if not torch_side:
                conv.Conv2d = classes[name]
            for key, (layer, x, up, tlayer, tx, tup) in calls.items():
                lay, inp, upg = (tlayer, tx, tup) if torch_side else (layer, x, up)
                timeit((name, key, "fwd"), lambda lay=lay, inp=inp: lay(inp), 20)
                timeit(
                    (name, key, "fwd+bwd"), lambda lay=lay, inp=inp, g=upg: lay(inp).backward(g), 20
                )
            step = their_step if torch_side else our_step
            timeit((name, "step"), lambda step=step: [step(x, y) for x, y in data], 1)
    conv.Conv2d = classes["after"]
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rev", help="the git revision whose conv.py is 'before'")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    with bl.limited_threads(1):
        res = run(args.rev, args.rounds)
    print("| | before | after | PyTorch |\n|---|---|---|---|")
    for key in ("conv1", "conv2"):
        for part in ("fwd", "fwd+bwd"):
            cells = [f"{1e6 * statistics.median(res[(n, key, part)]):.0f}" for n in
                     ("before", "after", "torch")]  # fmt: skip
            print(f"| {key} {part} µs | {' | '.join(cells)} |")
    steps = {n: res[(n, "step")] for n in ("before", "after", "torch")}
    cells = [f"{1e3 * statistics.median(v) / 20:.2f}" for v in steps.values()]
    print(f"| step ms | {' | '.join(cells)} |")
    for a, b in (("after", "before"), ("before", "torch"), ("after", "torch")):
        ratios = [x / y for x, y in zip(steps[a], steps[b])]
        print(f"step {a} ÷ {b}: {statistics.median(ratios):.3f} (rounds "
              f"{min(ratios):.2f}–{max(ratios):.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
