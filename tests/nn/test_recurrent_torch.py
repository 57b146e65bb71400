"""nn.RNN / LSTM / GRU and their cells against torch.nn: weights copied from the torch module,
then outputs, final states, the input's and every parameter's gradient compared (float64
tight, float32 at float32's precision) across the layouts PyTorch accepts."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

TOLERANCE = {
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    "float32": {"rtol": 1e-4, "atol": 1e-5},
}
TORCH_DTYPE = {"float64": torch.float64, "float32": torch.float32}


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _array(t):
    return np.asarray(t.detach().numpy())


def _flat(result) -> list:
    """An RNN's (output, h_n) or an LSTM's (output, (h_n, c_n)) as a flat list of tensors."""
    if isinstance(result, (tuple, list)):
        return [t for part in result for t in _flat(part)]
    return [result]


def _compare(ours, theirs, inputs, dtype, seed=1):
    """Run both on ``inputs`` (arrays or tuples of arrays), backpropagate the same random
    weighting of every output, compare outputs, input gradients and parameter gradients."""
    tol = TOLERANCE[dtype]

    def tensors(lib_tensor, items):
        if isinstance(items, tuple):
            return tuple(tensors(lib_tensor, i) for i in items)
        return None if items is None else lib_tensor(items)

    ours_in = tensors(lambda a: cr.tensor(a, dtype=dtype, requires_grad=True), inputs)
    theirs_in = tensors(
        lambda a: torch.tensor(a, dtype=TORCH_DTYPE[dtype], requires_grad=True), inputs
    )
    out_ours, out_theirs = _flat(ours(*ours_in)), _flat(theirs(*theirs_in))
    assert [o.shape for o in out_ours] == [tuple(o.shape) for o in out_theirs]
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(o.shape) for o in out_ours]
    sum(
        ((o * w.astype(dtype)).sum() for o, w in zip(out_ours, weights)),
        cr.tensor(0.0, dtype=dtype),
    ).backward()
    sum((o * torch.tensor(w, dtype=o.dtype)).sum() for o, w in zip(out_theirs, weights)).backward()
    for a, b in zip(out_ours, out_theirs):
        np.testing.assert_allclose(_array(a), _array(b), **tol)
    for a, b in zip(_flat(ours_in), _flat(theirs_in)):
        if a is not None:
            np.testing.assert_allclose(_array(a.grad), _array(b.grad), **tol)
    theirs_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(theirs_params)
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(_array(param.grad), _array(theirs_params[name].grad), **tol)


def _sequence(batched, batch_first, steps=5, batch=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    if not batched:
        return rng.standard_normal((steps, features))
    shape = (batch, steps, features) if batch_first else (steps, batch, features)
    return rng.standard_normal(shape)


def _state(layer, batched, batch=3, seed=2, size=None):
    rng = np.random.default_rng(seed)
    rows = layer.num_layers * (2 if layer.bidirectional else 1)
    size = size or layer.hidden_size
    return rng.standard_normal((rows, batch, size) if batched else (rows, size))


LAYERS = ["RNN", "RNN-relu", "LSTM", "GRU"]


def _pair(kind, dtype, **kwargs):
    name, _, nonlinearity = kind.partition("-")
    if nonlinearity:
        kwargs["nonlinearity"] = nonlinearity
    theirs = getattr(torch.nn, name)(4, 3, dtype=TORCH_DTYPE[dtype], **kwargs)
    ours = getattr(nn, name)(4, 3, dtype=dtype, **kwargs)
    _copy_weights(ours, theirs)
    return ours, theirs


GRID = list(itertools.product([False, True], [1, 2], [False, True], [True, False]))


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("batch_first, num_layers, bidirectional, batched", GRID)
def test_layer_matches_torch_float64_without_initial_state(
    kind, batch_first, num_layers, bidirectional, batched
):
    ours, theirs = _pair(
        kind, "float64", num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional
    )
    _compare(ours, theirs, (_sequence(batched, batch_first),), "float64")


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("batch_first, num_layers, bidirectional, batched", GRID)
def test_layer_matches_torch_float64_with_initial_state(
    kind, batch_first, num_layers, bidirectional, batched
):
    ours, theirs = _pair(
        kind, "float64", num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional
    )
    state = _state(ours, batched)
    if kind == "LSTM":
        state = (state, _state(ours, batched, seed=3))
    _compare(ours, theirs, (_sequence(batched, batch_first), state), "float64")


@pytest.mark.parametrize("kind", LAYERS)
def test_layer_matches_torch_float32(kind):
    ours, theirs = _pair(kind, "float32", num_layers=2, bidirectional=True)
    _compare(ours, theirs, (_sequence(True, False).astype(np.float32),), "float32")


@pytest.mark.parametrize("kind", LAYERS)
def test_layer_without_bias_and_a_long_sequence_matches_torch(kind):
    # 37 steps: the input is halved into pieces before it is cut into steps (time_steps)
    ours, theirs = _pair(kind, "float64", bias=False, num_layers=2)
    _compare(ours, theirs, (_sequence(True, False, steps=37),), "float64")


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_with_projections_matches_torch(batched, bidirectional):
    ours, theirs = _pair("LSTM", "float64", num_layers=2, proj_size=2, bidirectional=bidirectional)
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    _compare(ours, theirs, (_sequence(batched, False),), "float64")
    state = (_state(ours, batched, size=2), _state(ours, batched, seed=3))
    ours.zero_grad()
    theirs.zero_grad()
    _compare(ours, theirs, (_sequence(batched, False), state), "float64")


CELLS = ["RNNCell", "RNNCell-relu", "LSTMCell", "GRUCell"]


def _cell_pair(kind, dtype, **kwargs):
    name, _, nonlinearity = kind.partition("-")
    if nonlinearity:
        kwargs["nonlinearity"] = nonlinearity
    theirs = getattr(torch.nn, name)(4, 3, dtype=TORCH_DTYPE[dtype], **kwargs)
    ours = getattr(nn, name)(4, 3, dtype=dtype, **kwargs)
    _copy_weights(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("given_state", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cell_matches_torch(kind, batched, given_state, dtype):
    ours, theirs = _cell_pair(kind, dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4) if batched else (4,)).astype(dtype)
    inputs = (x,)
    if given_state:
        state = rng.standard_normal((5, 3) if batched else (3,)).astype(dtype)
        inputs = (x, (state, state * 0.5) if kind == "LSTMCell" else state)
    _compare(ours, theirs, inputs, dtype)


@pytest.mark.parametrize("kind", CELLS)
def test_cell_without_bias_matches_torch(kind):
    ours, theirs = _cell_pair(kind, "float64", bias=False)
    assert ours.bias_ih is None and ours.bias_hh is None
    _compare(ours, theirs, (np.random.default_rng(0).standard_normal((2, 4)),), "float64")


def test_cell_unrolled_over_time_equals_the_layer():
    cell, layer = nn.GRUCell(4, 3, dtype="float64"), nn.GRU(4, 3, dtype="float64")
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = cr.tensor(_sequence(True, False), dtype="float64")
    h = None
    for t in range(x.shape[0]):
        h = cell(x[t], h)
    output, h_n = layer(x)
    np.testing.assert_allclose(_array(h), _array(h_n[0]), rtol=1e-12)
    np.testing.assert_allclose(_array(h), _array(output[-1]), rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.nn.RNN(4, 3),
        lambda lib: lib.nn.RNN(4, 3, 2, "relu", bias=False),
        lambda lib: lib.nn.LSTM(4, 3, num_layers=2, batch_first=True, dropout=0.5),
        lambda lib: lib.nn.LSTM(4, 3, bidirectional=True, proj_size=2),
        lambda lib: lib.nn.GRU(4, 3, 3, False, True, 0.25, True),
        lambda lib: lib.nn.RNNCell(4, 3, nonlinearity="relu", bias=False),
        lambda lib: lib.nn.LSTMCell(4, 3),
        lambda lib: lib.nn.GRUCell(4, 3, bias=False),
    ],
)
def test_repr_state_dict_names_and_shapes_are_torch(make):
    ours, theirs = make(cr), make(torch)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())  # torch tensors load as they are


@pytest.mark.parametrize("make", [lambda: nn.LSTM(4, 50, 2), lambda: nn.GRUCell(4, 50)])
def test_init_is_uniform_within_one_over_sqrt_hidden_size(make):
    bound = 1 / np.sqrt(50)
    for name, param in make().named_parameters():
        values = param.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound, name
        # drawn across the whole range, not a constant or a narrower scheme
        assert values.max() - values.min() > 1.5 * bound, name


def test_all_weights_lists_parameters_per_layer_and_direction_as_torch():
    ours, theirs = nn.GRU(4, 3, 2, bidirectional=True), torch.nn.GRU(4, 3, 2, bidirectional=True)
    shapes = [[p.shape for p in group] for group in ours.all_weights]
    assert shapes == [[tuple(p.shape) for p in group] for group in theirs.all_weights]
    assert ours.all_weights[3][1] is ours.weight_hh_l1_reverse
