"""Differences found by running tutorial-style scripts under both libraries, each pinned
against torch 2.13: a 0-d tensor through torch.save/torch.load (a BatchNorm's counter),
Embedding.from_pretrained and F.embedding, torch.initial_seed/seed/get_rng_state/
set_rng_state, torch.Size, and the out= argument of the "Tensors" tutorial."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF
from chainrule import nn

torch = pytest.importorskip("torch")


def test_save_load_keeps_0d_tensors_so_a_batchnorm_checkpoint_loads(tmp_path):
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ours(cr.randn(5, 3))
    loss = cr.tensor(0.25)
    path = tmp_path / "ckpt.pt"
    cr.save({"model": ours.state_dict(), "loss": loss, "step": cr.tensor(7)}, path)
    back = cr.load(path)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    for name, value in theirs.state_dict().items():
        assert back["model"][name].shape == tuple(value.shape), name
    assert back["loss"].shape == tuple(torch.tensor(0.25).shape) == ()
    assert back["step"].item() == 7
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    fresh.load_state_dict(back["model"])  # refused before: (1,) in the file, () in the model
    assert int(fresh[1].num_batches_tracked.item()) == 1


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_matches_torch(freeze):
    table = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    ours = nn.Embedding.from_pretrained(cr.tensor(table), freeze=freeze, padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze, padding_idx=1)
    ids = [[0, 1, 3], [1, 2, 2]]
    out, ref = ours(cr.tensor(ids)), theirs(torch.tensor(ids))
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())  # padding row kept
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    assert repr(ours) == repr(theirs)
    if not freeze:
        (out * out).sum().backward()
        (ref * ref).sum().backward()
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


def test_from_pretrained_shares_memory_and_refuses_what_it_lacks():
    table = cr.zeros(3, 2)
    layer = nn.Embedding.from_pretrained(table)
    table[0, 0] = 5.0  # as PyTorch: the layer's weight is the given tensor's memory
    assert layer.weight[0, 0].item() == 5.0
    with pytest.raises(cr.NotSupportedError, match="sparse"):
        nn.Embedding.from_pretrained(table, sparse=True)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_functional_embedding_matches_torch(padding_idx):
    table = np.linspace(-1, 1, 15).reshape(5, 3)
    ids = [[0, 2, 4], [2, 2, 1]]
    w = cr.tensor(table, dtype="float64", requires_grad=True)
    tw = torch.tensor(table, requires_grad=True)
    out = CF.embedding(cr.tensor(ids), w, padding_idx=padding_idx)
    ref = torch.nn.functional.embedding(torch.tensor(ids), tw, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    (out**3).sum().backward()
    (ref**3).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())
    with pytest.raises(cr.errors.DTypeError, match="integer ids"):
        CF.embedding(cr.tensor([0.0, 1.0]), w)


def test_rng_state_round_trips_and_seeds_answer_as_torch(tmp_path):
    for lib in (cr, torch):
        lib.manual_seed(123)
        assert lib.initial_seed() == 123
        state = lib.get_rng_state()
        assert state.dtype == lib.uint8 and state.ndim == 1
        first = lib.rand(4)
        lib.set_rng_state(state)
        assert lib.equal(lib.rand(4), first)
        new_seed = lib.seed()
        assert isinstance(new_seed, int) and lib.initial_seed() == new_seed
    state = cr.get_rng_state()
    expected = cr.rand(3)
    cr.save({"rng": state}, tmp_path / "rng.pt")  # a checkpoint keeps it
    cr.set_rng_state(cr.load(tmp_path / "rng.pt")["rng"])
    assert cr.equal(cr.rand(3), expected)
    with pytest.raises(ValueError, match="PyTorch"):
        cr.set_rng_state(cr.tensor(torch.get_rng_state().numpy()))


def test_generator_state_is_a_uint8_tensor_as_in_torch(tmp_path):
    # a DataLoader's generator saved in a checkpoint and restored: the next epoch's order returns
    for lib in (cr, torch):
        gen = lib.Generator()
        assert gen.manual_seed(1) is gen
        state = gen.get_state()
        assert isinstance(state, lib.Tensor) and state.dtype == lib.uint8 and state.ndim == 1
        first = lib.randperm(10, generator=gen)
        gen.set_state(state)
        assert lib.equal(lib.randperm(10, generator=gen), first)
        with pytest.raises(TypeError):
            gen.set_state({"seed": 1})  # PyTorch takes only the tensor
    gen = cr.Generator(3)
    cr.save({"gen": gen.get_state()}, tmp_path / "gen.pt")
    expected = cr.randperm(10, generator=gen)
    restored = cr.Generator(0)
    restored.set_state(cr.load(tmp_path / "gen.pt")["gen"])
    assert cr.equal(cr.randperm(10, generator=restored), expected)
    with pytest.raises(ValueError, match="PyTorch"):
        restored.set_state(cr.tensor(torch.Generator().get_state().numpy()))


def test_size_compares_with_shapes_as_in_torch():
    for lib in (cr, torch):
        x = lib.zeros(2, 3)
        assert x.shape == lib.Size([2, 3])
        assert x.shape != lib.Size([3, 2])
        assert isinstance(x.shape, lib.Size)
        assert lib.Size([2, 3])[1] == 3 and len(lib.Size((4,))) == 1


OUT_CASES = [
    ("matmul", lambda L, a, b: (a, b.T)),
    ("mm", lambda L, a, b: (a, b.T)),
    ("mul", lambda L, a, b: (a, b)),
    ("mul", lambda L, a, b: (a, 2)),
    ("add", lambda L, a, b: (a, b)),
    ("sub", lambda L, a, b: (a, b)),
    ("div", lambda L, a, b: (a, b + 3)),
    ("pow", lambda L, a, b: (a, 2)),
    ("exp", lambda L, a, b: (a,)),
    ("tanh", lambda L, a, b: (a,)),
    ("maximum", lambda L, a, b: (a, b)),
    ("cat", lambda L, a, b: ([a, b],)),
    ("stack", lambda L, a, b: ([a, b],)),
    ("sum", lambda L, a, b: (a, 0)),
    ("mean", lambda L, a, b: (a, 1)),
]


@pytest.mark.parametrize(
    "name, make", OUT_CASES, ids=[f"{n}{i}" for i, (n, _) in enumerate(OUT_CASES)]
)
def test_out_argument_writes_into_the_given_tensor_as_torch(name, make):
    values = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    results = []
    for lib in (cr, torch):
        a, b = lib.tensor(values), lib.tensor(values[::-1].copy())
        expected = getattr(lib, name)(*make(lib, a, b))
        out = lib.empty(tuple(expected.shape))
        returned = getattr(lib, name)(*make(lib, a, b), out=out)
        assert returned is out
        results.append(out.numpy().copy())
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_out_argument_resizes_refuses_autograd_and_bad_casts_as_torch():
    for lib in (cr, torch):
        out = lib.zeros(2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.mul(lib.ones(3), 2, out=out)
        assert out.shape == (3,) and out.tolist() == [2.0, 2.0, 2.0]
        assert any("resized" in str(w.message) for w in caught)
        empty = lib.empty(0)
        lib.add(lib.ones(2, 2), 1, out=empty)  # an empty out= is resized without a warning
        assert empty.shape == (2, 2)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.mul(lib.ones(3, requires_grad=True), 2, out=lib.zeros(3))
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.mul(lib.ones(3), 2.5, out=lib.zeros(3, dtype=lib.long))
        with lib.no_grad():  # PyTorch allows it without recording
            lib.mul(lib.ones(3, requires_grad=True), 2, out=out)
        assert out.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "name, shape, kwargs",
    [
        ("eye_", (3, 5), {}),
        ("eye_", (4, 2), {}),
        ("dirac_", (4, 2, 3), {}),
        ("dirac_", (6, 3, 3, 3), {"groups": 2}),
        ("dirac_", (2, 4, 1, 3, 2), {}),
    ],
)
def test_deterministic_initialisers_match_torch(name, shape, kwargs):
    ours = getattr(nn.init, name)(cr.full(shape, 7.0), **kwargs)
    theirs = getattr(torch.nn.init, name)(torch.full(shape, 7.0), **kwargs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_initialisers_refuse_what_torch_refuses():
    for lib in (cr, torch):
        with pytest.raises(ValueError, match="2 dimensions"):
            lib.nn.init.eye_(lib.zeros(2, 2, 2))
        with pytest.raises(ValueError, match="3, 4, or 5"):
            lib.nn.init.dirac_(lib.zeros(2, 2))
        with pytest.raises(ValueError, match="divisible by groups"):
            lib.nn.init.dirac_(lib.zeros(3, 2, 3), groups=2)
        with pytest.raises(ValueError, match="2 or more"):
            lib.nn.init.orthogonal_(lib.zeros(4))


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal_and_trunc_normal_have_torch_properties(shape):
    cr.manual_seed(0)
    w = nn.init.orthogonal_(cr.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
    small = w if w.shape[0] <= w.shape[1] else w.T
    np.testing.assert_allclose(small @ small.T, 4.0 * np.eye(small.shape[0]), atol=1e-5)
    t = nn.init.trunc_normal_(cr.empty(20000), mean=0.5, std=1.0, a=-0.5, b=1.0).numpy()
    ref = torch.nn.init.trunc_normal_(torch.empty(20000), mean=0.5, std=1.0, a=-0.5, b=1.0)
    assert t.min() >= -0.5 and t.max() <= 1.0
    assert abs(t.mean() - ref.mean().item()) < 0.02 and abs(t.std() - ref.std().item()) < 0.02


def test_item_of_several_elements_is_a_runtime_error_as_in_torch():
    for lib in (cr, torch):
        with pytest.raises(RuntimeError):
            lib.ones(2).item()
    with pytest.raises(ValueError):  # chainrule's earlier class still catches it
        cr.ones(2).item()
