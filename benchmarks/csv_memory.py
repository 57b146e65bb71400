"""Peak memory of reading a large numeric CSV file, against the file's size.

    python benchmarks/csv_memory.py [--rows 1000000] [--columns 20]

Writes the file in a temporary folder, then loads it with ``load_csv`` in a fresh process
and reports the growth of that process's peak resident memory (``ru_maxrss``) over its
baseline after imports, divided by the file size. The goal: at most 4x the file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

CHILD = """
import resource, sys, time
import chainrule  # noqa: F401  (imports counted in the baseline)
from chainrule.data import load_csv
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
data = load_csv(sys.argv[1], target="y")
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base, peak, elapsed, data.X.shape[0], data.X.shape[1])
"""


def write(path: str, rows: int, columns: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join(f"x{k}" for k in range(columns - 1)) + ",y\n")
        for start in range(0, rows, 100_000):
            block = rng.standard_normal((min(100_000, rows - start), columns - 1))
            labels = (block[:, 0] > 0).astype(int)
            lines = [",".join(f"{v:.6f}" for v in row) + f",{c}\n" for row, c in zip(block, labels)]
            f.writelines(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.csv")
        write(path, args.rows, args.columns)
        size = os.path.getsize(path)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, path], capture_output=True, text=True, check=True
        ).stdout.split()
    base, peak = int(out[0]) * 1024, int(out[1]) * 1024
    grown = peak - base
    print(f"file: {args.rows} x {args.columns}, {size / 1e6:.0f} MB")
    print(f"load_csv: {float(out[2]):.1f} s; X {out[3]} x {out[4]} float32")
    print(f"peak memory growth: {grown / 1e6:.0f} MB = {grown / size:.2f}x the file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
