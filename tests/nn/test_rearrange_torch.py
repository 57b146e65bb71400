"""F.pixel_shuffle, F.pixel_unshuffle, F.channel_shuffle, F.unfold, F.fold and their modules
against torch: values, gradients, float32 and float64, odd options, second order, reprs,
saving, grad_fn names and errors."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn.registry import module_from_config, module_to_config

torch = pytest.importorskip("torch")
tF = torch.nn.functional

TOL = {"float64": {"rtol": 1e-12, "atol": 1e-12}, "float32": {"rtol": 1e-6, "atol": 1e-6}}


def _compare(ours_fn, theirs_fn, shape, dtype="float64", seed=0):
    """Values, the input's gradient and the grad_fn name match torch; returns the output."""
    x = np.random.default_rng(seed).standard_normal(shape)
    xo = cr.tensor(x, dtype=dtype, requires_grad=True)
    xt = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    out, expected = ours_fn(xo), theirs_fn(xt)
    assert out.shape == tuple(expected.shape) and out.dtype == getattr(cr, dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
    if expected.grad_fn is not None:
        assert out.grad_fn.name() == expected.grad_fn.name()
    upstream = np.random.default_rng(seed + 1).standard_normal(out.shape)
    (out * cr.tensor(upstream, dtype=dtype)).sum().backward()
    expected.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **TOL[dtype])
    return out


# ---- pixel_shuffle, pixel_unshuffle, channel_shuffle --------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape, r",
    [((2, 8, 3, 4), 2), ((9, 2, 3), 3), ((2, 3, 8, 3, 3), 2), ((2, 5, 3, 4), 1)],
)
def test_pixel_shuffle_matches_torch(shape, r, dtype):
    _compare(lambda x: F.pixel_shuffle(x, r), lambda x: tF.pixel_shuffle(x, r), shape, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape, r", [((2, 2, 6, 4), 2), ((1, 6, 9), 3), ((2, 3, 1, 4, 6), 2), ((2, 3, 4, 5), 1)]
)
def test_pixel_unshuffle_matches_torch(shape, r, dtype):
    _compare(lambda x: F.pixel_unshuffle(x, r), lambda x: tF.pixel_unshuffle(x, r), shape, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape, groups",
    [((2, 8, 3, 4), 2), ((2, 6, 5), 3), ((2, 8, 2, 3, 2), 4), ((3, 4, 2), 1), ((1, 6, 2), 6)],
)
def test_channel_shuffle_matches_torch(shape, groups, dtype):
    _compare(
        lambda x: F.channel_shuffle(x, groups),
        lambda x: tF.channel_shuffle(x, groups),
        shape,
        dtype,
    )


def test_empty_batches_keep_their_shapes():
    # (torch's own pixel_shuffle backward fails on an empty batch: values only)
    assert F.pixel_shuffle(cr.ones(0, 4, 2, 2), 2).shape == (0, 1, 4, 4)
    assert F.pixel_unshuffle(cr.ones(0, 1, 4, 4), 2).shape == (0, 4, 2, 2)
    assert F.channel_shuffle(cr.ones(0, 4, 2), 2).shape == (0, 4, 2)


def test_pixel_shuffle_round_trips_and_moves_integers():
    x = cr.tensor(np.arange(2 * 18 * 2 * 2).reshape(2, 18, 2, 2))
    assert F.pixel_unshuffle(F.pixel_shuffle(x, 3), 3).numpy().tolist() == x.numpy().tolist()
    expected = tF.pixel_shuffle(torch.from_numpy(x.numpy()), 3).numpy()
    np.testing.assert_array_equal(F.pixel_shuffle(x, 3).numpy(), expected)


# ---- unfold and fold ----------------------------------------------------------------------------
BLOCKS = [  # input shape (batched or not), kernel_size, dilation, padding, stride
    ((2, 3, 5, 6), 2, 1, 0, 1),
    ((2, 3, 7, 6), (2, 3), 2, 1, (2, 1)),
    ((3, 5, 6), 3, (1, 2), (2, 0), 2),
    ((1, 2, 9, 8), (3, 2), (2, 3), (1, 2), (3, 2)),
    ((2, 1, 4, 4), 4, 1, 0, 1),
    ((2, 2, 3, 3), 1, 1, 1, 2),
    ((0, 2, 4, 4), 2, 1, 0, 1),
    ((1, 1, 6, 5), [2, 2], [2, 1], [1, 1], [3, 2]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, k, d, p, s", BLOCKS)
def test_unfold_matches_torch(shape, k, d, p, s, dtype):
    _compare(lambda x: F.unfold(x, k, d, p, s), lambda x: tF.unfold(x, k, d, p, s), shape, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, k, d, p, s", BLOCKS)
def test_fold_matches_torch(shape, k, d, p, s, dtype):
    cols = tuple(tF.unfold(torch.zeros(shape), k, d, p, s).shape)
    size = shape[-2:]
    _compare(
        lambda c: F.fold(c, size, k, d, p, s),
        lambda c: tF.fold(c, size, k, d, p, s),
        cols,
        dtype,
    )


def test_fold_sums_overlaps():
    out = F.fold(F.unfold(cr.ones(1, 1, 3, 4), 2), (3, 4), 2).numpy()[0, 0]
    assert out.tolist() == [[1, 2, 2, 1], [2, 4, 4, 2], [1, 2, 2, 1]]


def test_gradcheck_float64():
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 2, 5, 4)), requires_grad=True)
    x = x.double().detach().requires_grad_()
    assert cr.gradcheck(lambda t: F.unfold(t, (2, 3), 2, 1, (2, 1)) ** 2, x)
    c = F.unfold(x.detach(), 2, 1, 1, 2).detach().requires_grad_()
    assert cr.gradcheck(lambda t: F.fold(t, (5, 4), 2, 1, 1, 2) ** 2, c)
    shuffled = x.detach().reshape(1, 4, 5, 4).requires_grad_()
    assert cr.gradcheck(lambda t: F.pixel_shuffle(t, 2) ** 2, shuffled)
    assert cr.gradcheck(
        lambda t: F.pixel_unshuffle(t, 2) ** 2, shuffled[:, :, :4].detach().requires_grad_()
    )
    assert cr.gradcheck(lambda t: F.channel_shuffle(t, 2).sin(), x)


@pytest.mark.parametrize(
    "ours, theirs, shape",
    [
        (lambda x: F.unfold(x, 2, 1, 1, 2), lambda x: tF.unfold(x, 2, 1, 1, 2), (2, 2, 5, 4)),
        (
            lambda x: F.fold(x, (3, 4), 2, stride=(1, 2)),
            lambda x: tF.fold(x, (3, 4), 2, stride=(1, 2)),
            (2, 8, 4),
        ),
        (lambda x: F.pixel_shuffle(x, 2), lambda x: tF.pixel_shuffle(x, 2), (2, 4, 3, 2)),
        (lambda x: F.pixel_unshuffle(x, 2), lambda x: tF.pixel_unshuffle(x, 2), (2, 1, 4, 2)),
        (lambda x: F.channel_shuffle(x, 2), lambda x: tF.channel_shuffle(x, 2), (2, 4, 3)),
    ],
)
def test_second_order_matches_torch(ours, theirs, shape):
    x = np.random.default_rng(2).standard_normal(shape)
    xo, xt = cr.tensor(x, dtype="float64", requires_grad=True), torch.tensor(x, requires_grad=True)
    weights = np.random.default_rng(3).standard_normal(tuple(theirs(xt).shape))
    (go,) = cr.autograd.grad((ours(xo) ** 3 * weights).sum(), xo, create_graph=True)
    (gt,) = torch.autograd.grad(
        (theirs(xt) ** 3 * torch.from_numpy(weights)).sum(), xt, create_graph=True
    )
    np.testing.assert_allclose(go.detach().numpy(), gt.detach().numpy(), **TOL["float64"])
    (go.sin()).sum().backward()
    (gt.sin()).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- modules ------------------------------------------------------------------------------------
MODULES = {
    "pixel_shuffle": ("PixelShuffle(2)", (2, 8, 3, 4)),
    "pixel_unshuffle": ("PixelUnshuffle(downscale_factor=3)", (2, 1, 6, 3)),
    "channel_shuffle": ("ChannelShuffle(3)", (2, 6, 2, 2)),
    "unfold": ("Unfold(kernel_size=(2, 3), dilation=2, padding=1, stride=(1, 2))", (2, 3, 5, 6)),
    "unfold_list": ("Unfold([2, 2])", (3, 4, 4)),
    "fold": ("Fold(output_size=(4, 5), kernel_size=2)", (2, 12, 12)),
    "fold_options": ("Fold(6, (2, 3), 1, (1, 0), 2)", (12, 8)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(name):
    expression, shape = MODULES[name]
    ours, theirs = eval(expression, {}, vars(nn)), eval(expression, {}, vars(torch.nn))
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and list(ours.parameters()) == []
    _compare(ours, theirs, shape)


def test_modules_save_and_load_their_architecture():
    model = nn.Sequential(*(eval(e, {}, vars(nn)) for e, _ in MODULES.values() if "[" not in e))
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert repr(rebuilt) == repr(model)


def test_module_arguments_are_checked_when_built():
    with pytest.raises(ValueError, match="upscale_factor must be an integer >= 1"):
        nn.PixelShuffle(0)
    with pytest.raises(ValueError, match="downscale_factor must be an integer >= 1"):
        nn.PixelUnshuffle(-1)
    with pytest.raises(ValueError, match="groups must be an integer >= 1"):
        nn.ChannelShuffle(0)
    with pytest.raises(RuntimeError, match="Unfold: stride should be greater than zero"):
        nn.Unfold(2, stride=0)
    with pytest.raises(TypeError, match="output_size"):
        nn.Fold(2.5, 2)


# ---- errors, with PyTorch's messages ------------------------------------------------------------
X = cr.ones(2, 3, 5, 6)
C = cr.ones(2, 12, 12)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.pixel_shuffle(cr.ones(2, 8, 3, 4), 3), RuntimeError, "divisible by 9"),
        (lambda: F.pixel_shuffle(X, 0), RuntimeError, "positive upscale_factor, but got 0"),
        (lambda: F.pixel_shuffle(X, 2.0), TypeError, "must be int"),
        (lambda: F.pixel_shuffle(cr.ones(8, 3), 2), RuntimeError, "at least 3 dimensions"),
        (lambda: F.pixel_unshuffle(X, 2), RuntimeError, r"height.*input.size\(-2\)=5"),
        (lambda: F.pixel_unshuffle(cr.ones(1, 6, 4), 3), RuntimeError, r"width.*size\(-1\)=4"),
        (lambda: F.pixel_unshuffle(X, -1), RuntimeError, "positive downscale_factor"),
        (lambda: F.channel_shuffle(X, 2), RuntimeError, "Got 3 channels and 2 groups"),
        (lambda: F.channel_shuffle(X, 0), RuntimeError, "must be positive"),
        (lambda: F.channel_shuffle(cr.ones(2, 8), 2), RuntimeError, r"> 2 dims"),
        (lambda: F.unfold(X, 7), RuntimeError, r"sliding blocks as \(-1, 0\)"),
        (lambda: F.unfold(X, 0), RuntimeError, "kernel size should be greater than zero"),
        (lambda: F.unfold(X, 2, dilation=0), RuntimeError, "dilation should be greater"),
        (lambda: F.unfold(X, 2, padding=-1), RuntimeError, "padding should be non-negative"),
        (lambda: F.unfold(X, (2, 2, 2)), RuntimeError, "kernel_size equals to 2, but got size 3"),
        (lambda: F.unfold(X, 2.0), TypeError, "kernel_size"),
        (lambda: F.unfold(cr.ones(3, 4), 2), IndexError, "3D .* or 4D"),
        (lambda: F.unfold(cr.ones(1, 2, 3, 4, 5), 2), RuntimeError, r"\[1, 2, 3, 4, 5\]"),
        (lambda: F.unfold(cr.ones(2, 0, 4, 4), 2), RuntimeError, "non-zero dimensions"),
        (lambda: F.unfold(cr.tensor(np.ones((1, 1, 3, 3), int)), 2), NotImplementedError, "int"),
        (lambda: F.fold(C, (4, 6), 2), RuntimeError, r"3 \* 5 = 15, but got input.size\(2\)=12"),
        (lambda: F.fold(C, 4, 2), RuntimeError, "sliding blocks 3 \\* 3 = 9"),
        (lambda: F.fold(cr.ones(2, 10, 12), (4, 5), 2), RuntimeError, "divisible by the product"),
        (lambda: F.fold(cr.ones(12), (4, 5), 2), RuntimeError, "2D .* or 3D"),
        (lambda: F.fold(cr.ones(2, 12, 0), (1, 1), 2), RuntimeError, "non-zero dimensions"),
        (lambda: F.fold(C, (4, 5, 6), 2), RuntimeError, "output_size equals to 2"),
        (lambda: F.fold(C, (4, 5), 2, stride=0), RuntimeError, "stride should be greater"),
        (lambda: F.fold(C, (1, 1), 2), RuntimeError, r"0 \* 0 = 0"),
    ],
)
def test_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- cr.compile ---------------------------------------------------------------------------------
class _Functional(nn.Module):
    """F.batch_norm with running statistics it owns, F.layer_norm and F.fold in one model."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", cr.zeros(8))
        self.register_buffer("var", cr.ones(8))
        self.conv = nn.Conv2d(2, 8, 1)

    def forward(self, x):
        x = F.batch_norm(self.conv(x), self.mean, self.var, training=True, momentum=0.2)
        x = F.fold(F.unfold(x, 2, padding=1), (4, 4), 2, padding=1)  # overlaps summed
        return F.rms_norm(F.layer_norm(x, (4, 4)), (4,))


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Sequential(
            nn.Conv2d(2, 8, 1),
            nn.PixelShuffle(2),
            nn.ChannelShuffle(2),
            nn.Unfold(3, padding=1, stride=2),
            nn.Fold((8, 8), 3, padding=1, stride=2),
            nn.PixelUnshuffle(4),
            nn.RMSNorm((32, 2, 2)),
        ),
        _Functional,
    ],
    ids=["modules", "functions"],
)
def test_compiled_step_equals_the_eager_step(make):
    import copy

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((3, 2, 4, 4)).astype(np.float32),) for _ in range(3)]
    cr.manual_seed(0)
    model = make()
    twin = copy.deepcopy(model)

    def loss_of(m, x):
        return (m(x) ** 2).mean()

    def train(m, compiled):
        opt = cr.optim.SGD(m.parameters(), lr=0.1)
        step = cr.compile(lambda x: loss_of(m, x), optimizer=opt) if compiled else None
        trail = []
        for (x,) in batches:
            if compiled:
                loss = step(x)
            else:
                opt.zero_grad()
                loss = loss_of(m, cr.tensor(x))
                loss.backward()
                opt.step()
            state = {k: np.array(getattr(v, "array", v)) for k, v in m.state_dict().items()}
            trail.append((loss.item(), state))
        return trail

    for (loss, state), (c_loss, c_state) in zip(train(model, False), train(twin, True)):
        assert c_loss == loss
        for name in state:
            np.testing.assert_array_equal(c_state[name], state[name], err_msg=name)
