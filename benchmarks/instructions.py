"""Instructions per training step, counted by valgrind's callgrind: a measure the machine's load
does not move.

On a shared 2-core machine a step's time drifts by 10-30 % within minutes, more than the
differences worth finding (a 1-2 % pass over memory, 40 µs of dispatch). The number of
instructions a step executes does not drift: this counts them for each implementation, as
(a run of ``warmup + steps`` steps) − (a run of ``warmup`` steps alone), divided by ``steps``,
so start-up and imports cancel out. With ``--diff A,B`` it lists the functions whose counts
differ most between two implementations (where NumPy, BLAS, libc or the interpreter spend the
difference).

Instructions are not time: a memory pass costs more than its instruction count says, and
Python code run with cold caches costs more per instruction than hot. Use the count to find
and confirm a difference, the benchmark's time to size it.

Run: ``python -m benchmarks.instructions [--case c] [--impls chainrule,ops,numpy] [--steps 16]
[--warmup 8] [--diff chainrule,numpy]`` (needs ``valgrind`` on the PATH; about a minute per
implementation for case (c), much longer for (d)). BLAS runs with one thread
(``OPENBLAS_NUM_THREADS=1``): with threadpoolctl's limit instead, OpenBLAS's idle worker thread
spins, and valgrind counts every spin.

The child imports the chainrule that ``PYTHONPATH`` names after the repository root
(``PYTHONPATH=../other-tree/src`` counts another commit's library with today's cases). The
count is not exact from run to run: hash seeds and addresses move dictionary probes and the
garbage collector's passes, about ±0.5 % of a tiny network's step (±2-3 k of ~340 k for (a),
measured with ``PYTHONHASHSEED=0``, and as much again between seeds). Compare differences
larger than that, or several runs and seeds.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child: build the case's step, run warmup + steps steps, exit.
_CHILD = """
import itertools, importlib, sys
from benchmarks import cases
from benchmarks.worker import IMPLS
key, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
case = cases.MLP_CASES[key]
impl = importlib.import_module(IMPLS[name])
batches = cases.make_batches(case, n_batches=8)
step = impl.build_mlp_step(case, cases.init_params(case.sizes), batches)
it = itertools.cycle(batches)
for _ in range(n):
    step(*next(it))
"""

_TOTAL = re.compile(r"Collected\s*:\s*([\d,]+)")
# callgrind_annotate's rows: "1,234,567 (12.34%)  file:function [object]"
_ROW = re.compile(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.+?)(?:\s+\[.*\])?$")


def parse_total(valgrind_stderr: str) -> int:
    """The instruction total valgrind prints at exit (``==pid== Collected : 1,234``)."""
    match = _TOTAL.search(valgrind_stderr)
    if match is None:
        raise RuntimeError(f"no instruction total in valgrind's output:\n{valgrind_stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def parse_functions(annotate_output: str) -> dict[str, int]:
    """Instructions per function from ``callgrind_annotate``'s table (the source file dropped:
    ``/path/ceval.c:_PyEval_EvalFrameDefault`` → ``_PyEval_EvalFrameDefault``)."""
    counts: collections.Counter = collections.Counter()
    for line in annotate_output.splitlines():
        match = _ROW.match(line)
        if match is None or "PROGRAM TOTALS" in line:
            continue
        name = match.group(2)
        counts[name.rsplit(":", 1)[-1] if "/" in name else name] += int(
            match.group(1).replace(",", "")
        )
    return dict(counts)


def _count(case: str, impl: str, n_steps: int, out_file: Path) -> tuple[int, dict[str, int]]:
    # Keep the caller's PYTHONPATH after ROOT: PYTHONPATH=<worktree>/src measures that tree's
    # chainrule, not the editable install's.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=path)
    run = subprocess.run(
        [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
            sys.executable, "-c", _CHILD, case, impl, str(n_steps),
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"valgrind failed for {impl}:\n{run.stderr[-2000:]}")
    annotate = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(out_file)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return parse_total(run.stderr), parse_functions(annotate.stdout)


def per_step(case: str, impl: str, steps: int, warmup: int, folder: Path):
    """(instructions per step, {function: instructions per step}) of one implementation."""
    total_long, funcs_long = _count(case, impl, warmup + steps, folder / f"{impl}.long.out")
    total_short, funcs_short = _count(case, impl, warmup, folder / f"{impl}.short.out")
    funcs = {
        name: (funcs_long.get(name, 0) - funcs_short.get(name, 0)) / steps
        for name in set(funcs_long) | set(funcs_short)
    }
    return (total_long - total_short) / steps, funcs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--case", default="c", help="an MLP case of benchmarks/cases.py")
    parser.add_argument("--impls", default="chainrule,ops,numpy")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--diff", default=None, help="A,B: the functions that differ most")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    missing = [tool for tool in ("valgrind", "callgrind_annotate") if shutil.which(tool) is None]
    if missing:
        parser.error(f"{' and '.join(missing)} not found: install valgrind (apt install valgrind)")
    impls = args.impls.split(",")
    diff = args.diff.split(",") if args.diff else []
    if diff and (len(diff) != 2 or not set(diff) <= set(impls)):
        parser.error("--diff takes two of the --impls, e.g. --diff chainrule,numpy")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for impl in impls:
            results[impl] = per_step(args.case, impl, args.steps, args.warmup, Path(folder))
            print(f"({args.case}) {impl:10s} {results[impl][0] / 1e6:8.3f} M instructions a step")
    if diff:
        (a, fa), (b, fb) = (results[diff[0]][1], diff[0]), (results[diff[1]][1], diff[1])
        rows = sorted(set(a) | set(b), key=lambda k: -abs(a.get(k, 0) - b.get(k, 0)))
        print(f"\n{'difference':>12s} {fa:>12s} {fb:>12s}   (thousands of instructions a step)")
        for name in rows[: args.top]:
            x, y = a.get(name, 0), b.get(name, 0)
            print(f"{(x - y) / 1e3:12.1f} {x / 1e3:12.1f} {y / 1e3:12.1f}   {name[:80]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
