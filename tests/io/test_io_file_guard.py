"""Every file reader refuses what is not a file, before reading it: one documented error each,
within a second, with nothing allocated for the contents (chainrule.io.guard)."""

import contextlib
import io
import json
import os
import sys
import time
import tracemalloc
from argparse import Namespace

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.errors import CLIError
from chainrule.errors import DataError, ModelFormatError
from chainrule.io import format as fmt
from chainrule.io import guard
from chainrule.io import model as model_io
from chainrule.io.checkpoint import read_checkpoint, save_checkpoint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices, sparse files")

HUGE = 5 * 1024**3  # the sparse file's length: 5 GB, 4 KB of it on disk
PEAK_LIMIT = 2 * 1024**2  # no reader may allocate more than this for a refused file


def read_run_json(path):
    """The run record's reader as ``chainrule train --resume`` calls it."""
    from chainrule.cli.train_cmd import prepare_checkpoint_dir

    folder = os.path.join(os.path.dirname(os.path.abspath(path)), "ckpt-" + os.path.basename(path))
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "backup.safetensors"), "wb").close()
    link = os.path.join(folder, "run.json")
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(path), link)
    args = Namespace(checkpoint_dir=folder, resume=True)
    prepare_checkpoint_dir(args, {"lr": 0.1}, "0" * 64)


def read_toml(path):
    from chainrule.cli.config import load_toml

    load_toml(os.fspath(path))


READERS = {
    "csv": (lambda p: cr.data.load_csv(p, target="y"), DataError),
    "model": (cr.load, ModelFormatError),
    "model-info": (model_io.read_metadata, ModelFormatError),
    "tensor-file": (fmt.read, ModelFormatError),
    "tensor-header": (fmt.read_header, ModelFormatError),
    "checkpoint": (read_checkpoint, ModelFormatError),
    "run.json": (read_run_json, CLIError),
    "config": (read_toml, CLIError),
}


def make_fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def make_loop(tmp_path):
    a, b = tmp_path / "loop-a", tmp_path / "loop-b"
    os.symlink(b, a)
    os.symlink(a, b)
    return a


def make_sparse_model(tmp_path):
    """A header declaring one 5 GB tensor, consistent with the file's length, all holes."""
    count = HUGE // 4
    meta = {model_io.KEY_KIND: "model", model_io.KEY_FORMAT_VERSION: model_io.FORMAT_VERSION}
    header = {
        "__metadata__": meta,
        "weight": {"dtype": "F32", "shape": [count], "data_offsets": [0, count * 4]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-(8 + len(raw)) % 8)
    path = tmp_path / "sparse.safetensors"
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little") + raw)
        f.truncate(8 + len(raw) + count * 4)
    return path


def make_sparse_text(tmp_path):
    path = tmp_path / "sparse.txt"
    with open(path, "wb") as f:
        f.write(b"x,y\n1,2\n")
        f.truncate(HUGE)
    return path


KINDS = {
    "fifo": (make_fifo, "named pipe"),
    "char-device": (lambda tmp_path: "/dev/zero", "character device"),
    "folder": (lambda tmp_path: tmp_path, "folder"),
    "symlink-loop": (make_loop, "link loop"),
    "missing": (lambda tmp_path: tmp_path / "nothing-here", "not found"),
}


def refused(reader, path, error, match):
    """Call ``reader(path)``; assert one ``error`` naming the file, fast and without
    allocating; returns the message."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error) as info:
            reader(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert match in message
    assert os.path.basename(os.fspath(path)) in message or "run.json" in message
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert peak < PEAK_LIMIT, f"allocated {peak} bytes"
    return message


@pytest.fixture(scope="module", autouse=True)
def warm_imports():
    """Import what the readers import lazily, so tracemalloc sees only the reading."""
    import chainrule.cli.config  # noqa: F401
    import chainrule.cli.train_cmd  # noqa: F401
    import chainrule.data.csv  # noqa: F401
    import chainrule.nn.registry  # noqa: F401


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_not_a_file_is_refused_at_once(tmp_path, reader, kind):
    read, error = READERS[reader]
    make, match = KINDS[kind]
    path = make(tmp_path)
    refused(read, path, error, match)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_sparse_huge_file_is_refused_unread(tmp_path, reader):
    read, error = READERS[reader]
    maker = make_sparse_text if reader in ("csv", "run.json", "config") else make_sparse_model
    path = maker(tmp_path)
    assert os.stat(path).st_blocks * 512 < 1024**2  # really sparse on this file system
    message = refused(read, path, error, "sparse")
    assert "5,368.7 MB" in message


def test_file_larger_than_free_memory_is_refused_before_reading(tmp_path, monkeypatch):
    data = tmp_path / "d.csv"
    data.write_text("a,y\n" + "1.5,0\n2.5,1\n" * 5000)
    model = tmp_path / "m.safetensors"
    cr.save(cr.nn.Linear(300, 300), model)
    monkeypatch.setattr(guard, "available_memory", lambda: 50_000)
    refused(lambda p: cr.data.load_csv(p, target="y"), data, DataError, "only 50,000 bytes")
    refused(cr.load, model, ModelFormatError, "is available")


def test_memory_check_counts_the_readers_expansion(tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,y\n" + b"1,0\n2,1\n" * 1000)  # 8,004 bytes; parsing needs ~10x
    monkeypatch.setattr(guard, "available_memory", lambda: 40_000)
    with pytest.raises(DataError, match="needs about 80,040 bytes"):
        cr.data.load_csv(path, target="y")
    monkeypatch.setattr(guard, "available_memory", lambda: 200_000)
    assert len(cr.data.load_csv(path, target="y")) == 2000


def test_header_is_judged_before_the_data_is_read(tmp_path):
    """A dense 32 MB file whose header says it is no chainrule model: refused after reading
    the header only (the payload is never allocated)."""
    path = tmp_path / "other.safetensors"
    fmt.write(path, {"w": np.zeros(8 * 1024**2, np.float32)}, {"chainrule.format": "other"})
    refused(cr.load, path, ModelFormatError, "not a chainrule model file")
    refused(read_checkpoint, path, ModelFormatError, "not a chainrule model file")


def test_a_file_swapped_for_a_fifo_after_the_check_does_not_block(tmp_path, monkeypatch):
    path = tmp_path / "x.safetensors"
    cr.save(cr.nn.Linear(2, 1), path)
    real = guard._stat_checked

    def swap_after_check(source, *args):
        size = real(source, *args)
        os.unlink(source)
        os.mkfifo(source)
        return size

    monkeypatch.setattr(guard, "_stat_checked", swap_after_check)
    refused(cr.load, path, ModelFormatError, "named pipe")


# ---- truncated and hostile contents ---------------------------------------------------------


def test_truncated_files_are_one_error_each(tmp_path):
    model = tmp_path / "m.safetensors"
    cr.save(cr.nn.Linear(20, 20), model)
    data = model.read_bytes()
    for cut in (0, 4, 8, 100, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(data[:cut])
        for reader in ("model", "model-info", "tensor-file", "checkpoint"):
            read, error = READERS[reader]
            refused(read, path, error, path.name)
    cases = {
        "csv": ('x,y\n1,"2\n', "never ends"),
        "run.json": ('{"config": {"lr": 0.1', "not valid JSON"),
        "config": ("epochs = [1, 2", "not valid TOML"),
    }
    for reader, (text, match) in cases.items():
        path = tmp_path / f"cut-{reader}"
        path.write_text(text)
        read, error = READERS[reader]
        refused(read, path, error, match)


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"config": 5}',
        '"run"',
        "[" * 100_000 + "]" * 100_000,
        '{"config": {}, "config": {}}',
        "\ufeff{}",
        '{"data_sha256": NaN}',
        "\xff\xfe",
    ],
)
def test_corrupt_run_json_names_the_file(tmp_path, text):
    path = tmp_path / "run.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe" else b"\xff")
    with pytest.raises(CLIError) as info:
        read_run_json(path)
    assert "run.json" in str(info.value)
    assert "Error" not in str(info.value)  # no raw exception names


def test_deeply_nested_toml_is_one_error(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 50_000 + "]" * 50_000)
    with pytest.raises(CLIError, match="deep.toml"):
        read_toml(path)


def trained_metadata(tmp_path):
    from chainrule.cli.main import main

    rng = np.random.default_rng(0)
    data = tmp_path / "d.csv"
    rows = [f"{rng.normal():.3f},{'ab'[i % 2]},{'pq'[i % 3 % 2]}" for i in range(40)]
    data.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", str(data), "--target", "label", "--epochs", "1",
                     "--out", str(model), "--no-plots"]) == 0  # fmt: skip
    return data, model


BAD_VALUES = [None, 7, "x", [], {}, [[1]], ["p", "p"], {"format": "other"}, True, -1e300]


def test_hostile_training_metadata_never_leaks_a_raw_error(tmp_path):
    """Every entry the commands read, replaced by values of the wrong type or out of range,
    in a correctly checksummed file: `info`, `predict` and `evaluate` answer one line."""
    from chainrule.cli.main import main

    data, model = trained_metadata(tmp_path)
    tf = fmt.read(model)
    user = json.loads(tf.metadata[model_io.KEY_METADATA])
    hostile = tmp_path / "h.safetensors"
    checked = 0
    for key in ["task", "target", "classes", "loss", "preprocessing", "training", "columns"]:
        for value in BAD_VALUES:
            meta = dict(tf.metadata)
            meta[model_io.KEY_METADATA] = json.dumps({**user, key: value})
            fmt.write(hostile, tf.tensors, meta)
            for command in (["info", hostile], ["predict", hostile, data]):
                err = io.StringIO()
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    code = main([str(a) for a in command])
                text = err.getvalue()
                if code:
                    checked += 1
                    assert text.count("\n") == 1 and "--debug" not in text, (key, value, text)
    assert checked > 60


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a.update(children=5),
        lambda a: a.update(children=[7]),
        lambda a: a.update(args=[1]),
        lambda a: a.update(names=["metadata", "x", "y"]),
        lambda a: a.update(type=["Sequential"]),
        lambda a: a["children"][0].update(args={"in_features": "many"}),
    ],
)
def test_hostile_architecture_is_a_model_format_error(tmp_path, edit):
    model = tmp_path / "m.safetensors"
    cr.save(cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1)), model)
    tf = fmt.read(model)
    arch = json.loads(tf.metadata[model_io.KEY_ARCHITECTURE])
    edit(arch)
    meta = {**tf.metadata, model_io.KEY_ARCHITECTURE: json.dumps(arch)}
    fmt.write(model, tf.tensors, meta)  # re-checksummed: only the content is hostile
    for reader in (cr.load, model_io.read_metadata):
        with pytest.raises(ModelFormatError, match="m.safetensors"):
            reader(model)


def test_a_child_named_metadata_is_refused_at_save(tmp_path):
    from collections import OrderedDict

    model = cr.nn.Sequential(OrderedDict(metadata=cr.nn.Linear(2, 3), out=cr.nn.Linear(3, 1)))
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match="named 'metadata'.*rename it"):
        cr.save(model, path)
    with pytest.raises(ValueError, match="named 'metadata'"):
        save_checkpoint(tmp_path / "c.safetensors", model)
    assert not path.exists()
    renamed = cr.nn.Sequential(OrderedDict(meta=cr.nn.Linear(2, 3), out=cr.nn.Linear(3, 1)))
    cr.save(renamed, path, metadata={"k": 1})
    assert cr.load(path).metadata == {"k": 1}
    # a hand-made file describing such a model (re-checksummed) is refused, not a TypeError
    tf = fmt.read(path)
    arch = json.loads(tf.metadata[model_io.KEY_ARCHITECTURE])
    arch["names"] = ["metadata", "out"]
    tensors = {k.replace("meta.", "metadata."): v for k, v in tf.tensors.items()}
    fmt.write(path, tensors, {**tf.metadata, model_io.KEY_ARCHITECTURE: json.dumps(arch)})
    for reader in (cr.load, model_io.read_metadata):
        with pytest.raises(ModelFormatError, match="named 'metadata', which clashes"):
            reader(path)


def test_float16_weights_load_and_predict(tmp_path):
    """F16 is in the format's dtype list: such weights load (widened exactly to float32, the
    engine's precision) and predict like a float32 model with the same values."""
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    half = {k: np.asarray(v).astype(np.float16) for k, v in model.state_dict().items()}
    path = tmp_path / "half.safetensors"
    fmt.write(path, half, model_io.header_metadata(model, None, "model"))
    loaded = cr.load(path)
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    model.load_state_dict({k: v.astype(np.float32) for k, v in half.items()})
    model.eval()
    for name, value in loaded.state_dict().items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, half[name].astype(np.float32))
    np.testing.assert_array_equal(cr.predict(loaded, x), cr.predict(model, x))
    info = model_io.read_metadata(path)
    assert info["tensors"]["0.weight"]["dtype"] == "F16"


@pytest.mark.parametrize("dtype", ["I32", "U8", "BOOL", "I8", "I64", "I16"])
def test_integer_weights_are_refused_at_load(tmp_path, dtype):
    model = cr.nn.Linear(3, 2)
    weights = {k: np.asarray(v).astype(fmt.DTYPES[dtype]) for k, v in model.state_dict().items()}
    path = tmp_path / "ints.safetensors"
    fmt.write(path, weights, model_io.header_metadata(model, None, "model"))
    with pytest.raises(ModelFormatError, match="the architecture makes it float32"):
        cr.load(path)


# ---- memory errors ---------------------------------------------------------------------------


def test_memory_error_while_reading_is_one_clean_error(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    cr.save(cr.nn.Linear(2, 1), path)

    def no_memory(*args):
        raise MemoryError

    monkeypatch.setattr(fmt, "_read_exact", no_memory)
    with pytest.raises(ModelFormatError, match="not enough memory") as info:
        cr.load(path)
    assert "MemoryError" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_memory_error_in_the_command_line_is_one_line(tmp_path, monkeypatch, capsys):
    from chainrule.cli import main as cli_main
    from chainrule.cli import train_cmd

    def no_memory(args):
        raise MemoryError

    monkeypatch.setattr(train_cmd, "load_training_data", no_memory)
    assert cli_main.main(["train", str(tmp_path / "d.csv"), "--target", "y"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err
    assert "MemoryError" not in err and "Traceback" not in err


STATE_EDITS = [
    ("epoch",),
    ("history",),
    ("history", "history"),
    ("history", "history", "val_loss"),
    ("callbacks",),
    ("fingerprint",),
    ("default_generator",),
    ("default_generator", "bit_generator", "state"),
]


def test_hostile_training_state_never_leaks_a_raw_error(tmp_path):
    """A checkpoint whose training state (epoch, history, generators, callbacks) holds wrong
    types, re-checksummed: `train --resume` and `report` answer one line each."""
    from chainrule.cli.main import main
    from chainrule.io.checkpoint import KEY_CHECKPOINT

    data, _ = trained_metadata(tmp_path)
    folder = tmp_path / "ck"
    train = ["train", str(data), "--target", "label", "--no-plots", "--out",
             str(tmp_path / "m2.safetensors"), "--checkpoint-dir", str(folder)]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*train, "--epochs", "2"]) == 0
    path = folder / "backup.safetensors"
    tf = fmt.read(path)
    parts = json.loads(tf.metadata[KEY_CHECKPOINT])
    failures = 0
    for keys in STATE_EDITS:
        for value in (None, -1, "x", [[1]]):
            edited = json.loads(json.dumps(parts))
            target = edited["state"]
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value
            fmt.write(path, tf.tensors, {**tf.metadata, KEY_CHECKPOINT: json.dumps(edited)})
            report = ["report", str(folder), "--out", str(tmp_path / "r.html")]
            for command in ([*train, "--epochs", "3", "--resume"], report):
                err = io.StringIO()
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    code = main(command)
                text = err.getvalue()
                if code:
                    failures += 1
                    assert text.count("\n") == 1 and "--debug" not in text, (keys, value, text)
    assert failures > 30
