"""Issue 6 at the command line: malformed CSVs, hostile model files, kills, determinism."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli, write_classification_csv

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "data"))
sys.path.insert(0, str(TESTS / "io"))

from hostile_corpus import build_corpus, sentinels  # noqa: E402
from test_data_csv_errors import CASES  # noqa: E402

# Options of load_csv that `chainrule train` exposes as flags.
_FLAGS = {"target": "--target", "features": "--features", "impute": "--impute"}
_CLI_CASES = [
    c
    for c in CASES
    if set(c[2]) <= set(_FLAGS)
    and c[2].get("impute", "mean") == "mean"
    and all(isinstance(v, str | list) for v in c[2].values())  # a column number is API-only
]


def test_at_least_thirty_malformed_csvs_reach_the_command_line():
    assert len(_CLI_CASES) >= 30


# One Python process runs `chainrule train` on every malformed file in turn, as
# `python -m chainrule` does (`main(argv)`, its exit code, its stdout and stderr), instead of
# starting an interpreter per file: the start-up cost more than the commands. Each command gets
# a fresh copy of the warning filters, so a warning shows for every command that raises it, as
# it would in a process of its own.
_BATCH_SCRIPT = """
import contextlib, io, json, sys, time, warnings
from chainrule.cli.main import main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with warnings.catch_warnings():
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
    seconds = time.perf_counter() - started
    results.append([code, out.getvalue(), err.getvalue(), seconds])
print(json.dumps(results))
"""


def _train_args(folder, case, content, kwargs):
    path = folder / f"bad_{case}.csv"
    path.write_bytes(content)
    args = ["train", path, "--out", folder / "model.safetensors", "--no-plots"]
    for key, value in {"target": "label", **kwargs}.items():
        args += [_FLAGS[key], ",".join(value) if isinstance(value, list) else str(value)]
    return [str(a) for a in args]


@pytest.fixture(scope="module")
def malformed_runs(tmp_path_factory):
    """{case: (folder, exit code, stdout, stderr, seconds)} of `chainrule train` on each file."""
    folders = {case: tmp_path_factory.mktemp(f"bad_{case}") for case, *_ in _CLI_CASES}
    argvs = [_train_args(folders[c[0]], *c[:3]) for c in _CLI_CASES]
    env = {**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", _BATCH_SCRIPT],
        input=json.dumps(argvs),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return {c[0]: (folders[c[0]], *r) for c, r in zip(_CLI_CASES, results)}


@pytest.mark.parametrize(
    "case, content, kwargs, fragments", _CLI_CASES, ids=[c[0] for c in _CLI_CASES]
)
def test_malformed_csv_one_line_exit_2_fast(malformed_runs, case, content, kwargs, fragments):
    folder, returncode, stdout, stderr, elapsed = malformed_runs[case]
    assert returncode == 2, stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert f"bad_{case}.csv" in lines[0] and "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert "Epoch" not in stdout  # no training started
    assert not (folder / "model.safetensors").exists()
    assert elapsed < 2.0 + 1.5  # 2 s for chainrule, and room for a loaded CI machine


_HOSTILE_SCRIPT = """
import sys
from chainrule.cli.main import main
codes = [main(["predict", path, sys.argv[1]]) for path in sys.argv[2:]]
print(",".join(map(str, codes)))
"""


def test_hostile_model_files_through_predict_run_nothing(tmp_path):
    sentinel_dir = tmp_path / "sentinels"
    sentinel_dir.mkdir()
    files = build_corpus(tmp_path / "corpus", sentinel_dir)
    assert len(files) >= 200
    data = write_classification_csv(tmp_path / "data.csv", n=10)
    result = subprocess.run(
        [sys.executable, "-c", _HOSTILE_SCRIPT, str(data), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    codes = result.stdout.strip().splitlines()[-1].split(",")
    assert codes == ["2"] * len(files), result.stderr[-2000:]
    assert sentinels(sentinel_dir) == []
    messages = result.stderr.strip().splitlines()
    assert len(messages) == len(files)  # one line each, no traceback
    assert not any("Traceback" in m for m in messages)


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_ten_runs_with_one_seed_give_identical_files(tmp_path):
    data = write_classification_csv(tmp_path / "data.csv", n=120)
    env = {**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg"}
    args = ["train", data, "--target", "species", "--epochs", "2", "--seed", "5", "--no-plots"]
    # ten separate processes, started together: each core trains one while another starts up
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "chainrule", *map(str, args), "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for out in (tmp_path / f"m{i}.safetensors" for i in range(10))
    ]
    digests = set()
    try:
        for i, run in enumerate(runs):
            _, stderr = run.communicate(timeout=240)
            assert run.returncode == 0, stderr
            digests.add(_sha256(tmp_path / f"m{i}.safetensors"))
    finally:
        for run in runs:  # a failed assertion leaves no training behind
            if run.poll() is None:
                run.kill()
                run.communicate()
    assert len(digests) == 1
    import chainrule as cr

    meta = cr.io.model.read_metadata(tmp_path / "m0.safetensors")["metadata"]
    assert meta["reproducibility"]["seed"] == 5
    assert meta["reproducibility"]["numpy"] == np.__version__
    assert "blas" in meta["reproducibility"]


def _kill_data(tmp_path, kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 4))
    if kind == "regression":
        y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.1, len(X))
        cells = [f"{v:.6f}" for v in y]
    elif kind == "binary":
        cells = ["yes" if v > 0 else "no" for v in X[:, 0] + X[:, 1]]
    else:
        cells = [f"c{int(np.digitize(v, [-0.7, 0.7]))}" for v in X[:, 0] - X[:, 2]]
    lines = ["a,b,c,d,target"] + [
        ",".join(f"{v:.6f}" for v in row) + f",{cell}" for row, cell in zip(X, cells)
    ]
    path = tmp_path / f"{kind}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path, kind):
    data = _kill_data(tmp_path, kind)
    common = [
        "train",
        str(data),
        "--target",
        "target",
        "--layers",
        "16",
        "--epochs",
        "30",
        "--batch-size",
        "8",
        "--seed",
        "2",
        "--no-plots",
        "--optimizer",
        "sgd",
        "--lr",
        "0.01",
    ]
    env = {**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg"}
    straight = tmp_path / "straight.safetensors"
    # The uninterrupted run trains in the background while the killed runs and their resumes
    # go on (a second core does it for free); the weights are compared once it is done.
    reference = subprocess.Popen(
        [sys.executable, "-m", "chainrule", *common, "--out", str(straight)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        resumed_files = _kill_and_resume_twice(tmp_path, kind, common, env)
        _, reference_err = reference.communicate(timeout=240)
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.communicate()
    assert reference.returncode == 0, reference_err
    import chainrule as cr

    a = cr.load(straight).state_dict()
    for attempt, out in enumerate(resumed_files):
        b = cr.load(out).state_dict()
        assert a.keys() == b.keys()
        assert all(a[k].tobytes() == b[k].tobytes() for k in a), f"{kind} attempt {attempt}"


def _kill_and_resume_twice(tmp_path, kind, common, env):
    """Kill `chainrule train` at a random moment after its first backup, then resume it; twice.
    Returns the two resumed model files."""
    rng = random.Random(kind)
    resumed_files = []
    for attempt in range(2):
        ckpt = tmp_path / f"ckpt{attempt}"
        out = tmp_path / f"resumed{attempt}.safetensors"
        argv = [
            sys.executable,
            "-m",
            "chainrule",
            *common,
            "--out",
            str(out),
            "--checkpoint-dir",
            str(ckpt),
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        # Wait until at least one epoch is backed up, then kill at a random moment.
        deadline = time.time() + 60
        while not (ckpt / "backup.safetensors").exists() and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        assert proc.poll() is None, "training finished before the kill; make it longer"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists()  # killed before the model file was written
        resumed = run_cli(*common, "--out", out, "--checkpoint-dir", ckpt, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        resumed_files.append(out)
    return resumed_files
