"""``cr.fit(compile="auto")`` against ``compile=False``, one process, runs interleaved.

    python -m benchmarks.bench_fit_compile --repeats 5

Each case builds the same seeded model twice per repeat and fits it once per setting (no
training metrics, so ``"auto"`` takes the compiled step; the finite-value guard on, as by
default), then checks that both settings ended with the same weights, bit for bit. Prints the
min and median seconds per fit and the ratio of medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import chainrule as cr
from benchmarks.cases import DIGITS, digits_split, load_digits
from chainrule import nn, optim


def _digits():
    X, y, _ = load_digits()
    X_train, y_train, _, _ = digits_split(X, y, DIGITS["test_size"])
    sizes = (X.shape[1], DIGITS["hidden"], 10)
    return (
        "digits job: 64-64-10 ReLU, Adam, batch 200, 50 epochs",
        (X_train, y_train),
        {
            "sizes": sizes,
            "act": nn.ReLU,
            "loss": nn.CrossEntropyLoss,
            "opt": lambda p: optim.Adam(p, lr=DIGITS["lr"]),
            "batch": DIGITS["batch"],
            "epochs": DIGITS["epochs"],
        },
    )


def _tiny():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4096, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float32)
    return (
        "2-16-16-1 tanh, SGD momentum, batch 32, 5 epochs of 4,096",
        (X, y),
        {
            "sizes": (2, 16, 16, 1),
            "act": nn.Tanh,
            "loss": nn.BCEWithLogitsLoss,
            "opt": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
            "batch": 32,
            "epochs": 5,
        },
    )


def _model(sizes, act):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _fit(data, spec, compile):
    cr.manual_seed(0)
    model = _model(spec["sizes"], spec["act"])
    opt = spec["opt"](model.parameters())
    started = time.perf_counter()
    cr.fit(
        model,
        data,
        spec["loss"](),
        opt,
        epochs=spec["epochs"],
        batch_size=spec["batch"],
        seed=1,
        metrics=(),
        verbose=False,
        compile=compile,
    )
    return time.perf_counter() - started, [p.array.copy() for p in model.parameters()]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print("| case | compile | min s/fit | median s/fit | off / auto (medians) |")
    print("|---|---|---|---|---|")
    for name, data, spec in (_digits(), _tiny()):
        times = {"off": [], "auto": []}
        for _ in range(args.repeats):
            seconds_off, w_off = _fit(data, spec, False)
            seconds_auto, w_auto = _fit(data, spec, "auto")
            times["off"].append(seconds_off)
            times["auto"].append(seconds_auto)
            if not all(np.array_equal(a, b) for a, b in zip(w_off, w_auto)):
                raise SystemExit(f"{name}: the weights differ between compile off and auto")
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in ("off", "auto"):
            ratio = f"{med['off'] / med['auto']:.2f}×" if k == "auto" else ""
            print(f"| {name} | {k} | {min(times[k]):.3f} | {med[k]:.3f} | {ratio} |")


if __name__ == "__main__":
    main()
