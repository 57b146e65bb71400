"""``cr.fit(compile="auto")`` against ``compile=False``, one process, runs interleaved.

    python -m benchmarks.bench_fit_compile --repeats 5
    python -m benchmarks.bench_fit_compile --cli --repeats 3 --cli-epochs 200

Each case builds the same seeded model twice per repeat and fits it once per setting (the
finite-value guard on, as by default), then checks that both settings ended with the same
weights, bit for bit. Each case runs in three forms: no training metrics; ``metrics=
["accuracy"]`` (the compiled step returns the output the metric reads); accuracy plus the
diagnosis ``Recorder`` with its default time budget (its recorded steps eager, the others
compiled). Prints the min and median seconds per fit and the ratio of medians.

``--cli`` times ``chainrule train --dataset digits`` instead, ``--compile on`` against
``--compile off``, each run a fresh process, the two interleaved; it reports the process's
wall time and the training time the command prints, and checks the saved weights are equal.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
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


# What each form of a case adds to the fit: training metrics, the diagnosis Recorder.
FORMS = {
    "no metrics": {"metrics": (), "recorder": False},
    "accuracy": {"metrics": ("accuracy",), "recorder": False},
    "accuracy + Recorder": {"metrics": ("accuracy",), "recorder": True},
}


def _fit(data, spec, compile, form):
    from chainrule.diagnose import Recorder

    cr.manual_seed(0)
    model = _model(spec["sizes"], spec["act"])
    opt = spec["opt"](model.parameters())
    callbacks = [Recorder(verbose=False)] if form["recorder"] else []
    started = time.perf_counter()
    history = cr.fit(
        model,
        data,
        spec["loss"](),
        opt,
        epochs=spec["epochs"],
        batch_size=spec["batch"],
        seed=1,
        metrics=form["metrics"],
        callbacks=callbacks,
        verbose=False,
        compile=compile,
    )
    seconds = time.perf_counter() - started
    return seconds, [p.array.copy() for p in model.parameters()], history


def _fits(repeats: int) -> None:
    print("| case | form | compile | min s/fit | median s/fit | off / auto (medians) |")
    print("|---|---|---|---|---|---|")
    for name, data, spec in (_digits(), _tiny()):
        for form_name, form in FORMS.items():
            times = {"off": [], "auto": []}
            for _ in range(repeats):
                seconds_off, w_off, _ = _fit(data, spec, False, form)
                seconds_auto, w_auto, history = _fit(data, spec, "auto", form)
                times["off"].append(seconds_off)
                times["auto"].append(seconds_auto)
                if not all(np.array_equal(a, b) for a, b in zip(w_off, w_auto)):
                    raise SystemExit(f"{name}: the weights differ between compile off and auto")
            med = {k: statistics.median(v) for k, v in times.items()}
            share = history.compiled_steps / max(history.compiled_steps + history.eager_steps, 1)
            for k in ("off", "auto"):
                note = f" ({share:.0%} of steps compiled)" if k == "auto" else ""
                ratio = f"{med['off'] / med['auto']:.2f}×" if k == "auto" else ""
                print(
                    f"| {name} | {form_name} | {k}{note} | {min(times[k]):.3f} | "
                    f"{med[k]:.3f} | {ratio} |"
                )


def _train_cli(folder: str, mode: str, epochs: int) -> tuple[float, float, str, str]:
    """One ``chainrule train`` process: (wall s, training s it printed, compiled steps, path)."""
    out = os.path.join(folder, f"{mode}.safetensors")
    command = [sys.executable, "-m", "chainrule", "train", "--dataset", "digits", "--layers"]
    command += ["64", "--epochs", str(epochs), "--no-plots", "--overwrite", "--out", out]
    command += ["--compile", mode]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"chainrule train --compile {mode} failed:\n{result.stderr}")
    trained = float(re.search(r"time \(s\)\s+([0-9.]+)", result.stdout).group(1))
    compiled = re.search(r"compiled steps\s+(\d+ of \d+)", result.stdout).group(1)
    return wall, trained, compiled, out


def _cli(repeats: int, epochs: int) -> None:
    times: dict = {"off": ([], []), "on": ([], [])}
    steps = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            saved = {}
            for mode in ("off", "on"):
                wall, trained, steps[mode], saved[mode] = _train_cli(folder, mode, epochs)
                times[mode][0].append(wall)
                times[mode][1].append(trained)
            a, b = cr.load(saved["off"]).state_dict(), cr.load(saved["on"]).state_dict()
            if not all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a):
                raise SystemExit("chainrule train: the weights differ between --compile on/off")
    print(f"chainrule train --dataset digits --layers 64 --epochs {epochs}, {repeats} each")
    print("| --compile | compiled steps | min wall s | min training s | off / on (min training) |")
    print("|---|---|---|---|---|")
    best = {mode: min(times[mode][1]) for mode in times}
    for mode in ("off", "on"):
        ratio = f"{best['off'] / best['on']:.2f}×" if mode == "on" else ""
        wall = min(times[mode][0])
        print(f"| {mode} | {steps[mode]} | {wall:.2f} | {best[mode]:.2f} | {ratio} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cli", action="store_true", help="time chainrule train instead")
    parser.add_argument("--cli-epochs", type=int, default=200)
    args = parser.parse_args(argv)
    if args.cli:
        _cli(args.repeats, args.cli_epochs)
    else:
        _fits(args.repeats)


if __name__ == "__main__":
    main()
