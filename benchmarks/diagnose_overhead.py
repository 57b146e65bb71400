"""What does ``cr.diagnose.Recorder`` cost? ``cr.fit`` with and without it, on cases (b) and (c).

For each case the same network (weights from ``cases.init_params``) is trained by ``cr.fit`` on
the case's fixed batches (no shuffling, no validation, silent), once with no callback and once
with a default ``Recorder()`` (automatic interval, 2% time budget, end-of-run diagnosis
included). The two runs alternate within each repetition, so a busy machine slows both alike;
reported: the ratio of the fastest runs (min with / min without: the least disturbed by other
load), the median of the per-repetition ratios, the recorder's own account of its time (the
seconds it spent recording and diagnosing ÷ the training time), the cost of its per-step
hook on a step it does not record (timed alone), and "accounted": own share + hooks ÷ step
time, the overhead without the timing noise of a shared machine. The target is at most 5%.

Run: ``python benchmarks/diagnose_overhead.py [--repeat N] [--steps N] [--cases b,c]``
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import chainrule as cr  # noqa: E402
from benchmarks.cases import MLP_CASES, init_params, make_batches  # noqa: E402
from benchmarks.impl_chainrule import _model  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.diagnose import Recorder  # noqa: E402


def _data(case, batches: int):
    pairs = make_batches(case, n_batches=batches)
    X = np.concatenate([x for x, _ in pairs])
    y = np.concatenate([y for _, y in pairs])
    return X, y


def _run(case, params, X, y, epochs: int, record: bool) -> tuple[float, Recorder | None]:
    model = _model(case.sizes, case.hidden, params)
    loss_fn = nn.BCEWithLogitsLoss() if case.loss == "bce" else nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=case.lr)
    recorder = Recorder(verbose=False) if record else None
    started = time.perf_counter()
    cr.fit(
        model,
        (X, y),
        loss_fn,
        opt,
        epochs=epochs,
        batch_size=case.batch,
        shuffle=False,
        metrics=(),
        callbacks=[recorder] if record else [],
        verbose=False,
    )
    return time.perf_counter() - started, recorder


def hook_cost_us(calls: int = 100_000) -> float:
    """Microseconds per step of the per-step hook on a step that is not recorded."""
    recorder = Recorder()
    recorder._step, recorder._due, recorder._losses = 0, 1 << 60, []
    recorder._recording = False
    logs = {"loss": 0.5, "size": 32}
    end = recorder.on_batch_end
    best = math.inf
    for _ in range(5):
        recorder._losses.clear()
        started = time.perf_counter()
        for i in range(calls):
            end(i, logs)
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def measure(key: str, repeat: int, steps: int) -> dict:
    case = MLP_CASES[key]
    params = init_params(case.sizes)
    batches = 16
    X, y = _data(case, batches)
    epochs = max(1, steps // batches)
    _run(case, params, X, y, 1, True)  # warm-up: imports, BLAS threads
    _run(case, params, X, y, 1, False)
    ratios, plain, recorded, records, shares = [], [], [], [], []
    for i in range(repeat):
        order = (False, True) if i % 2 == 0 else (True, False)
        times = {}
        for record in order:
            seconds, recorder = _run(case, params, X, y, epochs, record)
            times[record] = seconds
            if recorder is not None:
                r = recorder.record
                records.append(len(r["steps_recorded"]))
                shares.append((r["record_seconds"] + r["diagnose_seconds"]) / r["train_seconds"])
        plain.append(times[False])
        recorded.append(times[True])
        ratios.append(times[True] / times[False])
    step_us = statistics.median(plain) / (epochs * batches) * 1e6
    own = statistics.median(shares)
    hooks = hook_cost_us()
    return {
        "hooks_us": hooks,
        "accounted": own + hooks / step_us,
        "case": key,
        "description": case.description,
        "steps": epochs * batches,
        "step_us_without": step_us,
        "records_median": statistics.median(records),
        "ratio_median": statistics.median(ratios),
        "ratio_of_min": min(recorded) / min(plain),
        "own_share": own,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="alternating pairs of runs")
    parser.add_argument("--steps", type=int, default=3200, help="optimizer steps per fit")
    parser.add_argument("--cases", default="b,c", help="benchmark cases, comma-separated")
    args = parser.parse_args(argv)
    print(f"cr.fit with / without cr.diagnose.Recorder(), {args.repeat} alternating pairs")
    print(
        f"{'case':<5}{'steps':>7}{'step (us)':>11}{'records':>9}{'ratio of min':>14}"
        f"{'median ratio':>14}{'own share':>11}{'hooks (us)':>12}{'accounted':>11}"
    )
    worst = 0.0
    for key in args.cases.split(","):
        row = measure(key.strip(), args.repeat, args.steps)
        worst = max(worst, row["ratio_of_min"])
        print(
            f"{row['case']:<5}{row['steps']:>7}{row['step_us_without']:>11.1f}"
            f"{row['records_median']:>9.0f}{row['ratio_of_min']:>14.3f}"
            f"{row['ratio_median']:>14.3f}{row['own_share']:>11.2%}"
            f"{row['hooks_us']:>12.2f}{row['accounted']:>11.2%}"
        )
    print(f"target: ratio <= 1.05; worst ratio of min {worst:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
