"""Atomic writes: a crash, an exception or a full disk never damages the previous file."""

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import atomic
from chainrule.io import format as fmt
from chainrule.io.atomic import atomic_write, clean_stale_temps

FULL = os.environ.get("CHAINRULE_FULL_RELIABILITY") == "1"
KILLS = 100 if FULL else 20


def temps(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp-" in name)


def test_writes_bytes_and_callables(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write(target, lambda f: (f.write(b"sec"), f.write(b"ond")))
    assert target.read_bytes() == b"second"
    atomic_write(str(target), memoryview(b"third"))
    assert target.read_bytes() == b"third" and temps(tmp_path) == []


def test_permissions_follow_umask_and_existing_file(tmp_path):
    target = tmp_path / "p.bin"
    atomic_write(target, b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~mask
    os.chmod(target, 0o600)
    atomic_write(target, b"y")
    assert os.stat(target).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("boom"),
        OSError(errno.ENOSPC, "No space left on device"),
        KeyboardInterrupt(),
    ],
)
def test_exception_mid_write_leaves_target_and_no_temp(tmp_path, failure):
    target = tmp_path / "m.bin"
    atomic_write(target, b"old contents")

    def writer(f):
        f.write(b"new partial data" * 1000)
        raise failure

    with pytest.raises(type(failure)):
        atomic_write(target, writer)
    assert target.read_bytes() == b"old contents"
    assert temps(tmp_path) == []


def test_failing_rename_or_fsync_leaves_target(tmp_path, monkeypatch):
    target = tmp_path / "m.bin"
    atomic_write(target, b"old")
    for name in ("replace", "fsync"):
        with monkeypatch.context() as patch:
            patch.setattr(atomic.os, name, lambda *a: (_ for _ in ()).throw(OSError(5, "EIO")))
            with pytest.raises(OSError):
                atomic_write(target, b"new")
        assert target.read_bytes() == b"old" and temps(tmp_path) == []


def test_model_save_failing_mid_write_keeps_old_model(tmp_path, monkeypatch):
    from chainrule.io import format as fmt

    model = cr.nn.Linear(3, 2)
    path = tmp_path / "m.safetensors"
    cr.save(model, path)
    before = path.read_bytes()
    real = fmt._chunks

    def chunks_then_fail(arrays, order):
        yield from list(real(arrays, order))[:1]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fmt, "_chunks", chunks_then_fail)
    with pytest.raises(OSError, match="space"):
        cr.save(cr.nn.Linear(3, 2), path)
    assert path.read_bytes() == before and temps(tmp_path) == []


def test_real_file_size_limit_mid_save_keeps_old_model(tmp_path):
    """A write that the OS refuses part-way (RLIMIT_FSIZE, like a full disk) changes nothing."""
    path = tmp_path / "m.safetensors"
    cr.save(cr.nn.Linear(10, 10), path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import resource, signal, errno
        import chainrule as cr
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        try:
            cr.save(cr.nn.Linear(100, 100), {str(path)!r})
        except OSError as exc:
            print("refused", errno.errorcode[exc.errno])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.stdout.startswith("refused EFBIG"), out.stderr
    assert path.read_bytes() == before and temps(tmp_path) == []


def test_stale_temps_of_dead_processes_are_cleaned(tmp_path):
    target = tmp_path / "m.bin"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.bin.tmp-{dead.pid}-abc"
    live = tmp_path / f".m.bin.tmp-{os.getpid()}-def"
    other = tmp_path / f".other.bin.tmp-{dead.pid}-ghi"
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    assert clean_stale_temps(target) == [str(stale)]
    assert live.exists() and other.exists()
    stale.write_bytes(b"partial")
    atomic_write(target, b"data")  # every write cleans up after earlier crashed writers
    assert not stale.exists() and live.exists()
    assert sorted(clean_stale_temps(target, all_processes=True)) == [str(live)]


SAVER = """
import os, sys
import chainrule as cr
path = sys.argv[1]
model = cr.nn.Linear(5000, 5000)  # 25,005,000 float32 values: 100 MB
print("ready", flush=True)
for line in sys.stdin:  # "go <version>": fork a writer that saves version+1, version+2, ...
    version = int(line.split()[1])
    pid = os.fork()
    if pid == 0:  # the writer: saves until it is killed
        while True:
            version += 1
            model.bias.data[0] = version
            cr.save(model, path, metadata={"version": version})
            print("saved", version, flush=True)
    print("pid", pid, flush=True)
    os.waitpid(pid, 0)
    print("dead", flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_during_saves_never_leaves_a_broken_model(tmp_path):
    """Kill processes that keep saving a 100 MB model at random moments: the file on disk is
    always a complete old or new version, and the helper cleans the killed writers' temps.

    A server process builds the model once and forks a fresh writer for every kill, so a kill
    costs a fork instead of a Python start-up.
    """
    rng = np.random.default_rng(2026)
    path = tmp_path / "big.safetensors"
    cr.save(cr.nn.Linear(3, 1), path, metadata={"version": 0})
    server = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    version, stale_seen, mid_write = 0, 0, 0
    try:
        assert server.stdout.readline().strip() == "ready"
        for kill in range(KILLS):
            server.stdin.write(f"go {version}\n")
            server.stdin.flush()
            finished = []
            line = server.stdout.readline().split()
            while line[0] != "pid":  # a writer may print before the server does
                finished.append(int(line[1]))
                line = server.stdout.readline().split()
            time.sleep(float(rng.uniform(0.0, 0.6)))
            os.kill(int(line[1]), signal.SIGKILL)
            for line in iter(server.stdout.readline, "dead\n"):
                finished.append(int(line.split()[1]))
            last_done = max(finished, default=version)
            # The file is complete and intact: structure and checksum verified...
            tf = fmt.read(path, require_checksum=True)
            on_disk = json.loads(tf.metadata["chainrule.metadata"])["version"]
            assert on_disk in (last_done, last_done + 1), (on_disk, last_done)
            if on_disk > 0:
                assert tf.tensors["bias"][0] == on_disk and tf.tensors["weight"].shape == (
                    5000,
                    5000,
                )
            if kill % 5 == 4:  # ... and loads as a model (slower: builds the layer first)
                assert cr.load(path).metadata["version"] == on_disk
            leftovers = temps(tmp_path)
            stale_seen += len(leftovers)
            mid_write += on_disk == last_done and bool(leftovers)
            assert len(clean_stale_temps(path)) == len(leftovers)
            assert temps(tmp_path) == []
            version = on_disk
    finally:
        server.kill()
        server.wait()
    print(f"\n{KILLS} kills, final version {version}, {stale_seen} stale temporary files cleaned, "
          f"{mid_write} kills left the previous version in place mid-write")  # fmt: skip
    assert version > 0 and stale_seen > 0


def test_a_folder_or_a_missing_folder_is_named_in_the_error(tmp_path):
    model = cr.nn.Linear(2, 1)
    with pytest.raises(IsADirectoryError, match="names a folder; give a file name inside it"):
        cr.save(model, tmp_path)
    missing = tmp_path / "nope" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match=r"folder .*nope' does not exist") as err:
        cr.save(model, missing)
    assert ".tmp-" not in str(err.value)  # the user's path, not a temporary file's
    assert temps(tmp_path) == [] and os.listdir(tmp_path) == []


def test_a_file_in_place_of_the_folder_a_bytes_path_and_an_unwritable_folder(
    tmp_path, monkeypatch
):
    # a file where the folder should be was reported as a folder that "does not exist"; a
    # bytes path crashed in str.startswith; an unwritable folder named the temporary file
    model = cr.nn.Linear(2, 1)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"plain' is a file, not a folder"):
        cr.save(model, tmp_path / "plain" / "m.safetensors")
    cr.save(model, os.fsencode(tmp_path / "bytes.safetensors"))
    assert cr.load(tmp_path / "bytes.safetensors").weight.shape == (1, 2)

    def refused(*args, **kwargs):  # a read-only folder (root may write to any, so simulated)
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".m.tmp-1-x"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError, match=r"m.safetensors'.*no new file can be made") as err:
        cr.save(model, tmp_path / "m.safetensors")
    assert ".tmp-" not in str(err.value)
