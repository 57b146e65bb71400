"""Module machinery: registration, names, state_dict in both directions, modes, dtypes, repr."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.layers = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
        self.norm = nn.BatchNorm1d(3)
        self.register_buffer("step", np.zeros(1))
        self.note = "plain attribute"

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).tanh()
        return self.norm(x) * self.scale


class TorchBlock(tnn.Module):
    def __init__(self):
        super().__init__()
        self.scale = tnn.Parameter(torch.ones(3))
        self.layers = tnn.ModuleList([tnn.Linear(3, 3), tnn.Linear(3, 3)])
        self.norm = tnn.BatchNorm1d(3)
        self.register_buffer("step", torch.zeros(1, dtype=torch.float64))

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.norm(x) * self.scale


def test_parameter_is_a_float_tensor_that_requires_grad():
    p = nn.Parameter([1, 2])
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.dtype == np.float32
    assert nn.Parameter(np.ones(2)).dtype == np.float64  # float64 data stays float64
    assert nn.Parameter(np.ones(2, np.float32), requires_grad=False).requires_grad is False
    t = cr.ones(2)
    assert nn.Parameter(t).array is t.array  # shares a tensor's memory, like PyTorch
    assert repr(nn.Parameter([1.0, 1.0])) == repr(tnn.Parameter(torch.ones(2)))
    assert not hasattr(nn.Parameter([1.0]), "__dict__")


def test_names_follow_registration_order_and_match_torch():
    ours, theirs = Block(), TorchBlock()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.note == "plain attribute"
    assert len(list(ours.parameters())) == 7 and len(list(ours.children())) == 2
    assert ours.num_parameters() == 3 + 2 * 12 + 6
    assert ours.get_submodule("layers.1") is ours.layers[1]


def test_state_dict_moves_to_torch_and_back_with_identical_outputs():
    x = np.random.default_rng(0).standard_normal((5, 3))
    ours, theirs = Block().double(), TorchBlock().double()
    ours.scale.data[...] = [0.5, 2.0, -1.0]
    ours(x)  # move BatchNorm's running statistics
    state = ours.state_dict()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    ours.eval(), theirs.eval()
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-12)
    # ... and back: torch tensors (some requiring grad) load into a fresh model
    fresh = Block().double().eval()
    fresh.load_state_dict(
        OrderedDict((k, v) for k, v in theirs.named_parameters()) | dict(theirs.named_buffers())
    )
    np.testing.assert_allclose(fresh(x).data, expected, rtol=1e-12)


def test_sequential_state_dict_loads_into_torch_sequential():
    ours = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    theirs = tnn.Sequential(tnn.Linear(2, 16), tnn.Tanh(), tnn.Linear(16, 1))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    np.testing.assert_allclose(
        ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5
    )
    back = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    back.load_state_dict(theirs.state_dict())
    np.testing.assert_array_equal(back(x).data, ours(x).data)


def test_state_dict_shares_memory_and_loading_is_in_place():
    model = nn.Linear(2, 2)
    weight = model.weight
    state = model.state_dict()
    state["weight"][...] = 7.0  # as PyTorch's entries: a view of the parameter
    assert np.all(model.weight.data == 7.0)
    state = copy.deepcopy(state)
    state["weight"][...] = 5.0
    assert np.all(model.weight.data == 7.0)
    model.load_state_dict(state)
    assert model.weight is weight and np.all(weight.data == 5.0)  # optimizers keep their refs
    state["weight"][...] = 7.0
    model.load_state_dict(state)
    assert model.weight is weight and np.all(weight.data == 7.0)  # optimizers keep their refs
    model.load_state_dict({"weight": cr.zeros(2, 2), "bias": [1, 2]})  # tensors, lists, ints
    assert weight.dtype == np.float32 and model.bias.data.tolist() == [1.0, 2.0]


def test_load_state_dict_errors_name_the_keys_and_shapes():
    model = nn.Sequential(nn.Linear(3, 4))
    with pytest.raises(
        cr.ShapeError, match=r"0\.weight has shape \(4, 2\) in the file but \(4, 3\) in the model"
    ):
        model.load_state_dict({"0.weight": np.zeros((4, 2)), "0.bias": np.zeros(4)})
    before = model.state_dict()
    with pytest.raises(
        cr.ModelFormatError, match=r"missing keys \['0\.bias'\]; unexpected keys \['1\.bias'\]"
    ):
        model.load_state_dict({"0.weight": np.ones((4, 3)), "1.bias": np.zeros(4)})
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before["0.weight"])  # atomic
    result = model.load_state_dict(
        {"0.weight": np.ones((4, 3)), "1.bias": np.zeros(4)}, strict=False
    )
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["1.bias"]
    assert np.all(model[0].weight.data == 1)
    with pytest.raises(cr.DTypeError, match="0.bias"):
        model.load_state_dict({"0.weight": np.ones((4, 3)), "0.bias": np.array(["a"] * 4)})
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([("0.weight", np.ones((4, 3)))])


def test_train_eval_propagate_and_return_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert model.training and model[1][0].training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_requires_grad():
    model = nn.Linear(2, 1)
    model(np.ones((3, 2))).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert np.all(model.weight.grad == 0)
    model.zero_grad()
    assert model.weight.grad is None
    model.requires_grad_(False)
    assert model.num_parameters(trainable_only=True) == 0 and model.num_parameters() == 3


def test_dtype_conversion_in_place_keeps_integer_buffers():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    weight = model[0].weight
    assert model.double() is model
    assert weight.dtype == np.float64 and model[1].running_var.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    assert model(np.ones((2, 2))).dtype == np.float64
    assert model.to(cr.float32).to("cpu")[0].weight.dtype == np.float32
    with pytest.raises(cr.DTypeError):
        model.to(cr.int64)


def test_registration_rules():
    class Careless(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Careless()
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        layer.weight = cr.ones(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias" not in layer.state_dict()
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, shared)
    assert len(list(model.parameters())) == 2  # a shared layer counts once
    del model[1]
    assert len(model) == 1
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        layer.nope  # noqa: B018


def test_apply_visits_children_first():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Tanh()))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Tanh", "Sequential", "Sequential"]


def test_sequential_indexing_slicing_and_building():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    assert isinstance(model[-1], nn.Linear) and len(model) == 3
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and [n for n, _ in tail.named_children()] == ["1", "2"]
    assert tail[1] is model[2]
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    model.append(nn.Sigmoid())
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias"]
    out = model(np.ones((5, 2)))
    assert out.shape == (5, 1) and np.all((out.data > 0) & (out.data < 1))


def test_module_list_behaves_like_a_list():
    blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))
    assert len(blocks) == 3 and len(blocks[:2]) == 2
    blocks.insert(0, nn.Tanh())
    assert type(blocks[0]).__name__ == "Tanh" and [n for n, _ in blocks.named_children()][-1] == "3"
    with pytest.raises(NotImplementedError, match="loop over it"):
        blocks(np.ones(2))


def _reprs():
    yield (
        nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1, bias=False)),
        tnn.Sequential(tnn.Linear(2, 16), tnn.Tanh(), tnn.Linear(16, 1, bias=False)),
    )
    yield (
        nn.Sequential(
            nn.Sequential(nn.BatchNorm1d(4), nn.LayerNorm([2, 3], bias=False)),
            nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]),
            nn.Dropout(0.2),
            nn.Embedding(10, 3, padding_idx=0),
        ),
        tnn.Sequential(
            tnn.Sequential(tnn.BatchNorm1d(4), tnn.LayerNorm([2, 3], bias=False)),
            tnn.ModuleList([tnn.Linear(2, 2), tnn.Linear(2, 2), tnn.ReLU(), tnn.Linear(2, 2)]),
            tnn.Dropout(0.2),
            tnn.Embedding(10, 3, padding_idx=0),
        ),
    )
    pairs = [
        (nn.LeakyReLU(0.2), tnn.LeakyReLU(0.2)),
        (nn.ELU(inplace=True), tnn.ELU(inplace=True)),
        (nn.ReLU(inplace=True), tnn.ReLU(inplace=True)),
        (nn.GELU("tanh"), tnn.GELU("tanh")),
        (nn.Softplus(), tnn.Softplus()),
        (nn.Softmax(dim=1), tnn.Softmax(dim=1)),
        (nn.LogSoftmax(dim=-1), tnn.LogSoftmax(dim=-1)),
        (nn.Flatten(), tnn.Flatten()),
        (
            nn.BatchNorm1d(3, momentum=None, affine=False),
            tnn.BatchNorm1d(3, momentum=None, affine=False),
        ),
        (nn.Identity(), tnn.Identity()),
        (nn.LayerNorm(5, elementwise_affine=False), tnn.LayerNorm(5, elementwise_affine=False)),
        (nn.SiLU(), tnn.SiLU()),
        (nn.LogSigmoid(), tnn.LogSigmoid()),
        (nn.ModuleList(), tnn.ModuleList()),
        (nn.Sequential(), tnn.Sequential()),
        (nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()),
        (nn.HuberLoss(delta=2.0), tnn.HuberLoss(delta=2.0)),
        (Block(), TorchBlock()),
    ]
    yield from pairs


@pytest.mark.parametrize("ours, theirs", list(_reprs()))
def test_repr_matches_torch(ours, theirs):
    expected = repr(theirs).replace("TorchBlock", "Block")
    assert repr(ours) == expected


def test_deepcopy_gives_an_independent_model():
    import copy

    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    twin = copy.deepcopy(model)
    assert isinstance(twin[0].weight, nn.Parameter) and twin[0].weight is not model[0].weight
    twin[0].weight.data[...] = 0
    assert not np.all(model[0].weight.data == 0)
    assert repr(twin) == repr(model) and list(twin.state_dict()) == list(model.state_dict())


def test_a_state_without_batch_norm_counters_loads_as_in_pytorch():
    """Older PyTorch checkpoints have no num_batches_tracked: PyTorch keeps the current count
    and does not call the key missing (strict or not); chainrule does the same."""
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model[1].num_batches_tracked.array[...] = 3
    state = {k: v for k, v in model.state_dict().items() if "num_batches" not in k}
    assert model.load_state_dict(state).missing_keys == []
    assert int(model[1].num_batches_tracked.array) == 3
    partial = {"weight": np.ones(2, np.float32)}
    ours = nn.BatchNorm1d(2).load_state_dict(partial, strict=False).missing_keys
    theirs = (
        torch.nn.BatchNorm1d(2)
        .load_state_dict({"weight": torch.ones(2)}, strict=False)
        .missing_keys
    )
    assert ours == theirs


def test_a_layer_used_twice_is_named_twice_in_state_dict_and_once_in_parameters():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    t_shared = tnn.Linear(2, 2)
    t_model = tnn.Sequential(t_shared, tnn.ReLU(), t_shared)
    assert list(model.state_dict()) == list(t_model.state_dict())
    for flag in (True, False):
        assert [n for n, _ in model.named_modules(remove_duplicate=flag)] == [
            n for n, _ in t_model.named_modules(remove_duplicate=flag)
        ]
        assert [n for n, _ in model.named_parameters(remove_duplicate=flag)] == [
            n for n, _ in t_model.named_parameters(remove_duplicate=flag)
        ]
    assert len(list(model.parameters())) == 2
    # PyTorch's state_dict loads into ours and back, both names filling the one layer
    model.load_state_dict({k: v.numpy() for k, v in t_model.state_dict().items()})
    np.testing.assert_array_equal(shared.weight.detach().numpy(), t_shared.weight.detach().numpy())
    t_model.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})


def test_one_name_of_a_shared_layer_is_enough_to_load_it():
    # files written before state_dict listed a shared layer under each name hold only the first
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    state = copy.deepcopy(model.state_dict())
    old_file = {k: v + 1 for k, v in state.items() if k.startswith("0.")}
    result = model.load_state_dict(old_file)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(shared.weight.detach().numpy(), state["0.weight"] + 1)
    with pytest.raises(cr.errors.ModelFormatError, match="missing keys"):
        nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).load_state_dict(
            {
                k: v
                for k, v in nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).state_dict().items()
                if k.startswith("0.")
            }
        )


def test_named_modules_memo_leaves_modules_out():
    a, b = nn.Linear(1, 1), nn.Linear(1, 1)
    model = nn.Sequential(a, b)
    assert [n for n, _ in model.named_modules(memo={b})] == ["", "0"]
    assert [n for n, _ in model.named_modules(prefix="net")] == ["net", "net.0", "net.1"]
