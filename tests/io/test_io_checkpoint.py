"""Training checkpoints: exact state round trips, exact resume, all-or-nothing restore."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.io.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from chainrule.io.model import read_metadata


def make(seed=0):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
    model.double()
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def train(model, opt, sched, steps, start=0):
    losses = []
    data = np.random.default_rng(42)
    X = data.normal(size=(64, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]))[:, None]
    for step in range(start, start + steps):
        batch = slice((step * 16) % 64, (step * 16) % 64 + 16)
        opt.zero_grad()
        loss = ((model(cr.tensor(X[batch], dtype="float64")) - cr.tensor(y[batch])) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.array.tobytes())
    return losses


def weights(model):
    return {k: v.tobytes() for k, v in model.state_dict().items()}


def test_resume_is_bit_exact(tmp_path):
    model_full, opt_full, sched_full = make()
    full = train(model_full, opt_full, sched_full, 10)

    model, opt, sched = make()
    first = train(model, opt, sched, 5)
    gen = cr.Generator(7)
    gen.numpy.random(3)
    save_checkpoint(tmp_path / "c.safetensors", model, opt, sched,
                    {"step": 5, "generator": gen.get_state()})  # fmt: skip
    model2, opt2, sched2 = make(seed=99)  # different initial weights: all must be overwritten
    state = load_checkpoint(tmp_path / "c.safetensors", model2, opt2, sched2)
    assert state["step"] == 5
    gen2 = cr.Generator(0)
    gen2.set_state(state["generator"])
    assert gen2.numpy.random(4).tobytes() == gen.numpy.random(4).tobytes()
    second = train(model2, opt2, sched2, 5, start=5)
    assert first + second == full  # per-step losses, bit for bit
    assert weights(model2) == weights(model_full)
    assert sched2.get_last_lr() == sched_full.get_last_lr()


def test_state_values_and_types_survive(tmp_path):
    model, opt, sched = make()
    state = {
        "epoch": 3,
        "best": float("inf"),
        "worst": float("-inf"),
        "nan": float("nan"),
        "neg_zero": -0.0,
        "lr": 0.1,
        "np_scalar": np.float32(2.5),
        "np_int": np.int64(-4),
        "array": np.array([[1, 2]], dtype=np.int16),
        "tuple": (1, "a", None),
        "int_keys": {0: "zero", 10: [1.5]},
        "marker_lookalike": {"__tensor__": "state/0"},
        "big": 2**100,
        "nested": [{"a": [np.arange(3.0)]}],
        "text": "héllo",
    }
    save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, state)
    out = load_checkpoint(tmp_path / "c.safetensors", *make()[:1], None, None)
    assert out.keys() == state.keys()
    for key, value in state.items():
        got = out[key]
        assert type(got) is type(value), key
        if key == "nan":
            assert np.isnan(got)
        elif isinstance(value, np.ndarray | np.generic):
            assert got.dtype == value.dtype and got.tobytes() == np.asarray(value).tobytes()
        elif key == "nested":
            assert got[0]["a"][0].tobytes() == value[0]["a"][0].tobytes()
        else:
            assert got == value, key
    assert str(out["neg_zero"]) == "-0.0"


def test_checkpoint_is_a_model_file_too(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    model, opt, sched = make()
    train(model, opt, sched, 3)
    save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, {"epoch": 1})
    loaded = cr.load(tmp_path / "c.safetensors")
    assert weights(loaded) == weights(model)
    assert read_metadata(tmp_path / "c.safetensors")["kind"] == "checkpoint"
    everything = st_numpy.load_file(str(tmp_path / "c.safetensors"))
    assert any(k.startswith("optimizer/") for k in everything)
    weights_only, parts = read_checkpoint(tmp_path / "c.safetensors")
    assert set(weights_only) == set(model.state_dict())
    assert parts["scheduler"]["step_size"] == 2


def test_restore_is_all_or_nothing(tmp_path):
    model, opt, sched = make()
    train(model, opt, sched, 2)
    save_checkpoint(tmp_path / "c.safetensors", model, opt, None, {"epoch": 0})
    other, other_opt, other_sched = make(seed=5)
    before = weights(other)
    with pytest.raises(ModelFormatError, match="no scheduler state"):
        load_checkpoint(tmp_path / "c.safetensors", other, other_opt, other_sched)
    assert weights(other) == before
    wrong_opt = optim.SGD(list(other.parameters())[:2], lr=0.1)
    with pytest.raises(ModelFormatError, match="optimizer state does not fit"):
        load_checkpoint(tmp_path / "c.safetensors", other, wrong_opt)
    assert weights(other) == before  # the weights were put back
    bigger = nn.Sequential(nn.Linear(3, 9), nn.Tanh(), nn.Linear(9, 1))
    with pytest.raises(ModelFormatError, match="do not fit"):
        load_checkpoint(tmp_path / "c.safetensors", bigger)


def test_plain_model_file_is_not_a_checkpoint(tmp_path):
    model, _, _ = make()
    cr.save(model, tmp_path / "m.safetensors")
    with pytest.raises(ModelFormatError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "m.safetensors", model)


def test_damaged_checkpoints_are_refused(tmp_path, rng):
    model, opt, sched = make()
    train(model, opt, sched, 2)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, model, opt, sched, {"epoch": 1})
    good = path.read_bytes()
    for position in rng.integers(0, len(good), 100):
        data = bytearray(good)
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(ModelFormatError):
            load_checkpoint(path, *make())


def test_unsupported_state_values_fail_at_save(tmp_path):
    model, opt, _ = make()
    with pytest.raises(TypeError, match="checkpoint state"):
        save_checkpoint(tmp_path / "c.safetensors", model, state={"fn": print})
    assert not (tmp_path / "c.safetensors").exists()
    assert fmt.DTYPES  # the module under test is importable without torch


def test_another_optimizer_type_is_named_as_such(tmp_path):
    model, opt, sched = make()
    train(model, opt, sched, 2)
    save_checkpoint(tmp_path / "c.safetensors", model, opt, None, {})
    other, _, _ = make(seed=5)
    sgd = optim.SGD(other.parameters(), lr=0.1, momentum=0.9)  # the file holds Adam's state
    with pytest.raises(ModelFormatError, match="comes from another optimizer type") as err:
        load_checkpoint(tmp_path / "c.safetensors", other, sgd)
    assert "fit SGD: the saved state has no 'momentum' entry" in str(err.value)
