"""Run the real ``chainrule`` command in a subprocess, as a user would."""

import os
import subprocess
import sys

import numpy as np


def run_cli(*args, cwd=None, timeout=240, env=None):
    full_env = {**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def write_classification_csv(path, n=240, seed=0):
    """Two clusters with string labels, a categorical feature and a quoted text cell."""
    rng = np.random.default_rng(seed)
    lines = ["height,weight,colour,species"]
    for i in range(n):
        label = i % 2
        h = rng.normal(1.5 if label else -1.5, 0.6)
        w = rng.normal(-0.5 if label else 0.5, 0.6)
        colour = ["red", "green", "blue"][int(rng.integers(0, 3))]
        lines.append(f"{h:.5f},{w:.5f},{colour},{'setosa' if label else 'virginica'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_regression_csv(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 0.5 + rng.normal(0, 0.05, n)
    rows = ["a,b,y"] + [f"{a:.5f},{b:.5f},{t:.5f}" for (a, b), t in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")
    return path
