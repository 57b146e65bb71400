"""nn containers and small layers, optimizer state dicts and torch.save/torch.load, against
PyTorch where it has the same thing."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def names(module):
    return [n for n, _ in module.named_parameters()]


def test_module_dict_names_and_dict_behaviour_match_torch():
    ours = nn.ModuleDict({"enc": nn.Linear(3, 2), "dec": nn.Linear(2, 3)})
    theirs = torch.nn.ModuleDict({"enc": torch.nn.Linear(3, 2), "dec": torch.nn.Linear(2, 3)})
    assert names(ours) == names(theirs)
    assert list(ours) == list(theirs) and list(ours.keys()) == ["enc", "dec"]
    ours["extra"] = nn.Tanh()
    assert "extra" in ours and len(ours) == 3
    del ours["extra"]
    assert isinstance(ours.pop("dec"), nn.Linear) and list(ours) == ["enc"]
    with pytest.raises(NotImplementedError):
        ours(cr.zeros(1, 3))


def test_parameter_list_and_dict_register_like_torch():
    ours = nn.ParameterList([cr.zeros(2), nn.Parameter(cr.ones(3))])
    theirs = torch.nn.ParameterList([torch.zeros(2), torch.nn.Parameter(torch.ones(3))])
    assert names(ours) == names(theirs) and len(ours) == 2
    assert all(p.requires_grad for p in ours) and ours[-1].shape == (3,)
    ours.append(cr.ones(1))
    assert names(ours)[-1] == "2"

    def holder(lib):
        class Holder(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.scales = lib.nn.ParameterDict({"a": lib.ones(1), "b": lib.ones(2)})

        return Holder()

    a, b = holder(cr), holder(torch)
    assert names(a) == names(b) == ["scales.a", "scales.b"]
    assert list(a.state_dict()) == list(b.state_dict())


@pytest.mark.parametrize("dim, size, shape", [(1, (2, 5), (3, 10)), (-1, (2, -1), (4, 3, 6))])
def test_unflatten_matches_torch(dim, size, shape):
    x = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
    ours = nn.Unflatten(dim, size)(cr.tensor(x))
    theirs = torch.nn.Unflatten(dim, size)(torch.tensor(x))
    assert ours.shape == tuple(theirs.shape) and ours.tolist() == theirs.tolist()
    with pytest.raises(cr.ShapeError):
        nn.Unflatten(1, (3, 3))(cr.zeros(2, 10))


def test_identity_and_lazy_linear():
    assert nn.Identity(54, unused="x")(cr.ones(2)).tolist() == [1.0, 1.0]
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    opt = cr.optim.Adam(model.parameters(), lr=0.05)  # made before the shapes are known
    x, y = cr.randn(16, 5), cr.randn(16, 1)
    model(x)
    bound = 1 / math.sqrt(5)  # PyTorch's Linear initialisation range
    assert model[0].in_features == 5 and np.abs(model[0].bias.detach().numpy()).max() <= bound
    first = None
    for _ in range(30):
        loss = nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    assert [tuple(p.shape) for p in model.parameters()] == [(8, 5), (8,), (1, 8), (1,)]


# ---- optimizer state_dict -------------------------------------------------------------------
def _train(lib, opt_cls, steps=3, **kw):
    layer = lib.nn.Linear(2, 1)
    layer.load_state_dict(
        {
            "weight": lib.tensor(np.array([[0.3, -0.2]], dtype=np.float32)),
            "bias": lib.tensor(np.array([0.1], dtype=np.float32)),
        }
    )
    opt = getattr(lib.optim, opt_cls)(layer.parameters(), **kw)
    x = lib.tensor(np.array([[1.0, 2.0], [-1.0, 0.5]], dtype=np.float32))
    for _ in range(steps):
        loss = (layer(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return layer, opt


@pytest.mark.parametrize(
    "opt_cls, kw",
    [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)), ("RMSprop", dict(lr=0.01))],
)
def test_optimizer_state_dict_layout_matches_torch_and_cross_loads(opt_cls, kw):
    _, ours = _train(cr, opt_cls, **kw)
    _, theirs = _train(torch, opt_cls, **kw)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b) == ["state", "param_groups"]
    assert list(a["state"]) == list(b["state"])
    for i in a["state"]:
        assert set(a["state"][i]) == set(b["state"][i])
        for key, value in a["state"][i].items():
            np.testing.assert_allclose(np.asarray(value), np.asarray(b["state"][i][key]), 1e-5)
    assert set(a["param_groups"][0]) <= set(b["param_groups"][0])
    assert a["param_groups"][0]["params"] == b["param_groups"][0]["params"]

    # PyTorch's state dict loads into chainrule and training continues identically
    layer, fresh = _train(cr, opt_cls, steps=0, **kw)
    ref_layer, _ = _train(torch, opt_cls, steps=0, **kw)
    layer.load_state_dict(
        {k: v.detach().numpy() for k, v in _train(torch, opt_cls, **kw)[0].state_dict().items()}
    )
    fresh.load_state_dict(theirs.state_dict())
    assert fresh.state_dict()["state"][0].keys() == a["state"][0].keys()


def test_optimizer_state_dict_round_trip_resumes_exactly():
    layer, opt = _train(cr, "Adam", lr=0.05)
    saved_layer, saved_opt = layer.state_dict(), opt.state_dict()
    cont_layer, cont_opt = _train(cr, "Adam", steps=0, lr=0.05)
    cont_layer.load_state_dict(saved_layer)
    cont_opt.load_state_dict(saved_opt)
    x = cr.tensor([[1.0, 2.0], [-1.0, 0.5]])
    for model, o in ((layer, opt), (cont_layer, cont_opt)):
        loss = (model(x) ** 2).mean()
        o.zero_grad()
        loss.backward()
        o.step()
    for k in saved_layer:
        np.testing.assert_array_equal(layer.state_dict()[k], cont_layer.state_dict()[k])


# ---- torch.save / torch.load -------------------------------------------------------------------
def test_save_load_checkpoint_dict_round_trip(tmp_path):
    layer, opt = _train(cr, "Adam", lr=0.05)
    ckpt = {
        "model": layer.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "loss": 0.25,
        "best": float("inf"),
        "note": "résumé",
        "extra": [1, (2, 3), None, True, cr.tensor([1.5])],
    }
    path = tmp_path / "ckpt.pt"
    cr.save(ckpt, path)
    back = cr.load(path, map_location="cpu", weights_only=True)
    assert back["epoch"] == 3 and back["loss"] == 0.25 and back["best"] == float("inf")
    assert back["note"] == "résumé" and back["extra"][:4] == [1, (2, 3), None, True]
    assert isinstance(back["extra"][4], cr.Tensor) and back["extra"][4].tolist() == [1.5]
    assert list(back["model"]) == list(ckpt["model"]) and type(back["model"]) is type(ckpt["model"])
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    fresh_layer, fresh_opt = _train(cr, "Adam", steps=0, lr=0.05)
    fresh_layer.load_state_dict(back["model"])
    fresh_opt.load_state_dict(back["optimizer"])
    np.testing.assert_array_equal(
        fresh_layer.weight.detach().numpy(), layer.weight.detach().numpy()
    )
    buffer = io.BytesIO()
    cr.save(layer.state_dict(), buffer)
    buffer.seek(0)
    assert list(cr.load(buffer)) == ["weight", "bias"]


def test_save_load_round_trips_generator_states_and_128_bit_ints(tmp_path):
    # a resumable checkpoint holds generator states (PCG64: 39-digit ints) and loader states
    gen = cr.Generator(1)
    loader = cr.data.DataLoader(
        cr.data.TensorDataset(np.arange(10.0)), batch_size=4, shuffle=True, generator=gen
    )
    next(iter(loader))
    ckpt = {"seed": 2**127 + 1, "negative": -(2**100), "loader": loader.state_dict()}
    cr.save(ckpt, tmp_path / "ckpt.pt")
    back = cr.load(tmp_path / "ckpt.pt")
    assert back == ckpt


def test_save_refuses_objects_needing_pickle_and_load_refuses_pickles(tmp_path):
    with pytest.raises(TypeError, match="pickle"):
        cr.save({"fn": object()}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="state_dict"):
        cr.save({"opt": cr.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)}, tmp_path / "y.pt")
    pickled = tmp_path / "torch.pt"
    torch.save({"w": torch.zeros(2)}, pickled)
    with pytest.raises(cr.ModelFormatError, match="never unpickles"):
        cr.load(pickled)
    with pytest.raises(NotImplementedError):
        cr.load(tmp_path / "x.pt", map_location="cuda")
    damaged = tmp_path / "damaged.pt"
    cr.save({"a": cr.ones(3)}, damaged)
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(cr.ModelFormatError):
        cr.load(damaged)


def test_whole_model_save_still_works(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    cr.save(model, tmp_path / "m.safetensors")
    back = cr.load(tmp_path / "m.safetensors")
    x = cr.ones(1, 2)
    assert back(x).tolist() == model(x).tolist()


@pytest.mark.parametrize(
    "structure",
    [
        "not json",
        '{"version": 99, "object": 1}',
        '{"version": 1, "object": {"__tensor__": "missing"}}',
        '{"version": 1, "object": {"__pickle__": "x"}}',
        '{"version": 1, "object": {"__dict__": [[1.5, 2]]}}',
        '{"version": 1, "object": {"__float__": "1e999"}}',
        '{"version": 1, "object": ' + "[" * 200 + "]" * 200 + "}",
        '{"version": 1, "object": NaN}',
        '{"version": 1, "object": ' + "9" * 5000 + "}",
    ],
)
def test_load_refuses_hostile_structures(tmp_path, structure):
    from chainrule.io import format as fmt
    from chainrule.io.torch_save import STRUCTURE_KEY

    path = tmp_path / "hostile.pt"
    fmt.write(path, {"w": np.zeros(2, np.float32)}, {STRUCTURE_KEY: structure})
    with pytest.raises(cr.ModelFormatError):
        cr.load(path)


def test_save_rejects_bad_keys_and_too_deep_objects(tmp_path):
    with pytest.raises(TypeError, match="keys"):
        cr.save({(1, 2): cr.ones(1)}, tmp_path / "k.pt")
    deep: list = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ValueError, match="nests deeper"):
        cr.save(deep, tmp_path / "d.pt")


def test_a_shaped_lazy_linear_is_a_linear_and_saves(tmp_path):
    # PyTorch's LazyLinear becomes a Linear once shaped; chainrule's stayed a LazyLinear, so
    # cr.save of a CNN ending in Flatten → LazyLinear raised ModelFormatError
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(3))
    x = cr.randn(2, 1, 5, 5)
    expected = model(x)
    assert type(model[2]) is nn.Linear
    assert repr(model[2]) == repr(torch.nn.Linear(18, 3)) == (
        "Linear(in_features=18, out_features=3, bias=True)"
    )
    cr.save(model, tmp_path / "lazy.safetensors")
    loaded = cr.load(tmp_path / "lazy.safetensors")
    np.testing.assert_array_equal(loaded(x).detach().numpy(), expected.detach().numpy())


def test_lazy_linear_becomes_a_linear_that_saves(tmp_path):
    # PyTorch turns an initialised LazyLinear into a Linear (cls_to_become); chainrule kept the
    # lazy class, which no saved architecture can name, so cr.save refused the trained model
    model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2, bias=False))
    x = cr.randn(3, 5)
    with cr.no_grad():
        want = model(x).numpy()
    theirs = torch.nn.LazyLinear(4)
    theirs(torch.zeros(2, 5))
    assert type(model[0]) is nn.Linear and type(theirs) is torch.nn.Linear
    assert repr(model[0]) == repr(theirs)
    cr.save(model, tmp_path / "lazy.safetensors")
    loaded = cr.load(tmp_path / "lazy.safetensors")
    with cr.no_grad():
        assert loaded(x).numpy().tobytes() == want.tobytes()
