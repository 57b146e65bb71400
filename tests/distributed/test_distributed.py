"""chainrule.distributed: DDP, the sampler, cr.fit and the CLI under MPI, and its failure modes.

The multi-rank tests start real jobs with the mpiexec of the mpich wheel (2 ranks, one 4-rank
check), each bounded by a timeout; they are skipped when mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))


def _mpiexec() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    for key in list(env):  # a test run under a launcher must not leak its rank into the jobs
        if key.startswith(("PMI_", "OMPI_", "PMIX_", "MPI_LOCAL", "HYDRA")):
            del env[key]
    env["CHAINRULE_DIST_TIMEOUT"] = "60"
    return env


def run_job(
    ranks: int, args: list, timeout: float = 60, mpi_flags=(), env=None
) -> subprocess.CompletedProcess:
    """``mpiexec -n ranks python args...`` (plain python for ranks=0), bounded by timeout.

    ``env``: variables to set for the job, beside the test environment.
    """
    if ranks:
        command = [_mpiexec(), *mpi_flags, "-n", str(ranks), sys.executable, *args]
    else:
        command = [sys.executable, *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_env(), **(env or {})},
        check=False,
    )


def _needs_mpi():
    pytest.importorskip("mpi4py", reason="mpi4py is missing: pip install 'chainrule[mpi]'")
    if _mpiexec() is None:
        pytest.skip("no mpiexec on PATH: pip install 'chainrule[mpi]' (the mpich wheel)")


def _script(name: str) -> str:
    return os.path.join(SCRIPTS, name)


# ---- a single process: no MPI ---------------------------------------------------------------
def test_single_process_is_world_of_one():
    dist.init()
    assert (dist.rank(), dist.world_size()) == (0, 1)
    a = np.arange(4.0)
    mean = dist.allreduce_mean([a])[0]
    assert mean.tolist() == a.tolist() and mean is not a
    model = nn.Linear(3, 2)
    before = model.weight.array.copy()
    ddp = dist.DistributedDataParallel(model)
    assert ddp.module is model
    out = ddp(cr.tensor(np.ones((4, 3), dtype=np.float32)))
    out.sum().backward()
    np.testing.assert_array_equal(model.weight.data, before)
    np.testing.assert_allclose(np.asarray(model.weight.grad), np.full((2, 3), 4.0))
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]  # PyTorch's keys
    # one process: DDP registers no gradient hooks (the engine's backward stays hook-free)
    from chainrule.autograd.hooks import hooks_of

    assert all(hooks_of(p) is None or not hooks_of(p).post for p in model.parameters())


def test_no_mpi_import_without_launcher():
    code = (
        "import sys; from chainrule import distributed as d; d.init(); "
        "print(d.world_size(), 'mpi4py' in sys.modules)"
    )
    result = run_job(0, ["-c", code], timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "False"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PMI_SIZE": "two"}, "not a number"),
        ({"PMI_SIZE": "2", "PMI_RANK": "0"}, "MPI"),
    ],
)
def test_bad_mpi_environment_is_a_clear_error(env, message):
    code = "from chainrule import distributed as d; d.init()"
    full = _env()
    full.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=full
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "DistributedError" in last and message in last, result.stderr


def test_launcher_without_mpi4py_names_the_extra():
    code = (
        "import sys; sys.modules['mpi4py'] = None\nfrom chainrule import distributed as d; d.init()"
    )
    full = _env()
    full.update({"PMI_SIZE": "2", "PMI_RANK": "0"})
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=full
    )
    assert result.returncode != 0 and 'pip install "chainrule[mpi]"' in result.stderr


# ---- the sampler ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, replicas, drop_last",
    [(10, 3, False), (10, 3, True), (2, 4, False), (12, 4, False), (7, 2, True)],
)
def test_sampler_matches_pytorch_layout(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    data = list(range(n))
    for r in range(replicas):
        ours = dist.DistributedSampler(data, replicas, r, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(
            data, replicas, r, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shuffles_alike_on_every_rank_and_shares_are_disjoint():
    data = list(range(103))
    shares = [dist.DistributedSampler(data, 4, r, seed=5) for r in range(4)]
    for epoch in (0, 1):
        for s in shares:
            s.set_epoch(epoch)
        parts = [list(s) for s in shares]
        assert all(len(p) == 26 for p in parts)
        flat = [i for p in parts for i in p]
        assert sorted(set(flat)) == data and len(flat) - len(set(flat)) == 1  # one pad
    shares[0].set_epoch(0)
    first = list(shares[0])
    shares[0].set_epoch(1)
    assert list(shares[0]) != first
    with pytest.raises(ValueError, match="invalid rank"):
        dist.DistributedSampler(data, 2, 2)


def test_sampler_drives_the_dataloader():
    from chainrule.data import DataLoader, TensorDataset

    data = TensorDataset(np.arange(10.0), np.arange(10))
    sampler = dist.DistributedSampler(data, 2, 1, shuffle=False)
    loader = DataLoader(data, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [t.tolist() for _, t in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(cr.DataError, match="mutually exclusive"):
        DataLoader(data, batch_size=2, sampler=sampler, shuffle=True)


# ---- several ranks ----------------------------------------------------------------------------
def test_ranks_equal_one_process_with_the_same_global_batch(tmp_path):
    _needs_mpi()
    runs = {}
    for ranks in (0, 2, 4):
        out = tmp_path / f"w{ranks}.npz"
        result = run_job(ranks, [_script("equivalence.py"), str(out)], timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        runs[ranks] = np.load(out)
    assert int(runs[2]["buckets"]) > 1  # the gradients travelled in several buckets
    for ranks in (2, 4):
        for name in ("sgd", "adam"):
            np.testing.assert_allclose(runs[ranks][name], runs[0][name], rtol=0, atol=1e-6)
            assert not np.array_equal(runs[ranks][name], np.zeros_like(runs[0][name]))
    # gradient_as_bucket_view=True: .grad is the bucket's memory, the weights bit-identical
    out = tmp_path / "view.npz"
    result = run_job(2, [_script("equivalence.py"), str(out), "view"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    view = np.load(out)
    for name in ("sgd", "adam"):
        np.testing.assert_array_equal(view[name], runs[2][name])
    # one machine: the buckets were summed in shared memory; CHAINRULE_DIST_SHM=0 sends them
    # by MPI_Iallreduce instead, with the same bits (a sum of two terms has one rounding)
    assert bool(runs[2]["shared_memory"]) and bool(runs[4]["shared_memory"])
    out = tmp_path / "messages.npz"
    result = run_job(
        2, [_script("equivalence.py"), str(out)], timeout=60, env={"CHAINRULE_DIST_SHM": "0"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    messages = np.load(out)
    assert not bool(messages["shared_memory"])
    for name in ("sgd", "adam"):
        np.testing.assert_array_equal(messages[name], runs[2][name])


def test_fit_combines_logs_over_ranks_and_rank_zero_writes(tmp_path):
    _needs_mpi()
    result = run_job(2, [_script("fit_logs.py"), str(tmp_path)], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "logs.json").read_text())
    first, second = report["ranks"]
    assert first == second  # every rank logged the same numbers
    full = report["full"]
    assert first["val_accuracy"] == full["accuracy"] and first["val_f1"] == full["f1"]
    assert abs(first["val_loss"] - full["loss"]) < 1e-6
    assert abs(first["val_mse"] - full["mse"]) < 1e-6
    assert result.stdout.count("Epoch 3/3") == 1  # progress from rank 0 only
    assert report["files"] == [
        "log.csv",
        "model-1.safetensors",
        "model-2.safetensors",
        "model-3.safetensors",
    ]
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4
    assert report["blas"] and set(report["blas"]) == {1}  # one BLAS thread per rank


def _one_line(stderr: str, pattern: str) -> str:
    lines = [line for line in stderr.splitlines() if re.search(pattern, line)]
    assert lines, stderr
    return lines[0]


# Each rank's python runs under a shell that outlives it by a few seconds, so mpiexec (which
# otherwise kills the whole job within a second) lets the other ranks notice the loss
# themselves, as a launcher that does not clean up (srun without --kill-on-bad-exit) would.
_OUTLIVE = """#!/bin/sh
dir="$1"; shift
"$@" 2> "$dir/err.$PMI_RANK"
echo $? > "$dir/rc.$PMI_RANK"
sleep 5
"""


def _wait_for(path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_rank_stops_the_others_with_one_line(tmp_path):
    _needs_mpi()
    wrapper = tmp_path / "outlive.sh"
    wrapper.write_text(_OUTLIVE)
    wrapper.chmod(0o755)
    started = time.monotonic()
    command = [
        _mpiexec(),
        "-n",
        "2",
        str(wrapper),
        str(tmp_path),
        sys.executable,
        _script("faults.py"),
        "kill",
        str(tmp_path),
    ]
    # The shells' few seconds of outliving are for the launcher, not for the test: the test
    # reads the ranks' files as soon as rank 0 has stopped, then ends the job.
    job = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
    )
    try:
        assert _wait_for(tmp_path / "rc.0", 30), "rank 0 did not stop within 30 s"
        assert time.monotonic() - started < 30
        assert _wait_for(tmp_path / "rc.1", 10), "rank 1's shell did not report its status"
    finally:
        job.terminate()
        try:
            job.wait(timeout=30)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
    assert (tmp_path / "rc.1").read_text().strip() == "137"  # SIGKILL
    assert (tmp_path / "rc.0").read_text().strip() == "1"
    lines = (tmp_path / "err.0").read_text().strip().splitlines()
    pid = (tmp_path / "pid.1").read_text()
    assert len(lines) == 1, lines
    assert re.search(rf"rank 0 stops: rank 1 \(pid {pid} on .+\) was lost", lines[0]), lines


def test_mpiexec_ends_the_job_when_a_rank_is_killed_and_the_backup_resumes(tmp_path):
    _needs_mpi()
    started = time.monotonic()
    result = run_job(2, [_script("faults.py"), "kill", str(tmp_path)], timeout=60)
    assert result.returncode != 0 and time.monotonic() - started < 30
    pid = (tmp_path / "pid.1").read_text()
    report = result.stdout + result.stderr  # MPICH's report names the killed process; under
    # load it may name the other rank first (the one our watchdog stopped), so accept either
    assert "BAD TERMINATION" in report and ("signal 9" in report or f"PID {pid}" in report)
    assert (tmp_path / "backup.safetensors").exists()
    # the last backup loads and the run finishes, here on one process
    resumed = run_job(0, [_script("faults.py"), "none", str(tmp_path)], timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads((tmp_path / "result.json").read_text())
    # rank 1 died as epoch 4 began; rank 0 may have been killed while writing epoch 3's backup
    assert report["resumed"] in (2, 3) and report["epochs"] == 6


def test_an_exception_on_one_rank_stops_the_others(tmp_path):
    _needs_mpi()
    started = time.monotonic()
    result = run_job(
        2,
        [_script("faults.py"), "raise", str(tmp_path)],
        timeout=60,
        mpi_flags=("-disable-auto-cleanup",),
    )
    assert result.returncode != 0 and time.monotonic() - started < 30
    line = _one_line(result.stderr, r"rank 0 stops")
    assert "rank 1" in line and "rank 1 broke on purpose" in line


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("shape", r"different model than rank 0: '0.weight' has shape \(12, 2\)"),
        ("data", r"different training setup than rank 0: data_sha256"),
        ("batch", r"batch_size is 16 there but 32 on rank 0"),
        ("lr", r"optimizer is \"SGD\[\{'lr': 0.2, .* on rank 0"),
    ],
)
def test_ranks_that_disagree_fail_at_start(tmp_path, mode, expected):
    _needs_mpi()
    result = run_job(2, [_script("faults.py"), mode, str(tmp_path)], timeout=60)
    assert result.returncode != 0
    assert re.search(expected, result.stderr), result.stderr
    assert not (tmp_path / "backup.safetensors").exists()  # stopped before the first epoch


def test_cli_train_under_mpiexec_writes_one_model_and_resumes(tmp_path):
    _needs_mpi()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,c,y\n" + "".join(f"{a},{b},{c},{t}\n" for (a, b, c), t in zip(X, y)))
    out = tmp_path / "model.safetensors"
    common = [
        "-m",
        "chainrule.cli.main",
        "train",
        str(csv),
        "--target",
        "y",
        "--out",
        str(out),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--no-plots",
    ]
    result = run_job(2, [*common, "--epochs", "2"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("model saved") == 1
    assert cr.load(out) is not None
    resumed = run_job(0, [*common, "--epochs", "4", "--resume"], timeout=60)  # 2 ranks -> 1
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "epoch 3/4" in resumed.stdout and "epoch 1/4" not in resumed.stdout
    back = run_job(2, [*common, "--epochs", "5", "--resume"], timeout=60)  # 1 rank -> 2
    assert back.returncode == 0, back.stdout + back.stderr
    assert back.stdout.count("epoch 5/5") == 1 and "epoch 4/5" not in back.stdout


def test_cli_notes_and_dry_run_print_once_under_mpiexec(tmp_path):
    """Every rank printed the schema notes ('left out: id') and the whole --dry-run."""
    _needs_mpi()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    csv = tmp_path / "data.csv"
    csv.write_text(
        "id,a,b,y\n" + "".join(f"{i},{a},{b},{int(a > b)}\n" for i, (a, b) in enumerate(X))
    )
    common = ["-m", "chainrule.cli.main", "train", str(csv), "--target", "y", "--no-plots"]
    dry = run_job(2, [*common, "--dry-run"], timeout=60)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stdout.count("dry run: would train") == 1
    assert dry.stdout.count("note: left out: id") == 1
    out = ["--out", str(tmp_path / "m.safetensors"), "--epochs", "1"]
    trained = run_job(2, [*common, *out], timeout=60)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert trained.stdout.count("note: left out: id") == 1


@pytest.mark.parametrize("mode", [[], ["view"]], ids=["copies", "bucket-view"])
def test_unused_parameters_need_finish_and_count_as_zero(mode):
    _needs_mpi()
    result = run_job(2, [_script("unused.py"), *mode], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "OK"


def test_hooks_are_removed_with_the_ddp_and_only_its_own_passes_are_averaged():
    _needs_mpi()
    result = run_job(2, [_script("hooks.py")], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "OK"
