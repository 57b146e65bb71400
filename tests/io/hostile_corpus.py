"""A corpus of hostile model files, for tests that load them and prove no code runs.

Every file tries, when loaded by something unsafe, to create its own sentinel file
``<sentinel_dir>/<file name>``: pickles whose ``__reduce__`` calls ``os.system``, ``exec``,
``eval``, ``subprocess.Popen``, ``open`` or ``pathlib.Path.touch`` (protocols 0-5, raw and
inside PyTorch-style zips), NumPy ``.npy``/``.npz`` files holding such pickles in object arrays,
Keras-style configs naming ``Lambda`` layers and modules, and chainrule-format files whose
architecture names classes, modules or functions outside the layer allow-list.

Reuse (e.g. for ``chainrule predict`` in the CLI tests)::

    sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
    from hostile_corpus import build_corpus, load_in_subprocess, sentinels

    files = build_corpus(tmp_path / "corpus", tmp_path / "sentinels")
    results = load_in_subprocess(files, loader="import chainrule as cr\\nload = cr.load")
    assert sentinels(tmp_path / "sentinels") == []
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import marshal
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np

from chainrule.io import format as fmt
from chainrule.io import model as model_io


class Reducer:
    """Unpickling this object calls ``func(*args)``."""

    def __init__(self, func, args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return self.func, self.args


def payloads(sentinel: str) -> dict[str, Reducer]:
    """Ways for an unpickler to create ``sentinel``, by name."""
    code = f"open({sentinel!r}, 'w').close()"
    return {
        "os_system": Reducer(os.system, (f"touch '{sentinel}'",)),
        "exec": Reducer(builtins.exec, (code,)),
        "eval": Reducer(builtins.eval, (code,)),
        "popen": Reducer(subprocess.Popen, (["touch", sentinel],)),
        "open": Reducer(builtins.open, (sentinel, "w")),
        "path_touch": Reducer(pathlib.Path.touch, (pathlib.Path(sentinel),)),
    }


def _torch_zip(pickled: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", np.zeros(4, np.float32).tobytes())
    return buf.getvalue()


def _ours(architecture, *, user=None, tensors=None) -> bytes:
    """A well-formed, correctly checksummed chainrule file with the given architecture."""
    meta = {
        model_io.KEY_KIND: "model",
        model_io.KEY_FORMAT_VERSION: model_io.FORMAT_VERSION,
        model_io.KEY_VERSION: "0.1.0",
        model_io.KEY_NUMPY: np.__version__,
        model_io.KEY_PARAMETERS: "3",
        model_io.KEY_ARCHITECTURE: architecture
        if isinstance(architecture, str)
        else json.dumps(architecture),
        model_io.KEY_METADATA: json.dumps(user or {}),
    }
    if tensors is None:
        tensors = {"weight": np.zeros((1, 2), np.float32), "bias": np.zeros(1, np.float32)}
    return fmt.dumps(tensors, meta)


# Names a hostile architecture might use to reach code: none is a chainrule layer.
FORBIDDEN_TYPES = [
    "os.system",
    "posix.system",
    "builtins.eval",
    "builtins.exec",
    "eval",
    "exec",
    "__import__",
    "builtins.__import__",
    "subprocess.Popen",
    "subprocess.check_call",
    "builtins.open",
    "pickle.loads",
    "numpy.load",
    "importlib.import_module",
    "functools.partial",
    "getattr",
    "type",
    "object",
    "Module",
    "Parameter",
    "Tensor",
    "Lambda",
    "chainrule.nn.Linear",
    "nn.Linear",
    "Linear.__init__",
    "Linear ",
    "__builtins__",
    "__class__",
    "torch.nn.Linear",
    "keras.layers.Lambda",
]


def _architectures(sentinel: str) -> dict[str, object]:
    code = f"open({sentinel!r}, 'w').close()"
    linear = {"type": "Linear", "args": {"in_features": 2, "out_features": 1, "bias": True}}
    cases: dict[str, object] = {}
    for i, kind in enumerate(FORBIDDEN_TYPES):
        cases[f"type{i}"] = {"type": kind, "args": {"command": code}}
        cases[f"nested{i}"] = {"type": "Sequential", "children": [linear, {"type": kind}]}
    cases.update(
        {
            "args_code": {"type": "Linear", "args": {"in_features": code, "out_features": 1}},
            "args_callable": {
                "type": "Linear",
                "args": {"in_features": 2, "out_features": 1, "init": "os.system"},
            },
            "args_reduce": {
                "type": "Linear",
                "args": {"in_features": {"__reduce__": ["os.system", [code]]}, "out_features": 1},
            },
            "dtype_object": {
                "type": "Linear",
                "args": {"in_features": 2, "out_features": 1, "dtype": "object"},
            },
            "dtype_code": {
                "type": "Linear",
                "args": {"in_features": 2, "out_features": 1, "dtype": "os.system"},
            },
            "module_key": {**linear, "module": "os", "class_name": "system"},
            "activation_arg": {
                "type": "Sequential",
                "children": [linear],
                "activation": "builtins.eval",
            },
            "names_dunder": {
                "type": "Sequential",
                "children": [linear],
                "names": ["__class__"],
            },
            "names_path": {"type": "Sequential", "children": [linear], "names": ["../../x"]},
            "type_list": {"type": ["os", "system"], "args": {}},
            "type_dict": {"type": {"module": "os", "name": "system"}},
            "deep": json.loads("[" * 500 + "]" * 500),
            "huge_layer": {
                "type": "Linear",
                "args": {"in_features": 10**9, "out_features": 10**9},
            },
            "not_json": "__import__('os').system('touch x')",
            "pickle_b64": base64.b64encode(pickle.dumps(Reducer(os.system, (code,)))).decode(),
        }
    )
    return cases


def _keras_configs(sentinel: str) -> dict[str, dict]:
    code = compile(f"open({sentinel!r}, 'w').close()", "<lambda>", "exec")
    marshalled = base64.b64encode(marshal.dumps(code)).decode()
    lam = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "evil",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": marshalled, "defaults": None, "closure": None},
            },
        },
        "registered_name": None,
    }
    return {
        "lambda": {"class_name": "Sequential", "config": {"layers": [lam]}},
        "module_os": {"module": "os", "class_name": "system", "config": {"command": "touch"}},
        "builtins_eval": {"module": "builtins", "class_name": "eval", "config": {}},
        "registered": {"class_name": "Custom>Evil", "registered_name": "os.system", "config": {}},
        "function_ref": {
            "class_name": "Dense",
            "config": {
                "activation": {"module": "builtins", "class_name": "function", "config": "exec"}
            },
        },
    }


def build_corpus(folder: str | os.PathLike, sentinel_dir: str | os.PathLike) -> list[Path]:
    """Write the hostile files into ``folder``; returns their paths (>= 200 files).

    Each file, if code in it ever runs, creates ``sentinel_dir/<its file name>``.
    """
    folder, sentinel_dir = Path(folder), Path(sentinel_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sentinel_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def add(name: str, data: bytes) -> None:
        path = folder / name
        path.write_bytes(data)
        files.append(path)

    def sentinel(name: str) -> str:
        return str(sentinel_dir / name)

    extensions = [".pkl", ".pt", ".pth", ".bin", ".ckpt", ".safetensors"]
    for protocol in range(6):
        for kind in payloads("x"):
            ext = extensions[(protocol + len(kind)) % len(extensions)]
            name = f"pickle_p{protocol}_{kind}{ext}"
            add(name, pickle.dumps(payloads(sentinel(name))[kind], protocol=protocol))
            name = f"torchzip_p{protocol}_{kind}.pt"
            add(name, _torch_zip(pickle.dumps(payloads(sentinel(name))[kind], protocol=protocol)))
            # a pickle behind a plausible 8-byte header length
            name = f"prefixed_p{protocol}_{kind}.safetensors"
            body = pickle.dumps(payloads(sentinel(name))[kind], protocol=protocol)
            add(name, (len(body)).to_bytes(8, "little") + body)
    # hand-written protocol-0 GLOBAL opcodes
    for i, module_name in enumerate(["os\nsystem", "posix\nsystem", "subprocess\ngetoutput"]):
        name = f"handmade_{i}.pkl"
        add(name, f"c{module_name}\n(S'touch {sentinel(name)}'\ntR.".encode())
    for kind in payloads("x"):
        name = f"npy_{kind}.npy"
        buf = io.BytesIO()
        obj = np.empty(1, dtype=object)
        obj[0] = payloads(sentinel(name))[kind]
        np.save(buf, obj, allow_pickle=True)
        add(name, buf.getvalue())
        name = f"npz_{kind}.npz"
        obj[0] = payloads(sentinel(name))[kind]
        buf = io.BytesIO()
        np.savez(buf, weight=np.zeros(2), evil=obj)
        add(name, buf.getvalue())
    for key in _keras_configs("x"):
        for ext in (".json", ".keras", ".h5"):
            name = f"keras_{key}{ext}"
            text = json.dumps(_keras_configs(sentinel(name))[key])
            if ext == ".keras":
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w") as z:
                    z.writestr("config.json", text)
                    z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
                    z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
                add(name, buf.getvalue())
            else:
                add(name, text.encode())
        name = f"ours_keras_{key}.safetensors"
        add(name, _ours(_keras_configs(sentinel(name))[key]))
    for key in _architectures("x"):
        name = f"ours_arch_{key}.safetensors"
        add(name, _ours(_architectures(sentinel(name))[key]))
    # chainrule-looking files with code in other places
    code = f"open({sentinel('ours_pickle_tensor.safetensors')!r}, 'w').close()"
    pickled = np.frombuffer(pickle.dumps(Reducer(builtins.exec, (code,))), dtype=np.uint8)
    add("ours_pickle_tensor.safetensors", _ours({"type": "Identity"}, tensors={"w": pickled}))
    name = "ours_trailing_pickle.safetensors"
    good = _ours({"type": "Linear", "args": {"in_features": 2, "out_features": 1}})
    add(name, good + pickle.dumps(payloads(sentinel(name))["open"]))
    name = "foreign_safetensors_pickle_meta.safetensors"
    meta = {"format": "pt", "pickle": base64.b64encode(pickle.dumps(Reducer(os.system, ("x",))))}
    add(
        name,
        fmt.dumps(
            {"w": np.zeros(2, np.float32)}, {k: str(v) for k, v in meta.items()}, checksum=False
        ),
    )
    name = "user_metadata_reduce.safetensors"
    add(
        name,
        _ours(
            {"type": "Identity"},
            user={"__reduce__": ["os.system", ["touch x"]]},
            tensors={"w": np.zeros(1, np.float32)},
        ),
    )
    return files


_RUNNER = """
import json, sys
sys.path.insert(0, {guard_dir!r})
import pickle_guard
pickle_guard.install()
{loader}
results = {{}}
import chainrule
for path in {paths!r}:
    try:
        load(path)
        results[path] = "loaded"
    except chainrule.ModelFormatError as exc:
        results[path] = "ModelFormatError"
    except BaseException as exc:
        results[path] = type(exc).__name__ + ": " + str(exc)[:300]
print(json.dumps({{"results": results, "violations": pickle_guard.violations}}))
"""


def load_in_subprocess(
    paths: list[Path],
    *,
    loader: str = "import chainrule as cr\nload = cr.load",
    batch: int = 400,
    cwd: str | os.PathLike | None = None,
) -> dict:
    """Load every path in fresh Python processes (``batch`` files each) with the pickle guard on.

    ``loader`` is Python source defining ``load(path)``. Returns ``{"results": {path: outcome},
    "violations": [...]}`` where outcome is ``"ModelFormatError"``, ``"loaded"`` or the name and
    message of any other exception.
    """
    merged: dict = {"results": {}, "violations": []}
    guard_dir = str(Path(__file__).parent)
    for start in range(0, len(paths), batch):
        chunk = [str(p) for p in paths[start : start + batch]]
        script = _RUNNER.format(guard_dir=guard_dir, loader=textwrap.dedent(loader), paths=chunk)
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=cwd
        )
        if proc.returncode != 0:
            raise RuntimeError(f"loader process failed ({proc.returncode}): {proc.stderr[-2000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        merged["results"].update(out["results"])
        merged["violations"].extend(out["violations"])
    return merged


def sentinels(sentinel_dir: str | os.PathLike) -> list[str]:
    """Sentinel files that exist (each one means some file's code ran)."""
    return sorted(os.listdir(sentinel_dir))
