"""cr.save(model, path, optimizer=opt): the training optimizer's type, hyperparameters and state
kept in the model file's header, bit for bit; the file's tensors stay the model's weights, so
old files, older readers and PyTorch's load_file read it as before."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt
from chainrule.io import optimizer_state

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(8, 1)).astype(np.float32)

OPTIMIZERS = [
    lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
    lambda p: optim.AdamW(p, lr=0.02, betas=(0.8, 0.99), amsgrad=True),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    lambda p: optim.Adagrad(p, lr=0.1),
    lambda p: optim.NAdam(p, lr=0.01),
    lambda p: optim.RAdam(p, lr=0.01),
    lambda p: optim.Adamax(p, lr=0.01),
]


def trained(make, steps=3):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = make(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        nn.MSELoss()(model(cr.tensor(X)), cr.tensor(Y)).backward()
        opt.step()
    return model, opt


def same_state(a: dict, b: dict) -> None:
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for i, entry in a["state"].items():
        assert entry.keys() == b["state"][i].keys()
        for key, value in entry.items():
            other = b["state"][i][key]
            if isinstance(value, np.ndarray):
                assert value.dtype == other.dtype and value.tobytes() == other.tobytes()
            else:
                assert value == other and type(value) is type(other)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_the_optimizer_comes_back_with_its_hyperparameters_and_state_bit_for_bit(make, tmp_path):
    model, opt = trained(make)
    path = tmp_path / "m.safetensors"
    cr.save(model, path, optimizer=opt)
    loaded = cr.load(path)
    back = cr.io.load_optimizer(path, loaded)
    assert type(back) is type(opt)
    same_state(back.state_dict(), opt.state_dict())
    # ... and it goes on exactly as the original: one more step each, same weights
    for m, o in ((model, opt), (loaded, back)):
        o.zero_grad()
        nn.MSELoss()(m(cr.tensor(X)), cr.tensor(Y)).backward()
        o.step()
    for (_, p), (_, q) in zip(model.named_parameters(), loaded.named_parameters()):
        assert p.array.tobytes() == q.array.tobytes()


def test_the_file_still_holds_only_the_weights_for_pytorch_and_older_readers(tmp_path):
    from safetensors.torch import load_file

    model, opt = trained(OPTIMIZERS[0])
    path = tmp_path / "m.safetensors"
    cr.save(model, path, optimizer=opt)
    assert set(fmt.read(path).tensors) == set(model.state_dict())
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    twin.load_state_dict(load_file(str(path)))  # strict: no extra tensors
    # a reader that knows nothing of the entry (any chainrule before it) loads the model alone
    assert repr(cr.load(path)) == repr(model)


def test_files_without_an_optimizer_load_as_before_and_have_none(tmp_path):
    model, _ = trained(OPTIMIZERS[0])
    path = tmp_path / "old.safetensors"
    cr.save(model, path, metadata={"note": "saved as every file was before"})
    _, meta = fmt.read_header(path)
    assert optimizer_state.KEY_OPTIMIZER not in meta
    loaded = cr.load(path)
    assert loaded.metadata == {"note": "saved as every file was before"}
    assert cr.io.load_optimizer(path, loaded) is None
    # the same model saved twice, with and without the optimizer: the tensor bytes are equal
    model, opt = trained(OPTIMIZERS[0])
    cr.save(model, tmp_path / "new.safetensors", optimizer=opt)
    old, new = fmt.read(path).tensors, fmt.read(tmp_path / "new.safetensors").tensors
    assert old.keys() == new.keys()
    assert all(old[k].tobytes() == new[k].tobytes() for k in old)


def test_a_state_too_large_for_the_header_is_left_out_and_the_file_still_saves(tmp_path):
    model, opt = trained(OPTIMIZERS[0])
    text = optimizer_state.encode(opt, model, budget=300)  # far too small for the moments
    entry = json.loads(text)
    assert entry["state"] is None and entry["state_left_out"] == 2 * 21  # exp_avg, exp_avg_sq
    assert entry["params"] == [["0.weight", "0.bias", "2.weight", "2.bias"]]
    cr.manual_seed(0)
    big = nn.Sequential(nn.Linear(700, 800), nn.Tanh(), nn.Linear(800, 1))  # 561,601 values
    opt = optim.Adam(big.parameters(), lr=0.001)
    opt.zero_grad()
    big(cr.tensor(np.ones((2, 700), np.float32))).sum().backward()
    opt.step()
    path = tmp_path / "big.safetensors"
    cr.save(big, path, optimizer=opt)  # 4.5 MB of moments: more than the header may hold
    entry = optimizer_state.read_entry(path)
    assert entry["state_left_out"] == 2 * 561_601
    back = cr.io.load_optimizer(path, cr.load(path))
    assert back.param_groups[0]["lr"] == 0.001 and not back.state


def test_save_refuses_an_optimizer_that_is_not_chainrules_or_not_over_the_model(tmp_path):
    model, opt = trained(OPTIMIZERS[0])

    class Mine(optim.SGD):
        pass

    with pytest.raises(TypeError, match="chainrule.optim's optimizers"):
        cr.save(model, tmp_path / "a.safetensors", optimizer=Mine(model.parameters(), lr=0.1))
    other = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="not a parameter of the model saved"):
        cr.save(model, tmp_path / "b.safetensors", optimizer=optim.SGD(other.parameters(), 0.1))
    with pytest.raises(TypeError, match="whole model"):
        cr.save({"w": model.state_dict()}, tmp_path / "c.safetensors", optimizer=opt)
    assert not list(tmp_path.iterdir())  # nothing half-written


def _with_entry(path, entry: str, out):
    tf = fmt.read(path)
    meta = {k: v for k, v in tf.metadata.items() if k != fmt.CHECKSUM_KEY}
    meta[optimizer_state.KEY_OPTIMIZER] = entry
    fmt.write(out, tf.tensors, meta)
    return out


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e.update(type="os.system"), "not one of chainrule.optim's"),
        (lambda e: e["params"][0].append("9.weight"), "not a parameter of the model"),
        (lambda e: e["arrays"]["state/0"].update(data="AAAA"), "holds 3 bytes"),
        (lambda e: e["arrays"]["state/0"].update(dtype="F128"), "malformed"),
        (lambda e: e["arrays"]["state/0"].update(shape=[2, 2]), "bytes, not the"),
        (lambda e: e.pop("state"), "must hold"),
    ],
)
def test_a_damaged_entry_is_a_model_format_error_and_the_model_still_loads(
    change, message, tmp_path
):
    model, opt = trained(OPTIMIZERS[0])
    path = tmp_path / "m.safetensors"
    cr.save(model, path, optimizer=opt)
    entry = optimizer_state.read_entry(path)
    change(entry)
    bad = _with_entry(path, json.dumps(entry), tmp_path / "bad.safetensors")
    loaded = cr.load(bad)  # the weights are untouched by a bad optimizer entry
    with pytest.raises(ModelFormatError, match=message):
        cr.io.load_optimizer(bad, loaded)
