"""dropout1d/2d/3d, alpha_dropout and feature_alpha_dropout (functions and modules) against
PyTorch. Random masks cannot match PyTorch's bits, so these check what must agree: the ranks
each accepts and its warnings and errors, which dimensions share a mask, keep rate and scale,
alpha dropout's affine constants and its mean/variance preservation, the identity in
evaluation, gradient = mask × scale, reprs, reproducibility under ``cr.manual_seed``."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

NAMES = ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
SHAPES = {0: (), 1: (40,), 2: (30, 40), 3: (20, 30, 4), 4: (20, 30, 2, 3), 5: (9, 30, 2, 2, 2)}
SHAPES[6] = (6, 9, 2, 2, 2, 2)
# the usual input of each (batched)
USUAL = {"dropout1d": (6, 8, 3), "dropout2d": (6, 8, 3, 2), "dropout3d": (6, 8, 3, 2, 2)}


def _run(lib, name, shape):
    """(output on ones or an exception class name, warning messages), in training."""
    module = F if lib == "cr" else TF
    make = (lambda s: cr.tensor(np.ones(s, np.float32))) if lib == "cr" else torch.ones
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = getattr(module, name)(make(shape), 0.5, True)
            out = np.asarray(out.array if lib == "cr" else out.numpy())
        except RuntimeError as err:
            out = ("RuntimeError", str(err).split(".")[0])
    return out, [str(w.message) for w in caught]


def _shared_axes(out: np.ndarray) -> set:
    """The axes along which every mask value is the same (a channel-wise mask's spatial axes)."""
    return {
        axis
        for axis in range(out.ndim)
        if np.all(out == np.take(out, [0], axis=axis)) and out.shape[axis] > 1
    }


@pytest.mark.parametrize("rank", sorted(SHAPES))
@pytest.mark.parametrize("name", NAMES)
def test_ranks_warnings_errors_and_mask_structure_as_torch(name, rank):
    ours, our_warnings = _run("cr", name, SHAPES[rank])
    theirs, their_warnings = _run("torch", name, SHAPES[rank])
    assert our_warnings == their_warnings
    if isinstance(theirs, tuple):
        assert ours == theirs  # both refuse, with PyTorch's message
        return
    assert isinstance(ours, np.ndarray), ours
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert _shared_axes(ours) == _shared_axes(theirs)
    if ours.size > 20:  # (a single value is kept or dropped at random)
        assert set(np.unique(ours)) == set(np.unique(theirs))  # the same kept, dropped values


@pytest.mark.parametrize(
    "fn, shape, channels",
    [
        (F.dropout1d, (40, 50, 6), (40, 50, 1)),
        (F.dropout1d, (2000, 6), (2000, 1)),
        (F.dropout2d, (40, 50, 3, 2), (40, 50, 1, 1)),
        (F.dropout3d, (40, 50, 2, 1, 2), (40, 50, 1, 1, 1)),
        (F.dropout3d, (2000, 2, 1, 2), (2000, 1, 1, 1)),
    ],
)
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_channel_dropout_keep_rate_scale_and_gradient(fn, shape, channels, p):
    values = np.random.default_rng(0).uniform(0.5, 1.5, shape)
    x = cr.tensor(values, dtype="float64", requires_grad=True)
    out = fn(x, p)
    ratio = out.array / values
    assert set(np.round(np.unique(ratio), 12)) == {0.0, round(1 / (1 - p), 12)}
    kept = out.array != 0
    mask = kept.reshape(channels + (-1,))[..., 0]
    np.testing.assert_array_equal(kept, np.broadcast_to(mask.reshape(channels), shape))
    assert abs((~mask).mean() - p) < 0.03  # one draw per (sample, channel)
    out.backward(np.ones(shape))
    np.testing.assert_allclose(x.grad, ratio, rtol=1e-12)  # gradient: the mask times the scale


@pytest.mark.parametrize("feature", [False, True])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_keeps_mean_and_variance_of_selu_normalised_input(p, feature):
    shape = (400, 500, 2) if feature else (1000, 400)
    values = np.random.default_rng(1).standard_normal(shape)
    x = cr.tensor(values, dtype="float64", requires_grad=True)
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    out = fn(x, p, training=True)
    theirs = (TF.feature_alpha_dropout if feature else TF.alpha_dropout)(
        torch.tensor(values), p, True
    )
    for result in (out.array, theirs.numpy()):
        assert abs(result.mean()) < 0.02 and abs(result.var() - 1) < 0.03
    # PyTorch's constants: kept a·x + λα·a·p, dropped λα·a·(p − 1)
    a = 1 / np.sqrt((1.7580993408473766**2 * p + 1) * (1 - p))
    kept = np.isclose(out.array, a * values + 1.7580993408473766 * a * p, rtol=1e-12)
    dropped = np.isclose(out.array, 1.7580993408473766 * a * (p - 1), rtol=1e-12)
    assert np.all(kept | dropped) and abs(dropped.mean() - p) < 0.02
    if feature:  # whole channels
        assert np.all(kept == kept[..., :1])
    out.backward(np.ones(shape))
    np.testing.assert_allclose(x.grad, kept * a, rtol=1e-12)


def test_alpha_dropout_constants_match_torch_on_zeros():
    for fn, theirs in ((F.alpha_dropout, TF.alpha_dropout), (F.feature_alpha_dropout, None)):
        theirs = theirs or TF.feature_alpha_dropout
        ours = np.unique(fn(cr.zeros(50, 40), 0.3, True).array)
        ref = np.unique(theirs(torch.zeros(50, 40), 0.3, True).numpy())
        np.testing.assert_allclose(ours, ref, rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_evaluation_returns_the_input_and_bad_p_raises(name):
    fn = getattr(F, name)
    shape = USUAL.get(name, (6, 8, 3, 2, 2))
    x = cr.randn(*shape)
    assert fn(x, 0.5, False) is x
    assert fn(x, 0.0, True) is x
    np.testing.assert_array_equal(fn(x, 1.0, True).array, np.zeros(x.shape))  # as PyTorch's
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            fn(x, p, True)
    if name.startswith("alpha") or name.startswith("feature"):
        assert fn(x) is x  # PyTorch's default: training=False
    with pytest.raises(cr.DTypeError, match="int64"):
        fn(cr.tensor(np.ones(shape, np.int64)), 0.5, True)
    ints = cr.tensor(np.ones(shape, np.int64))
    assert fn(ints, 0.5, False) is ints


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_mask(name):
    fn = getattr(F, name)
    shape = USUAL.get(name, (6, 8, 3, 2, 2))
    cr.manual_seed(3)
    a = fn(cr.ones(*shape), 0.5, True).array
    cr.manual_seed(3)
    np.testing.assert_array_equal(fn(cr.ones(*shape), 0.5, True).array, a)
    assert not np.array_equal(fn(cr.ones(*shape), 0.5, True).array, a)


def test_inplace_writes_the_input_where_nothing_is_recorded():
    x = cr.ones(4, 5, 3)
    assert F.dropout1d(x, 0.5, True, True) is x
    assert set(np.unique(x.array)) <= {0.0, 2.0} and (x.array == 0).any()
    y = cr.zeros(4, 5, 3)
    assert F.feature_alpha_dropout(y, 0.5, True, inplace=True) is y and (y.array != 0).all()
    leaf = cr.ones(4, 5, 3, 2, requires_grad=True)
    out = F.dropout3d(leaf, 0.5, True, True)  # the graph keeps the input: a new tensor
    assert out is not leaf and np.all(leaf.array == 1)
    z = cr.ones(4, 5)
    assert nn.AlphaDropout(0.5, inplace=True)(z) is not z and np.all(z.array == 1)  # PyTorch's


@pytest.mark.parametrize(
    "make",
    [
        lambda n: n.Dropout1d(),
        lambda n: n.Dropout1d(0.2, True),
        lambda n: n.Dropout2d(p=0.3),
        lambda n: n.Dropout3d(0.25),
        lambda n: n.AlphaDropout(0.2),
        lambda n: n.FeatureAlphaDropout(0.1, inplace=True),
    ],
)
def test_module_reprs_and_eval_identity_as_torch(make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    name = type(ours).__name__.lower().replace("dropout", "_dropout").strip("_")
    x = cr.randn(*USUAL.get(name, (6, 8, 3, 2, 2)))
    assert ours.eval()(x) is x
    with pytest.raises(ValueError, match="p"):
        type(ours)(1.5)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.Dropout1d(0.5), (30, 40, 5)),
        (nn.Dropout3d(0.5), (30, 40, 2, 2, 1)),
        (nn.FeatureAlphaDropout(0.5), (30, 40, 5)),
        (nn.AlphaDropout(0.5), (30, 40)),
    ],
)
def test_modules_drop_in_training_reproducibly_with_their_generator(layer, shape):
    layer.generator = cr.Generator(5)
    first = layer(cr.ones(*shape)).array
    layer.generator = cr.Generator(5)
    np.testing.assert_array_equal(layer(cr.ones(*shape)).array, first)
    assert len(np.unique(first)) == 2
    if not isinstance(layer, nn.AlphaDropout):  # whole channels
        per_channel = first.reshape(first.shape[:2] + (-1,))
        assert np.all(per_channel == per_channel[..., :1])


def test_dropout2d_module_follows_the_function_with_torch_warnings():
    layer = nn.Dropout2d(0.5)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        out = layer(cr.ones(6, 8, 5)).array
    assert np.all(out == out[:, :, :1])
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        layer(cr.ones(6, 8))
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        with pytest.warns(UserWarning):
            layer(cr.ones(6))


def test_modules_round_trip_through_a_saved_architecture():
    import json

    from chainrule.nn.registry import module_from_config, module_to_config

    model = nn.Sequential(
        nn.Dropout1d(0.1),
        nn.Dropout3d(0.2, True),
        nn.AlphaDropout(0.3),
        nn.FeatureAlphaDropout(0.4),
    )
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert repr(rebuilt) == repr(model)


def test_compiled_step_draws_fresh_masks_and_slopes_each_call_like_eager(rng):
    from tests.compile.test_compile_step import OPTIMIZERS, _assert_same, _classes, _train_both

    def make():
        return nn.Sequential(
            nn.Linear(5, 16),
            nn.Unflatten(1, (4, 4)),
            nn.Dropout1d(0.3),
            nn.FeatureAlphaDropout(0.2),
            nn.Flatten(),
            nn.RReLU(),
            nn.AlphaDropout(0.3),
            nn.SELU(),
            nn.Linear(16, 3),
        )

    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS["adam"], _classes(rng) * 2
    )
    assert lc == le
    _assert_same(eager, model)
    assert step.records == 1


@pytest.mark.parametrize("hard", [False, True])
def test_compiled_step_draws_fresh_gumbel_noise_each_call_like_eager(rng, hard):
    from tests.compile.test_compile_step import OPTIMIZERS, _assert_same, _classes, _train_both

    class Gumbel(nn.Module):
        def forward(self, x):
            return F.gumbel_softmax(x, tau=0.5, hard=hard)

    def make():
        return nn.Sequential(nn.Linear(5, 6), Gumbel(), nn.Linear(6, 3))

    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS["adam"], _classes(rng) * 2
    )
    assert lc == le and len(set(le)) == len(le)
    _assert_same(eager, model)
    assert step.records == 1
