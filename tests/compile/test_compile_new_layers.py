"""cr.compile on the layers added after it: recurrent layers and cells, padded sequences,
attention and the Transformer layers, GroupNorm/InstanceNorm/LocalResponseNorm, the extra
activations, Bilinear, the 3-D layers and linear algebra.

Each case trains N steps eagerly and N steps through ``cr.compile(fn, optimizer=opt)`` (as
docs/compile.md shows) from the same weights and the same random generator, with SGD and Adam:
the losses, parameters and buffers (running statistics) must be equal bit for bit after every
step. What cannot compile must say so (``GraphError`` naming the op), and ``cr.fit``'s
``compile="auto"`` must then train eagerly with the same weights as ``compile=False``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

STEPS = 4
OPTIMIZERS = {"sgd": lambda p: optim.SGD(p, lr=0.05), "adam": lambda p: optim.Adam(p, lr=0.01)}
L = cr.linalg
mse = nn.MSELoss()


def _normal(rng, *shape):
    return rng.normal(size=shape).astype(np.float32)


class _Head(nn.Module):
    """``body`` then a Linear head on the features ``pick`` takes from its output."""

    def __init__(self, body, features, pick):
        super().__init__()
        self.body, self.head, self.pick = body, nn.Linear(features, 1), pick

    def forward(self, *inputs, **options):
        return self.head(self.pick(self.body(*inputs, **options)))


def _last_step(out):
    return out[0][:, -1]  # (output, h) or (output, (h, c)): the output's last step


def _recurrent(kind):
    body = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True, dropout=0.3, bidirectional=True)
    return _Head(body, 8, _last_step)


def _rnn_with_state(model, x, h0, y):
    state = (h0, h0) if isinstance(model.body, nn.LSTM) else h0
    return mse(model.head(model.body(x, state)[0][:, -1]), y)


class _CellLoop(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.cell, self.head = getattr(nn, kind)(3, 4), nn.Linear(4, 1)

    def forward(self, x):
        state = None
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
        return self.head(state[0] if isinstance(state, tuple) else state)


def _padded_gru(model, a, b, c, y):
    x = nn.utils.rnn.pad_sequence([a, b, c], batch_first=True)
    return mse(model(x), y)


def _attention(**options):
    def pick(result):
        return result[0].mean(1)

    attention = nn.MultiheadAttention(8, 2, dropout=0.3, batch_first=True)
    model = _Head(attention, 8, pick)
    model.options = options
    return model


def _attend(model, x, y, *masks):
    options = dict(model.options)
    if masks:
        options["attn_mask"] = masks[0]
    return mse(model(x, x, x, **options), y)


def _encoder():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.2, batch_first=True)
    return _Head(nn.TransformerEncoder(layer, 2), 8, lambda out: out.mean(1))


def _decoder():
    layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.2, batch_first=True, norm_first=True)
    return _Head(nn.TransformerDecoder(layer, 2), 8, lambda out: out.mean(1))


def _transformer():
    body = nn.Transformer(8, 2, 1, 1, 16, dropout=0.2, batch_first=True)
    return _Head(body, 8, lambda out: out.mean(1))


def _causal(n):
    return np.triu(np.full((n, n), -np.inf, np.float32), 1)


def _causal_first(rng, step, n):
    """The causal mask on the first step, then other float masks: a tracer that decided
    'causal' from the first mask's values would replay the causal mask on every step."""
    if step == 0:
        return _causal(n)
    return np.where(rng.random((n, n)) < 0.3, -np.inf, 0).astype(np.float32)


class _Matrix(nn.Module):
    """One 3 x 3 parameter for the linear-algebra cases."""

    def __init__(self):
        super().__init__()
        noise = np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32)
        self.w = nn.Parameter(np.eye(3, dtype=np.float32) * 2 + 0.1 * noise)


def _linalg(f):
    return lambda model, x: 0.01 * f(model.w, x) ** 2


def _gram(w, x):
    return w @ w.T + x @ x.T


LINALG = {
    "det": lambda w, x: L.det(w + x),
    "inv": lambda w, x: L.inv(w + x).sum(),
    "solve": lambda w, x: L.solve(w, x).sum(),
    "solve_triangular": lambda w, x: L.solve_triangular(w.triu(), x, upper=True).sum(),
    "norm": lambda w, x: L.norm(w @ x),
    "matrix_norm_nuc": lambda w, x: L.matrix_norm(w @ x, "nuc"),
    "matrix_norm_2": lambda w, x: L.matrix_norm(w @ x, 2),
    "vector_norm_3": lambda w, x: L.vector_norm(w @ x, ord=3),
    "qr": lambda w, x: L.qr(w @ x)[1].sum(),
    "svd": lambda w, x: L.svd(w @ x)[1].sum(),
    "svdvals": lambda w, x: L.svdvals(w @ x).sum(),
    "eigh": lambda w, x: L.eigh(_gram(w, x))[0].sum(),
    "eigvalsh": lambda w, x: L.eigvalsh(_gram(w, x)).sum(),
    "cholesky": lambda w, x: L.cholesky(_gram(w, x)).sum(),
    "cond": lambda w, x: L.cond(w + x),
    "matrix_exp": lambda w, x: L.matrix_exp(w + x).sum(),
    "matrix_power": lambda w, x: L.matrix_power(w + x, 3).sum(),
    "matrix_power_neg": lambda w, x: L.matrix_power(w + x, -2).sum(),
    "multi_dot": lambda w, x: L.multi_dot([w, x, w]).sum(),
    "tensorinv": lambda w, x: L.tensorinv(w + x, ind=1).sum(),
    "cross": lambda w, x: L.cross(w, x).sum(),
    "vecdot": lambda w, x: L.vecdot(w, x).sum(),
}
_SCALES = (0.01, 3.0, 0.3, 8.0)  # matrices of very different norms: no branch may be frozen


def _model_loss(model, x, y):
    return mse(model(x), y)


def _xy(*shape):
    return lambda rng, step: (_normal(rng, 5, *shape), _normal(rng, 5, 1))


def _flat_head(*layers, features, outputs=1):
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, outputs))


# id -> (make model, loss of (model, *tensors), batch of (rng, step) as arrays)
CASES = {
    **{
        f"{kind}-bidirectional-dropout": (lambda k=kind: _recurrent(k), _model_loss, _xy(6, 3))
        for kind in ("RNN", "LSTM", "GRU")
    },
    **{
        f"{kind}-initial-state": (
            lambda k=kind: _recurrent(k),
            _rnn_with_state,
            lambda rng, step: (_normal(rng, 5, 6, 3), _normal(rng, 4, 5, 4), _normal(rng, 5, 1)),
        )
        for kind in ("RNN", "LSTM", "GRU")
    },
    **{
        kind: (lambda k=kind: _CellLoop(k), _model_loss, _xy(6, 3))
        for kind in ("RNNCell", "LSTMCell", "GRUCell")
    },
    "pad_sequence-GRU": (
        lambda: _Head(nn.GRU(3, 4, batch_first=True), 4, _last_step),
        _padded_gru,
        lambda rng, step: tuple(_normal(rng, n, 3) for n in (4, 2, 3)) + (_normal(rng, 3, 1),),
    ),
    "MHA-dropout": (lambda: _attention(), _attend, _xy(5, 8)),
    "MHA-dropout-weights": (lambda: _attention(need_weights=True), _attend, _xy(5, 8)),
    "MHA-is_causal": (
        lambda: _attention(attn_mask=_causal(5), is_causal=True, need_weights=False),
        _attend,
        _xy(5, 8),
    ),
    "MHA-float-mask-argument": (
        lambda: _attention(),
        _attend,
        lambda rng, step: _xy(5, 8)(rng, step) + (_causal_first(rng, step, 5),),
    ),
    "TransformerEncoder-is_causal": (
        _encoder,
        lambda m, x, y: mse(
            m(x, mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=True), y
        ),  # fmt: skip
        _xy(5, 8),
    ),
    "TransformerEncoder-mask-argument": (
        _encoder,
        lambda m, x, y, mask: mse(m(x, mask=mask), y),
        lambda rng, step: _xy(5, 8)(rng, step) + (_causal_first(rng, step, 5),),
    ),
    "TransformerDecoder-mask-argument": (
        _decoder,
        lambda m, t, s, y, mask: mse(m(t, s, tgt_mask=mask), y),
        lambda rng, step: (
            (_normal(rng, 3, 4, 8), _normal(rng, 3, 5, 8), _normal(rng, 3, 1))
            + (_causal_first(rng, step, 4),)
        ),
    ),
    "Transformer-tgt_is_causal": (
        _transformer,
        lambda m, s, t, y: mse(
            m(s, t, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), tgt_is_causal=True),
            y,
        ),  # fmt: skip
        lambda rng, step: (_normal(rng, 3, 5, 8), _normal(rng, 3, 4, 8), _normal(rng, 3, 1)),
    ),
    "GroupNorm": (
        lambda: _flat_head(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), features=64),
        _model_loss,
        _xy(2, 6, 6),
    ),
    "InstanceNorm1d-affine-running-stats": (
        lambda: _flat_head(
            nn.Conv1d(2, 3, 3),
            nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
            features=18,
        ),  # fmt: skip
        _model_loss,
        _xy(2, 8),
    ),
    "InstanceNorm2d-running-stats-momentum-None": (
        lambda: _flat_head(
            nn.Conv2d(2, 2, 1),
            nn.InstanceNorm2d(2, track_running_stats=True, momentum=None),
            features=50,
        ),  # fmt: skip
        _model_loss,
        _xy(2, 5, 5),
    ),
    "InstanceNorm3d-affine": (
        lambda: _flat_head(nn.Conv3d(2, 2, 1), nn.InstanceNorm3d(2, affine=True), features=54),
        _model_loss,
        _xy(2, 3, 3, 3),
    ),
    "LocalResponseNorm": (
        lambda: _flat_head(nn.Conv2d(2, 4, 3), nn.LocalResponseNorm(3), features=64),
        _model_loss,
        _xy(2, 6, 6),
    ),
    "Conv3d-AvgPool3d": (
        lambda: _flat_head(nn.Conv3d(2, 3, 3, padding=1), nn.Tanh(), nn.AvgPool3d(2), features=24),
        _model_loss,
        _xy(2, 4, 4, 4),
    ),
    "Conv3d-MaxPool3d": (
        lambda: _flat_head(
            nn.Conv3d(2, 3, 3, padding=1),
            nn.MaxPool3d(2, padding=1, dilation=(2, 1, 1)),
            features=54,
        ),  # fmt: skip
        _model_loss,
        _xy(2, 4, 4, 4),
    ),
    "Bilinear": (
        lambda: _Head(nn.Bilinear(3, 4, 2), 2, lambda out: out),
        lambda m, a, b, y: mse(m(a, b), y),
        lambda rng, step: (_normal(rng, 5, 3), _normal(rng, 5, 4), _normal(rng, 5, 1)),
    ),
    **{
        f"linalg-{name}": (
            _Matrix,
            _linalg(f),
            lambda rng, step: (np.float32(_SCALES[step]) * _normal(rng, 3, 3),),
        )
        for name, f in LINALG.items()
    },
}

ACTIVATIONS = {
    "PReLU": lambda: nn.PReLU(),
    "PReLU-per-channel": lambda: nn.PReLU(6),
    "Mish": nn.Mish,
    "Hardswish": nn.Hardswish,
    "Hardsigmoid": nn.Hardsigmoid,
    "Softsign": nn.Softsign,
    "Tanhshrink": nn.Tanhshrink,
    "Threshold": lambda: nn.Threshold(0.1, -1.0),
    "Softmin": lambda: nn.Softmin(dim=1),
}
for _name, _make in ACTIVATIONS.items():
    CASES[_name] = (
        lambda m=_make: nn.Sequential(nn.Linear(4, 6), m(), nn.Linear(6, 1)),
        _model_loss,
        _xy(4),
    )
CASES["GLU"] = (
    lambda: nn.Sequential(nn.Linear(4, 6), nn.GLU(), nn.Linear(3, 1)),
    _model_loss,
    _xy(4),
)


def _bool_mask(rng, step):
    return _xy(5, 8)(rng, step) + (rng.random((5, 5)) < 0.3,)


def _padding_mask(rng, step):
    return _xy(5, 8)(rng, step) + (np.arange(5)[None] >= rng.integers(2, 6, size=(5, 1)),)


CASES["MHA-bool-mask-argument"] = (lambda: _attention(), _attend, _bool_mask)
CASES["MHA-key-padding-mask-argument"] = (
    lambda: _attention(),
    lambda m, x, y, kpm: mse(m(x, x, x, key_padding_mask=kpm), y),
    _padding_mask,
)
CASES["TransformerEncoder-key-padding-mask-argument"] = (
    _encoder,
    lambda m, x, y, kpm: mse(m(x, src_key_padding_mask=kpm), y),
    _padding_mask,
)


def _train(model, loss_of, batches, make_opt, compiled):
    """Losses and (parameters and buffers) after each step."""
    opt = make_opt(model.parameters())
    step = cr.compile(lambda *a: loss_of(model, *a), optimizer=opt) if compiled else None
    cr.manual_seed(5)  # the same dropout masks in both runs
    trail = []
    for batch in batches:
        if compiled:
            loss = step(*batch)
        else:
            opt.zero_grad()
            loss = loss_of(model, *[cr.tensor(a) for a in batch])
            loss.backward()
            opt.step()
        state = {k: np.array(getattr(v, "array", v)) for k, v in model.state_dict().items()}
        trail.append((loss.item(), state))
    if compiled:
        assert step.records == 1
        assert [plan.backend for plan in step.plans.values()] == ["numpy"]
    return trail


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_step_equals_the_eager_step_bit_for_bit(case, optimizer):
    make, loss_of, batch = CASES[case]
    rng = np.random.default_rng(0)
    batches = [batch(rng, step) for step in range(STEPS)]
    cr.manual_seed(0)
    model = make()
    twin = copy.deepcopy(model)
    eager = _train(model, loss_of, batches, OPTIMIZERS[optimizer], compiled=False)
    compiled = _train(twin, loss_of, batches, OPTIMIZERS[optimizer], compiled=True)
    for step, ((loss, state), (c_loss, c_state)) in enumerate(zip(eager, compiled)):
        assert c_loss == loss, f"step {step}"
        assert c_state.keys() == state.keys()
        for name in state:
            np.testing.assert_array_equal(c_state[name], state[name], err_msg=f"{name}, {step}")


# id -> (make model, loss, batch, what the refusal names): read from arrays made in forward
REFUSED = {
    "linalg-slogdet": (
        _Matrix,
        _linalg(lambda w, x: L.slogdet(w + x)[1]),
        lambda r, s: (_normal(r, 3, 3),),
        "op MaskedFill gets option mask=",
    ),  # fmt: skip
    "linalg-lstsq": (
        _Matrix,
        _linalg(lambda w, x: L.lstsq(w, x).solution.sum()),
        lambda r, s: (_normal(r, 3, 3),),
        "op Where gets option cond=",
    ),  # fmt: skip
    "max-along-dim": (
        lambda: nn.Linear(4, 3),
        lambda m, x, y: mse(cr.max(m(x), 1).values, y.reshape(-1)),
        _xy(4),
        "op MaxDim gets option index=",
    ),  # fmt: skip
    "linalg-pinv": (
        _Matrix,
        _linalg(lambda w, x: L.pinv(w + x).sum()),
        lambda r, s: (_normal(r, 3, 3),),
        "op Where gets option cond=",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_reads_an_array_made_in_forward_is_refused_naming_the_op(case):
    make, loss_of, batch, message = REFUSED[case]
    model = make()
    step = cr.compile(lambda *a: loss_of(model, *a), optimizer=optim.SGD(model.parameters(), 0.1))
    with pytest.raises(cr.GraphError, match=message):
        step(*batch(np.random.default_rng(0), 0))


# id -> (make a Sequential of chainrule's own layers, input shape, compiles?)
FIT = {
    "GroupNorm": (CASES["GroupNorm"][0], (2, 6, 6), "compiled"),
    "InstanceNorm1d-running-stats": (
        CASES["InstanceNorm1d-affine-running-stats"][0],
        (2, 8),
        "compiled",
    ),  # fmt: skip
    "LocalResponseNorm": (CASES["LocalResponseNorm"][0], (2, 6, 6), "compiled"),
    "Conv3d-AvgPool3d": (CASES["Conv3d-AvgPool3d"][0], (2, 4, 4, 4), "compiled"),
    "Mish": (CASES["Mish"][0], (4,), "compiled"),
    "TransformerEncoderLayer-dropout": (
        lambda: _flat_head(
            nn.TransformerEncoderLayer(8, 2, 16, dropout=0.2, batch_first=True), features=40
        ),
        (5, 8),
        "compiled",
    ),
    "Conv3d-MaxPool3d": (CASES["Conv3d-MaxPool3d"][0], (2, 4, 4, 4), "compiled"),
    # a loss whose class weights are an array option: refused, "auto" trains eagerly
    "GroupNorm-weighted-cross-entropy": (
        lambda: _flat_head(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), features=64, outputs=2),
        (2, 6, 6),
        "refused",
    ),
    # a module of the user's own (the head over an LSTM's last step): "auto" stays eager,
    # compile=True compiles
    "LSTM-in-a-custom-module": (CASES["LSTM-bidirectional-dropout"][0], (6, 3), "custom"),
    "GRUCell-in-a-custom-module": (CASES["GRUCell"][0], (6, 3), "custom"),
}


def _fit(make, shape, compile, weighted=False):  # noqa: A002 - fit's argument
    rng = np.random.default_rng(3)
    x, y = _normal(rng, 24, *shape), _normal(rng, 24, 1)
    loss_fn = nn.MSELoss()
    metric = "mae"
    if weighted:  # two classes, the second weighted twice
        y, loss_fn = (y[:, 0] > 0).astype(np.int64), nn.CrossEntropyLoss(weight=[1.0, 2.0])
        metric = "accuracy"
    cr.manual_seed(0)
    model = make()
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = cr.fit(model, (x, y), loss_fn, opt, epochs=2, batch_size=8, seed=1,
                     metrics=[metric], verbose=False, compile=compile)  # fmt: skip
    return model, history


def _same_training(a, h_a, b, h_b):
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(getattr(x, "array", x), getattr(y, "array", y), name)
    assert h_a.history["loss"] == h_b.history["loss"]
    for key in h_a.history:
        if key not in ("time", "lr"):
            assert h_a.history[key] == h_b.history[key], key


@pytest.mark.parametrize("case", list(FIT))
def test_fit_compiles_or_falls_back_and_says_which(case):
    make, shape, outcome = FIT[case]
    weighted = outcome == "refused"
    eager, h_eager = _fit(make, shape, False, weighted)
    auto, h_auto = _fit(make, shape, "auto", weighted)
    _same_training(eager, h_eager, auto, h_auto)
    if outcome == "compiled":
        assert (h_auto.compiled_steps, h_auto.eager_steps) == (6, 0)
        assert h_auto.compile_reason is None
        return
    assert (h_auto.compiled_steps, h_auto.eager_steps) == (0, 6)
    if outcome == "refused":
        assert "op CrossEntropy gets option" in h_auto.compile_reason
        with pytest.raises(cr.GraphError, match="fit.compile=True.: this model cannot be compiled"):
            _fit(make, shape, True, weighted)
        return
    assert f"{type(auto).__name__} not chainrule's own" in h_auto.compile_reason
    forced, h_forced = _fit(make, shape, True)
    assert (h_forced.compiled_steps, h_forced.eager_steps) == (6, 0)
    _same_training(eager, h_eager, forced, h_forced)
