"""cr.save / cr.load: exact round trips, corruption detection, PyTorch interop, no pickle."""

import ast
import inspect
import json
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.io import model as model_io
from chainrule.nn.registry import module_to_config

SPECIAL64 = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -2.2250738585072014e-308 / 3, 1e308]
SPECIAL32 = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-40, 3.4e38]


def special_model(dtype):
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3)
    ).to(dtype=dtype)
    values = np.array(SPECIAL64 if dtype == "float64" else SPECIAL32, dtype=dtype)
    w = model[0].weight.array
    w.reshape(-1)[: values.size] = values
    # NaNs with distinct payloads and a sign bit must come back bit for bit
    bits = w.view(np.uint64 if dtype == "float64" else np.uint32).reshape(-1)
    bits[-1] = 0xFFF8_0000_0000_1234 if dtype == "float64" else 0xFFC0_1234
    model[1].running_mean.array[:] = np.linspace(-1, 1, 8)
    model[1].num_batches_tracked.array[...] = 12345
    return model


def state_bytes(model):
    return {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    model = special_model(dtype)
    metadata = {
        "classes": ["cat", "dog", "ünïcödé ✓"],
        "preprocessing": {"mean": [0.1, -2.5e-300, 1e300], "std": [1.0, 3.0, 0.5]},
        "nested": {"none": None, "flag": True, "big": 2**62, "empty": {}, "list": []},
        "version": 3,
    }
    path = tmp_path / "m.safetensors"
    cr.save(model, path, metadata=metadata)
    loaded = cr.load(path)
    assert state_bytes(loaded) == state_bytes(model)
    assert loaded.metadata == metadata
    assert json.dumps(loaded.metadata) == json.dumps(metadata)  # same order, same types
    assert module_to_config(loaded) == module_to_config(model)
    assert not loaded.training  # returned ready for inference
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(dtype)
    model.eval()
    with cr.no_grad(), np.errstate(invalid="ignore", over="ignore"):  # inf/NaN weights
        assert loaded(x).array.tobytes() == model(x).array.tobytes()


def test_size_zero_dimensions_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(0, 3), nn.Linear(3, 0))
    cr.save(model, tmp_path / "z.safetensors")
    loaded = cr.load(tmp_path / "z.safetensors")
    assert state_bytes(loaded) == state_bytes(model)
    assert loaded[0].weight.shape == (3, 0) and loaded[1].bias.shape == (0,)


def test_every_layer_type_round_trips(tmp_path):
    model = nn.Sequential(
        nn.Embedding(10, 4),
        nn.Flatten(),
        nn.LayerNorm(12),
        nn.Linear(12, 6),
        nn.LeakyReLU(0.2),
        nn.ELU(0.5),
        nn.GELU(approximate="tanh"),
        nn.Softplus(beta=2.0),
        nn.SiLU(),
        nn.Sigmoid(),
        nn.ReLU(),
        nn.Identity(),
        nn.Linear(6, 3),
        nn.LogSoftmax(dim=-1),
    )
    cr.save(model, tmp_path / "all.safetensors")
    loaded = cr.load(tmp_path / "all.safetensors")
    assert module_to_config(loaded) == module_to_config(model)
    assert state_bytes(loaded) == state_bytes(model)
    x = np.array([[1, 2, 3], [9, 0, 4]])
    with cr.no_grad():
        assert loaded(x).array.tobytes() == model.eval()(x).array.tobytes()


def test_read_metadata_without_building(tmp_path):
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    cr.save(model, tmp_path / "m.safetensors", metadata={"target": "y"})
    info = model_io.read_metadata(tmp_path / "m.safetensors")
    assert info["architecture"] == module_to_config(model)
    assert info["metadata"] == {"target": "y"}
    assert info["parameter_count"] == 3 * 5 + 5 + 5 * 2 + 2
    assert info["chainrule_version"] == cr.__version__
    assert info["numpy_version"] == np.__version__
    assert info["format_version"] == "1" and info["kind"] == "model"
    assert info["tensors"]["2.weight"] == {"dtype": "F32", "shape": [2, 5]}


def test_saving_is_deterministic(tmp_path):
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh())
    cr.save(model, tmp_path / "a.safetensors", metadata={"seed": 1})
    cr.save(model, tmp_path / "b.safetensors", metadata={"seed": 1})
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_corruption_is_always_detected(tmp_path, rng):
    model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 2))
    path = tmp_path / "good.safetensors"
    cr.save(model, path, metadata={"classes": ["a", "b"]})
    good = path.read_bytes()
    header_end = 8 + int.from_bytes(good[:8], "little")
    bad = tmp_path / "bad.safetensors"
    positions = rng.integers(0, len(good), 1000)
    positions[:100] = rng.integers(0, header_end, 100)  # plenty in the length and header too
    positions[100:200] = rng.integers(header_end, len(good), 100)
    for position in positions:
        data = bytearray(good)
        data[position] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(data))
        with pytest.raises(ModelFormatError):
            cr.load(bad)
    for length in rng.choice(len(good), 200, replace=False):
        bad.write_bytes(good[:length])
        with pytest.raises(ModelFormatError):
            cr.load(bad)
    assert len(good) > 500 and header_end > 200


def test_saved_sequential_loads_into_torch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    model[1].running_var.array[:] = np.linspace(0.5, 2, 8)
    model[1].num_batches_tracked.array[...] = 7
    cr.save(model, tmp_path / "m.safetensors")
    twin = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )
    twin.load_state_dict(st_torch.load_file(str(tmp_path / "m.safetensors")), strict=True)
    for name, value in twin.state_dict().items():
        assert value.numpy().tobytes() == model.state_dict()[name].tobytes(), name
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    twin.eval()
    model.eval()
    with torch.no_grad(), cr.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), model(x).array, rtol=1e-5,
                                   atol=1e-6)  # fmt: skip
    # and back: a state dict saved by PyTorch's safetensors loads into chainrule exactly
    for p in twin.parameters():
        torch.nn.init.normal_(p)
    st_torch.save_file(twin.state_dict(), str(tmp_path / "torch.safetensors"))
    state = fmt.read(tmp_path / "torch.safetensors").tensors
    fresh = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    fresh.load_state_dict(state, strict=True)
    for name, value in twin.state_dict().items():
        assert fresh.state_dict()[name].tobytes() == value.numpy().tobytes(), name


def test_files_that_are_not_chainrule_models_are_refused(tmp_path):
    fmt.write(tmp_path / "plain.safetensors", {"w": np.zeros(2)}, checksum=False)
    with pytest.raises(ModelFormatError, match="checksum"):
        cr.load(tmp_path / "plain.safetensors")
    fmt.write(tmp_path / "tensors.safetensors", {"w": np.zeros(2)}, {"x": "y"})
    with pytest.raises(ModelFormatError, match="not a chainrule model"):
        cr.load(tmp_path / "tensors.safetensors")
    model = nn.Linear(2, 1)
    meta = model_io.header_metadata(model, None, "model")
    fmt.write(
        tmp_path / "v2.safetensors", model.state_dict(), {**meta, "chainrule.format_version": "2"}
    )
    with pytest.raises(ModelFormatError, match="upgrade"):
        cr.load(tmp_path / "v2.safetensors")
    wrong = dict(model.state_dict(), extra=np.zeros(1))
    fmt.write(tmp_path / "extra.safetensors", wrong, meta)
    with pytest.raises(ModelFormatError, match="extra"):
        cr.load(tmp_path / "extra.safetensors")
    with pytest.raises(ModelFormatError, match="missing.safetensors"):
        cr.load(tmp_path / "missing.safetensors")


def test_architecture_cannot_outgrow_the_file(tmp_path):
    meta = model_io.header_metadata(nn.Linear(2, 1), None, "model")
    meta["chainrule.architecture"] = json.dumps(
        {"type": "Linear", "args": {"in_features": 30000, "out_features": 30000}}
    )
    fmt.write(tmp_path / "huge.safetensors", nn.Linear(2, 1).state_dict(), meta)
    with pytest.raises(ModelFormatError, match="parameters"):
        cr.load(tmp_path / "huge.safetensors")


def test_save_refuses_what_it_cannot_round_trip(tmp_path):
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

    target = tmp_path / "m.safetensors"
    with pytest.raises(ModelFormatError, match="state_dict"):
        cr.save(Custom(), target)
    with pytest.raises(ValueError, match="NaN"):
        cr.save(nn.Linear(2, 1), target, metadata={"score": float("nan")})
    with pytest.raises(TypeError, match="keys must be strings"):
        cr.save(nn.Linear(2, 1), target, metadata={1: "a"})
    with pytest.raises(TypeError, match="JSON types"):
        cr.save(nn.Linear(2, 1), target, metadata={"f": print})
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_numpy_values_in_metadata_become_json(tmp_path):
    cr.save(nn.Linear(2, 1), tmp_path / "m.safetensors",
            metadata={"mean": np.array([1.5, 2.0]), "n": np.int64(3), "t": (1, 2)})  # fmt: skip
    assert cr.load(tmp_path / "m.safetensors").metadata == {"mean": [1.5, 2.0], "n": 3, "t": [1, 2]}


PICKLE_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "joblib",
}


def test_no_pickle_eval_or_exec_anywhere_in_chainrule():
    root = pathlib.Path(cr.__file__).parent
    problems = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(root)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom | ast.Call):
                continue
            where = f"{relative}:{node.lineno}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in PICKLE_MODULES for n in names):
                    problems.append(f"{where}: imports {names}")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if isinstance(func, ast.Name) and name in ("eval", "exec", "__import__"):
                    problems.append(f"{where}: calls {name}()")
                    if name == "exec" and path.name == "compile_python.py":
                        # the one exception: cr.compile runs the straight-line step it generated
                        # itself (names and indices only, never text from a file or the user)
                        problems.pop()
                for kw in node.keywords:
                    if kw.arg == "allow_pickle" and not (
                        isinstance(kw.value, ast.Constant) and kw.value.value is False
                    ):
                        problems.append(f"{where}: allow_pickle={ast.unparse(kw.value)}")
    assert problems == []


def test_no_api_switch_enables_pickle():
    from chainrule.io import checkpoint

    functions = [cr.save, cr.load, model_io.read_metadata, fmt.read, fmt.loads, fmt.write,
                 checkpoint.save_checkpoint, checkpoint.load_checkpoint]  # fmt: skip
    for function in functions:
        parameters = inspect.signature(function).parameters
        assert not any("pickle" in p or "unsafe" in p or p == "kwargs" for p in parameters)


def test_metadata_the_loader_would_refuse_is_refused_at_save(tmp_path):
    deep = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="cannot save"):
        cr.save(nn.Linear(2, 1), tmp_path / "m.safetensors", metadata={"deep": deep})
    cr.save(nn.Linear(2, 1), tmp_path / "m.safetensors", metadata={"big": 2**200, "neg": -(10**50)})
    assert cr.load(tmp_path / "m.safetensors").metadata == {"big": 2**200, "neg": -(10**50)}


def test_model_files_may_not_carry_extra_or_mistyped_tensors(tmp_path):
    model = nn.Linear(2, 1)
    meta = model_io.header_metadata(model, None, "model")
    fmt.write(
        tmp_path / "slash.safetensors", {**model.state_dict(), "optimizer/0": np.ones(1)}, meta
    )
    with pytest.raises(ModelFormatError, match="unexpected"):
        cr.load(tmp_path / "slash.safetensors")
    ints = {k: v.astype(np.int32) for k, v in model.state_dict().items()}
    fmt.write(tmp_path / "ints.safetensors", ints, meta)
    with pytest.raises(ModelFormatError, match="int32 in the file"):
        cr.load(tmp_path / "ints.safetensors")


def test_saving_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "runs" / "model-v1.safetensors"
    real.parent.mkdir()
    cr.save(nn.Linear(2, 1), real)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(real)
    cr.save(nn.Linear(2, 3), link)
    assert link.is_symlink() and cr.load(real).weight.shape == (3, 2)


@pytest.mark.parametrize("width", [8, 40])  # header lengths whose first bytes read 0x80 0x03
def test_a_damaged_model_file_is_reported_as_damaged_not_as_a_pickle(tmp_path, width):
    import pickle

    model = cr.nn.Sequential(cr.nn.Linear(2, width), cr.nn.Tanh(), cr.nn.Linear(width, 1))
    path = tmp_path / "m.safetensors"
    cr.save(model, path)
    data = path.read_bytes()
    damaged = tmp_path / "damaged.safetensors"
    for broken in (data[: len(data) // 2], data[:-1]):
        damaged.write_bytes(broken)
        with pytest.raises(cr.ModelFormatError) as err:
            cr.load(damaged)
        assert "pickle" not in str(err.value)
    for protocol in (2, 4, 5):  # real pickles are still named as such
        damaged.write_bytes(pickle.dumps({"weight": [1.0] * 50}, protocol=protocol))
        with pytest.raises(cr.ModelFormatError, match="pickle file"):
            cr.load(damaged)


def test_plain_tensor_files_and_pickles_point_to_what_loads_them(tmp_path):
    # a state dict from PyTorch (safetensors' save_file, or torch.save's pickle): the message
    # must name the call that works, not cr.load, which needs an architecture and a checksum
    fmt.write(tmp_path / "plain.safetensors", {"0.weight": np.ones((1, 2))}, checksum=False)
    with pytest.raises(ModelFormatError, match=r"load_state_dict\(chainrule\.io\.read") as err:
        cr.load(tmp_path / "plain.safetensors")
    assert "cr.load" not in str(err.value)
    model = nn.Sequential(nn.Linear(2, 1, bias=False))
    model.load_state_dict(cr.io.read(tmp_path / "plain.safetensors").tensors)  # as it says
    (tmp_path / "sd.pt").write_bytes(b"PK\x03\x04" + bytes(60))
    with pytest.raises(ModelFormatError, match="pickle file") as err:
        cr.load(tmp_path / "sd.pt")
    assert "cr.load" not in str(err.value)
    assert "load_state_dict(chainrule.io.read(path).tensors)" in str(err.value)


@pytest.mark.parametrize(
    "layer",
    [
        nn.BatchNorm1d(3, affine=False),
        nn.BatchNorm2d(3, affine=False),
        nn.BatchNorm2d(3, track_running_stats=False),
        nn.BatchNorm1d(3, bias=False),
        nn.BatchNorm1d(3, affine=False, track_running_stats=False),
        nn.Linear(3, 2, bias=False),
        nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU()),
    ],
    ids=repr,
)
def test_layers_without_bias_affine_or_running_stats_round_trip(tmp_path, layer):
    # the size check counted a bias and BatchNorm's weight and statistics whatever the
    # settings, so a file with fewer tensors looked larger than its contents and was refused
    cr.save(layer, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert module_to_config(loaded) == module_to_config(layer)
    assert state_bytes(loaded) == state_bytes(layer)


def test_tied_parameters_stay_tied(tmp_path):
    # the file holds a tied matrix under both names; cr.load made two independent copies,
    # which training then pulled apart (PyTorch's torch.save keeps the tie)
    emb, out = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)
    out.weight = emb.weight
    model = nn.Sequential(emb, nn.ReLU(), out)
    cr.save(model, tmp_path / "tied.safetensors")
    loaded = cr.load(tmp_path / "tied.safetensors")
    assert loaded[2].weight is loaded[0].weight
    assert len(list(loaded.parameters())) == 1
    assert state_bytes(loaded) == state_bytes(model)
    shared = nn.Linear(3, 3)  # a shared layer was kept before, by the architecture
    cr.save(nn.Sequential(shared, nn.Tanh(), shared), tmp_path / "shared.safetensors")
    loaded = cr.load(tmp_path / "shared.safetensors")
    assert loaded[0] is loaded[2]


def test_a_tie_the_architecture_cannot_hold_is_refused(tmp_path):
    meta = model_io.header_metadata(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3)), None, "model")
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3))
    for ties in ('{"1.weight":"0.weight"}', '{"1.weight":"9.weight"}', "[1]"):
        meta["chainrule.tied_parameters"] = ties
        fmt.write(tmp_path / "bad.safetensors", model.state_dict(), meta)
        with pytest.raises(ModelFormatError, match="tied_parameters"):
            cr.load(tmp_path / "bad.safetensors")


def test_frozen_parameters_stay_frozen(tmp_path):
    # the file held numbers only: a fine-tuned model's frozen backbone came back trainable,
    # so resumed training updated it (torch.save(model) keeps requires_grad)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].weight.requires_grad = False
    model[0].bias.requires_grad = False
    cr.save(model, tmp_path / "frozen.safetensors")
    loaded = cr.load(tmp_path / "frozen.safetensors")
    assert [p.requires_grad for p in loaded.parameters()] == [False, False, True, True]
    meta = model_io.header_metadata(nn.Linear(2, 2), None, "model")
    for names in ('["nope.weight"]', '{"a": 1}'):
        meta["chainrule.frozen_parameters"] = names
        fmt.write(tmp_path / "bad.safetensors", nn.Linear(2, 2).state_dict(), meta)
        with pytest.raises(ModelFormatError, match="frozen_parameters"):
            cr.load(tmp_path / "bad.safetensors")
