"""Every layer against torch.nn: same weights, same inputs, float64 forward and gradients."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def _to_torch_state(module):
    return {k: torch.from_numpy(v) for k, v in module.state_dict().items()}


def check_against_torch(ours, theirs, x, *, train=True, rng=None):
    """Forward, input gradient, parameter gradients and buffers after the step all match."""
    rng = rng or np.random.default_rng(1)
    ours.double()
    theirs.double()
    theirs.load_state_dict(_to_torch_state(ours))
    ours.train(train)
    theirs.train(train)
    x_ours = cr.tensor(x, dtype="float64", requires_grad=True)
    x_theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), **TIGHT)
    upstream = rng.standard_normal(out_ours.shape)
    (out_ours * upstream).sum().backward()
    out_theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), **TIGHT)
    their_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(their_params)
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad, their_params[name].grad.numpy(), **TIGHT)
    theirs_state = theirs.state_dict()
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs_state[name].numpy(), **TIGHT)
    return out_ours


def _x(*shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


LAYERS = [
    ("linear", lambda: nn.Linear(3, 4), lambda: tnn.Linear(3, 4), (5, 3)),
    ("linear-nobias", lambda: nn.Linear(3, 4, False), lambda: tnn.Linear(3, 4, False), (5, 3)),
    ("linear-3d", lambda: nn.Linear(3, 2), lambda: tnn.Linear(3, 2), (2, 5, 3)),
    ("linear-1d", lambda: nn.Linear(3, 2), lambda: tnn.Linear(3, 2), (3,)),
    ("sigmoid", nn.Sigmoid, tnn.Sigmoid, (4, 5)),
    ("tanh", nn.Tanh, tnn.Tanh, (4, 5)),
    ("relu", nn.ReLU, tnn.ReLU, (4, 5)),
    ("leaky", lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2), (4, 5)),
    ("elu", lambda: nn.ELU(0.7), lambda: tnn.ELU(0.7), (4, 5)),
    ("gelu", nn.GELU, tnn.GELU, (4, 5)),
    ("gelu-tanh", lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh"), (4, 5)),
    ("softplus", lambda: nn.Softplus(2.0, 3.0), lambda: tnn.Softplus(2.0, 3.0), (4, 5)),
    ("silu", nn.SiLU, tnn.SiLU, (4, 5)),
    ("logsigmoid", nn.LogSigmoid, tnn.LogSigmoid, (4, 5)),
    ("softmax", lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1), (4, 5)),
    ("softmax0", lambda: nn.Softmax(dim=0), lambda: tnn.Softmax(dim=0), (4, 5)),
    ("logsoftmax", lambda: nn.LogSoftmax(dim=-1), lambda: tnn.LogSoftmax(dim=-1), (4, 5)),
    ("identity", nn.Identity, tnn.Identity, (4, 5)),
    ("flatten", nn.Flatten, tnn.Flatten, (2, 3, 4)),
    ("flatten-0-1", lambda: nn.Flatten(0, 1), lambda: tnn.Flatten(0, 1), (2, 3, 4)),
    ("layernorm", lambda: nn.LayerNorm(5), lambda: tnn.LayerNorm(5), (4, 5)),
    ("layernorm-2d", lambda: nn.LayerNorm((3, 4)), lambda: tnn.LayerNorm((3, 4)), (2, 3, 4)),
    (
        "layernorm-plain",
        lambda: nn.LayerNorm(5, elementwise_affine=False),
        lambda: tnn.LayerNorm(5, elementwise_affine=False),
        (4, 5),
    ),
    (
        "layernorm-nobias",
        lambda: nn.LayerNorm(5, bias=False),
        lambda: tnn.LayerNorm(5, bias=False),
        (4, 5),
    ),
    (
        "mlp",
        lambda: nn.Sequential(
            nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)
        ),
        lambda: tnn.Sequential(
            tnn.Linear(3, 8), tnn.Tanh(), tnn.Linear(8, 8), tnn.ReLU(), tnn.Linear(8, 2)
        ),
        (6, 3),
    ),
]


@pytest.mark.parametrize("ours, theirs, shape", [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(ours, theirs, shape):
    check_against_torch(ours(), theirs(), _x(*shape))


def test_layernorm_with_trained_affine_matches_torch():
    ours, theirs = nn.LayerNorm(5), tnn.LayerNorm(5)
    ours.weight.data[...] = _x(5, seed=3)
    ours.bias.data[...] = _x(5, seed=4)
    check_against_torch(ours, theirs, _x(4, 5))


BATCHNORMS = [
    ("default", {}, (6, 4)),
    ("3d", {}, (5, 4, 3)),
    ("momentum-none", {"momentum": None}, (6, 4)),
    ("no-affine", {"affine": False}, (6, 4)),
    ("no-tracking", {"track_running_stats": False}, (6, 4)),
    ("no-bias", {"bias": False}, (6, 4)),
    ("eps", {"eps": 1e-2, "momentum": 0.3}, (6, 4)),
]


@pytest.mark.parametrize(
    "kwargs, shape", [c[1:] for c in BATCHNORMS], ids=[c[0] for c in BATCHNORMS]
)
def test_batchnorm_train_then_eval_matches_torch(kwargs, shape):
    ours, theirs = nn.BatchNorm1d(4, **kwargs), tnn.BatchNorm1d(4, **kwargs)
    if ours.weight is not None:
        ours.weight.data[...] = _x(4, seed=5)
    if ours.bias is not None:
        ours.bias.data[...] = _x(4, seed=6)
    theirs.double().load_state_dict(_to_torch_state(ours.double()))
    # three training steps move the running statistics; then eval uses them
    for step in range(3):
        x = _x(*shape, seed=10 + step) + step
        out_ours = ours(cr.tensor(x, dtype="float64"))
        out_theirs = theirs(torch.from_numpy(x))
        np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), **TIGHT)
    state = theirs.state_dict()
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value, state[name].numpy(), **TIGHT)
    ours.eval(), theirs.eval()
    x = _x(*shape, seed=20)
    eval_out = ours(x)
    np.testing.assert_allclose(eval_out.data, theirs(torch.from_numpy(x)).detach().numpy(), **TIGHT)
    # gradients through the layer in both modes
    check_against_torch(ours, theirs, _x(*shape, seed=21), train=True)
    check_against_torch(ours, theirs, _x(*shape, seed=22), train=False)


def test_batchnorm_eval_uses_running_stats_not_the_batch():
    bn = nn.BatchNorm1d(2, dtype="float64")
    bn.running_mean.data[...] = [1.0, -1.0]
    bn.running_var.data[...] = [4.0, 9.0]
    bn.eval()
    out = bn(np.array([[1.0, 2.0]]))  # a batch of one works in eval mode
    np.testing.assert_allclose(out.data, [[0.0, 3.0 / np.sqrt(9.0 + 1e-5)]], rtol=1e-12)


def test_batchnorm_rejects_a_single_sample_in_training_and_wrong_features():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(cr.ShapeError, match="more than one value per feature"):
        bn(np.ones((1, 3)))
    with pytest.raises(cr.ShapeError, match=r"BatchNorm1d\(3\) got input of shape \(4, 2\)"):
        bn(np.ones((4, 2)))


def test_embedding_matches_torch_forward_and_weight_gradient():
    ids = np.array([[1, 2, 4], [4, 3, 9]])
    for kwargs in ({}, {"padding_idx": 4}):
        ours, theirs = nn.Embedding(10, 3, **kwargs), tnn.Embedding(10, 3, **kwargs)
        theirs.double().load_state_dict(_to_torch_state(ours.double()))
        out_ours, out_theirs = ours(ids), theirs(torch.from_numpy(ids))
        np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), **TIGHT)
        upstream = _x(*out_ours.shape, seed=2)
        (out_ours * upstream).sum().backward()
        out_theirs.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TIGHT)


def test_embedding_padding_row_returns_its_values_and_gets_no_gradient():
    """The padding row holds whatever was loaded or initialised into it (pretrained vectors,
    nn.init.normal_): lookups return it, as PyTorch's do; only its gradient stays 0."""
    ids = np.array([[0, 2, 0], [4, 0, 1]])
    ours, theirs = nn.Embedding(5, 3, padding_idx=0), tnn.Embedding(5, 3, padding_idx=0)
    cr.nn.init.normal_(ours.weight)
    assert np.abs(ours.weight.data[0]).min() > 0
    theirs.double().load_state_dict(_to_torch_state(ours.double()))
    out_ours, out_theirs = ours(ids), theirs(torch.from_numpy(ids))
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), **TIGHT)
    upstream = _x(*out_ours.shape, seed=3)
    out_ours.backward(upstream)
    out_theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TIGHT)
    assert np.all(ours.weight.grad[0] == 0)


def test_embedding_padding_row_starts_at_zero_and_errors_are_clear():
    emb = nn.Embedding(5, 2, padding_idx=0)
    assert np.all(emb.weight.data[0] == 0)
    with pytest.raises(IndexError, match=r"got id 5; ids must be in \[0, 5\)"):
        emb(np.array([1, 5]))
    with pytest.raises(IndexError, match="got id -1"):
        emb(np.array([-1]))
    with pytest.raises(cr.DTypeError, match="integer ids"):
        emb(np.array([1.0]))


def test_linear_default_init_matches_torch_distribution():
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound
    # U(-b, b) has variance b²/3
    assert layer.weight.data.var() == pytest.approx(bound**2 / 3, rel=0.03)
    assert layer.weight.dtype == np.float32
    assert nn.Linear(2, 2, dtype="float64").weight.dtype == np.float64


def test_linear_accepts_arrays_and_lists_and_checks_shapes_and_dtypes():
    layer = nn.Linear(3, 2)
    out = layer(np.ones((4, 3)))  # float64 array -> the weight's float32
    assert out.dtype == np.float32 and out.shape == (4, 2)
    assert layer([[1, 2, 3]]).shape == (1, 2)
    with pytest.raises(
        cr.ShapeError,
        match=r"Linear\(in_features=3\) got input of shape \(8, 4\); expected \(\.\.\., 3\)",
    ):
        layer(np.ones((8, 4)))
    with pytest.raises(cr.DTypeError, match="model.to"):
        layer(cr.tensor(np.ones((2, 3)), dtype="float64"))
    with pytest.raises(ValueError, match="in_features must be an integer"):
        nn.Linear(-1, 2)


def test_dropout_scales_kept_units_and_is_identity_in_eval():
    drop = nn.Dropout(0.25)
    x = cr.ones(200, 100, requires_grad=True)
    out = drop(x)
    kept = np.asarray(out.data) != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(out.data[kept], 1 / 0.75, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75, rtol=1e-6)  # the mask is the gradient
    drop.eval()
    assert drop(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]"):
        nn.Dropout(1.5)


def test_dropout_masks_follow_the_seed_and_a_private_generator():
    x = cr.ones(5, 6)
    cr.manual_seed(7)
    first = nn.Dropout(0.5)(x).data
    cr.manual_seed(7)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, first)
    a = nn.Dropout(0.5, generator=cr.Generator(3))(x).data
    b = nn.Dropout(0.5, generator=cr.Generator(3))(x).data
    np.testing.assert_array_equal(a, b)


def test_flatten_and_layernorm_shape_errors():
    with pytest.raises(cr.ShapeError, match="dimension 3 does not exist"):
        nn.Flatten(1, 3)(np.ones((2, 3)))
    with pytest.raises(cr.ShapeError, match=r"LayerNorm\(\(4,\)\) got input of shape \(2, 3\)"):
        nn.LayerNorm(4)(np.ones((2, 3)))


def test_activation_argument_validation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="finite"):
        nn.LeakyReLU(float("nan"))
    with pytest.raises(ValueError, match="dim must be an integer"):
        nn.Softmax(dim=1.5)


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda nn_: nn_.Flatten(3), (2, 3, 4)),
        (lambda nn_: nn_.Flatten(0, -4), (2, 3, 4)),
        (lambda nn_: nn_.Unflatten(3, (1, 4)), (2, 3, 4)),
        (lambda nn_: nn_.Unflatten(-4, (1, 2)), (2, 3, 4)),
        (lambda nn_: nn_.Unflatten(0, (1,)), ()),  # a 0-d input has no dim 0 (was % 0)
    ],
)
def test_flatten_and_unflatten_refuse_a_missing_dim_as_torch(make, shape):
    with pytest.raises((IndexError, RuntimeError)):
        make(torch.nn)(torch.zeros(shape))
    with pytest.raises(cr.errors.DimensionError, match="does not exist"):  # IndexError too
        make(nn)(cr.zeros(shape))
