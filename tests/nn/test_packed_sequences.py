"""Packed variable-length sequences (nn.utils.rnn.PackedSequence and its functions) and the
recurrent layers over them, against PyTorch: packed and padded values, each sequence's last
real state, every gradient, the one-op layers against op_by_op(), second derivatives, the
round trips and the errors."""

import contextlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ArgumentError
from chainrule.nn.recurrent_cells import op_by_op
from chainrule.nn.utils import rnn

torch = pytest.importorskip("torch")
torch_rnn = torch.nn.utils.rnn

F64 = "float64"
INPUT, HIDDEN, STEPS = 3, 4, 5
SORTED, UNSORTED = [5, 3, 3, 1], [2, 5, 1, 3]


def _pair(kind, dtype=F64, **kwargs):
    """A chainrule layer and a PyTorch one with the same weights."""
    ours = getattr(nn, kind)(INPUT, HIDDEN, dtype=dtype, **kwargs)
    theirs = getattr(torch.nn, kind)(INPUT, HIDDEN, **kwargs).to(getattr(torch, dtype))
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    return ours, theirs


def _run(lib, layer, x, lengths, states, batch_first, enforce_sorted, weights, dtype, obo=False):
    """Pack, run, pad; the loss Σ w·padded + Σ w·state, backward: (padded, lengths, states)."""
    module = rnn if lib is cr else torch_rnn
    packed = module.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    hx = None
    if states:
        hx = tuple(states) if len(states) == 2 else states[0]
    with op_by_op() if obo else contextlib.nullcontext():
        out, finals = layer(packed, hx)
    padded, out_lengths = module.pad_packed_sequence(out, batch_first=batch_first)
    finals = finals if isinstance(finals, tuple) else (finals,)
    as_tensor = (lambda a: cr.tensor(a, dtype=dtype)) if lib is cr else torch.tensor
    loss = (padded * as_tensor(weights[0])).sum()
    for final, w in zip(finals, weights[1:]):
        loss = loss + (final * as_tensor(w)).sum()
    loss.backward()
    return padded, out_lengths, finals


def _arrays(lib, values, dtype):
    if lib is cr:
        return [cr.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    return [torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=True) for v in values]


def _numpy(t):
    return t.detach().numpy()


def _compare(kind, layers, bidirectional, batch_first, enforce_sorted, with_hx, dtype, tol):
    ours, theirs = _pair(
        kind, dtype, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
    )
    rng = np.random.default_rng(layers + 2 * bidirectional)
    lengths = SORTED if enforce_sorted else UNSORTED
    batch, directions = len(lengths), 2 if bidirectional else 1
    x = rng.standard_normal((batch, STEPS, INPUT) if batch_first else (STEPS, batch, INPUT))
    state_shape = (layers * directions, batch, HIDDEN)
    states = [rng.standard_normal(state_shape) for _ in range(2 if kind == "LSTM" else 1)]
    out_shape = (batch, STEPS, HIDDEN * directions) if batch_first else (STEPS, batch, -1)
    out_shape = out_shape[:2] + (HIDDEN * directions,)
    weights = [rng.standard_normal(out_shape)] + [rng.standard_normal(state_shape) for _ in states]
    results, inputs = {}, {}
    for lib, layer in ((cr, ours), (torch, theirs)):
        x_t, *state_t = _arrays(lib, [x] + states, dtype)
        given = state_t if with_hx else []
        results[lib] = _run(
            lib, layer, x_t, lengths, given, batch_first, enforce_sorted, weights, dtype
        )
        inputs[lib] = [x_t] + given
    (padded, lengths_out, finals), (their_padded, their_lengths, their_finals) = (
        results[cr],
        results[torch],
    )
    assert lengths_out.dtype == np.int64
    assert lengths_out.tolist() == their_lengths.tolist() == lengths
    check = dict(rtol=tol, atol=tol)
    np.testing.assert_allclose(_numpy(padded), _numpy(their_padded), **check)
    for final, their_final in zip(finals, their_finals, strict=True):
        np.testing.assert_allclose(_numpy(final), _numpy(their_final), **check)
    for mine, theirs_in in zip(inputs[cr], inputs[torch], strict=True):
        np.testing.assert_allclose(mine.grad.numpy(), theirs_in.grad.numpy(), **check)
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(), **check)


# ---- the layers against PyTorch ----------------------------------------------------------------
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize(
    "batch_first, enforce_sorted", [(False, True), (True, False), (False, False), (True, True)]
)
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (1, True), (2, False), (2, True)])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_layers_match_torch_in_float64(
    kind, layers, bidirectional, batch_first, enforce_sorted, with_hx
):
    _compare(kind, layers, bidirectional, batch_first, enforce_sorted, with_hx, F64, 1e-10)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_layers_match_torch_in_float32(kind):
    _compare(kind, 2, True, True, False, True, "float32", 1e-4)


def test_relu_rnn_and_lstm_with_projections_take_packed_batches():
    cr.manual_seed(3)
    rng = np.random.default_rng(3)
    for kwargs, kind in (({"nonlinearity": "relu"}, "RNN"), ({"proj_size": 2}, "LSTM")):
        ours, theirs = _pair(kind, bidirectional=True, batch_first=True, **kwargs)
        x = rng.standard_normal((4, STEPS, INPUT))
        outs = []
        for lib, layer in ((cr, ours), (torch, theirs)):
            module = rnn if lib is cr else torch_rnn
            (x_t,) = _arrays(lib, [x], F64)
            packed = module.pack_padded_sequence(x_t, UNSORTED, True, False)
            out, finals = layer(packed)
            padded = module.pad_packed_sequence(out, batch_first=True)[0]
            h_n = finals[0] if isinstance(finals, tuple) else finals
            (padded.sum() + (h_n * h_n).sum()).backward()
            outs.append((_numpy(padded), _numpy(h_n), x_t.grad.numpy()))
        for mine, their in zip(*outs):
            np.testing.assert_allclose(mine, their, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_one_op_layers_and_op_by_op_agree_on_packed_batches(kind):
    ours, _ = _pair(kind, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((STEPS, 4, INPUT))
    states = [rng.standard_normal((4, 4, HIDDEN)) for _ in range(2 if kind == "LSTM" else 1)]
    weights = [rng.standard_normal((STEPS, 4, 2 * HIDDEN))] + [
        rng.standard_normal(s.shape) for s in states
    ]
    results = []
    for obo in (False, True):
        ours.zero_grad()
        x_t, *state_t = _arrays(cr, [x] + states, F64)
        padded, _, finals = _run(cr, ours, x_t, UNSORTED, state_t, False, False, weights, F64, obo)
        grads = [t.grad.numpy() for t in [x_t, *state_t]] + [
            p.grad.numpy() for p in ours.parameters()
        ]
        results.append([_numpy(padded), *[_numpy(f) for f in finals], *grads])
    for fused, step_by_step in zip(*results, strict=True):
        np.testing.assert_allclose(fused, step_by_step, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_second_derivatives_through_packed_layers_match_torch(kind):
    ours, theirs = _pair(kind, bidirectional=True)
    x = np.random.default_rng(7).standard_normal((STEPS, 4, INPUT))
    v = np.random.default_rng(8).standard_normal(x.shape)

    def hessian_times_v(lib, layer):
        module = rnn if lib is cr else torch_rnn
        (t,) = _arrays(lib, [x], F64)
        out = layer(module.pack_padded_sequence(t, UNSORTED, enforce_sorted=False))[0]
        loss = (out.data * out.data).sum()
        (g,) = lib.autograd.grad(loss, t, create_graph=True)
        direction = cr.tensor(v, dtype=F64) if lib is cr else torch.tensor(v)
        (h,) = lib.autograd.grad((g * direction).sum(), t)
        return _numpy(h)

    np.testing.assert_allclose(
        hessian_times_v(cr, ours), hessian_times_v(torch, theirs), rtol=1e-9, atol=1e-11
    )


def test_full_length_packed_batch_equals_the_padded_run():
    layer = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, dtype=F64)
    x = cr.tensor(np.random.default_rng(1).standard_normal((STEPS, 3, INPUT)), dtype=F64)
    out, (h_n, c_n) = layer(x)
    packed_out, (packed_h, packed_c) = layer(rnn.pack_padded_sequence(x, [STEPS] * 3))
    np.testing.assert_allclose(_numpy(rnn.pad_packed_sequence(packed_out)[0]), _numpy(out))
    np.testing.assert_allclose(_numpy(packed_h), _numpy(h_n))
    np.testing.assert_allclose(_numpy(packed_c), _numpy(c_n))


def test_packed_output_keeps_the_input_packing():
    layer = nn.GRU(INPUT, HIDDEN)
    packed = rnn.pack_sequence([cr.ones(2, INPUT), cr.ones(4, INPUT)], enforce_sorted=False)
    out, h_n = layer(packed)
    assert isinstance(out, rnn.PackedSequence)
    assert out.data.shape == (6, HIDDEN) and h_n.shape == (1, 2, HIDDEN)
    assert out.batch_sizes.tolist() == packed.batch_sizes.tolist() == [2, 2, 1, 1]
    assert out.sorted_indices.tolist() == [1, 0] and out.unsorted_indices.tolist() == [1, 0]


def test_packed_data_of_the_wrong_shape_is_refused():
    packed = rnn.pack_sequence([cr.ones(2, INPUT + 1)])
    with pytest.raises(
        cr.ShapeError, match=r"\(sum of lengths=2, input_size=3\), got shape \(2, 4"
    ):
        nn.RNN(INPUT, HIDDEN)(packed)
    short = rnn.PackedSequence(cr.ones(2, INPUT), cr.tensor([2, 1]))
    with pytest.raises(
        cr.ShapeError, match=r"\(sum of lengths=3, input_size=3\), got shape \(2, 3"
    ):
        nn.GRU(INPUT, HIDDEN)(short)


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("layer", [nn.Linear(INPUT, 2), nn.GRUCell(INPUT, 2), nn.LayerNorm(INPUT)])
def test_a_packed_batch_given_to_a_non_recurrent_layer_is_named_in_the_error(layer, enforce_sorted):
    # PyTorch raises TypeError ("must be Tensor, not PackedSequence"); NumPy read the named
    # tuple as a ragged list and the error blamed an "inhomogeneous shape"
    packed = rnn.pack_sequence([cr.ones(3, INPUT), cr.ones(2, INPUT)], enforce_sorted)
    with pytest.raises(TypeError, match="got a PackedSequence; only RNN, LSTM and GRU"):
        layer(packed)
    repacked = packed._replace(data=layer(packed.data))  # the suggested way round
    assert repacked.data.shape[0] == 5


def test_dropout_between_layers_runs_on_packed_batches_in_training():
    layer = nn.LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    x = cr.randn(STEPS, 4, INPUT, requires_grad=True)
    out, (h_n, _) = layer(rnn.pack_padded_sequence(x, UNSORTED, enforce_sorted=False))
    (out.data.sum() + h_n.sum()).backward()
    padded_steps = np.arange(STEPS)[:, None] >= np.array(UNSORTED)[None, :]
    assert np.all(x.grad.numpy()[padded_steps] == 0)  # nothing past a sequence's end is read
    assert np.all(np.abs(x.grad.numpy()[~padded_steps]).sum(axis=-1) > 0)


# ---- packing and padding -------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[4, 4, 2, 1], [1, 4, 2, 4], [3, 1, 3, 2]])
def test_pack_and_pad_match_torch_with_gradients(lengths, batch_first):
    x = np.random.default_rng(2).standard_normal((4, 5, 2) if batch_first else (5, 4, 2))
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    results = []
    for lib, module in ((cr, rnn), (torch, torch_rnn)):
        (t,) = _arrays(lib, [x], F64)
        packed = module.pack_padded_sequence(t, lengths, batch_first, enforce_sorted)
        padded, out_lengths = module.pad_packed_sequence(
            packed, batch_first, padding_value=-2.0, total_length=6
        )
        weights = np.arange(np.prod(padded.shape)).reshape(padded.shape)
        (
            padded * (cr.tensor(weights, dtype=F64) if lib is cr else torch.tensor(weights))
        ).sum().backward()
        indices = [packed.sorted_indices, packed.unsorted_indices]
        results.append(
            [
                _numpy(packed.data),
                packed.batch_sizes.tolist(),
                _numpy(padded),
                out_lengths.tolist(),
                t.grad.numpy(),
            ]
            + [None if i is None else i.tolist() for i in indices]
        )
    for mine, theirs in zip(*results, strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize(
    "lengths", [[3, 2], np.array([3, 2]), cr.tensor([3, 2]), torch.tensor([3, 2])]
)
def test_lengths_may_be_a_list_an_array_or_an_int_tensor(lengths):
    packed = rnn.pack_padded_sequence(cr.ones(3, 2, 1), lengths)
    assert packed.batch_sizes.tolist() == [2, 2, 1]
    assert packed.batch_sizes.dtype == np.int64


def test_pack_sequence_and_unpack_sequence_round_trip():
    sequences = [cr.tensor([[1.0], [2.0]]), cr.tensor([[3.0], [4.0], [5.0]]), cr.tensor([[6.0]])]
    for enforce_sorted in (False,):
        packed = rnn.pack_sequence(sequences, enforce_sorted=enforce_sorted)
        theirs = torch_rnn.pack_sequence([torch.tensor(s.numpy()) for s in sequences], False)
        np.testing.assert_array_equal(packed.data.numpy(), theirs.data.numpy())
        back = rnn.unpack_sequence(packed)
        assert [b.tolist() for b in back] == [s.tolist() for s in sequences]
    sorted_packed = rnn.pack_sequence([sequences[1], sequences[0], sequences[2]])
    assert sorted_packed.sorted_indices is None and sorted_packed.batch_sizes.tolist() == [3, 2, 1]


def test_packed_sequence_is_a_named_tuple_as_torch():
    packed = rnn.PackedSequence(cr.ones(3, 2), cr.tensor([2, 1]), cr.tensor([1, 0]))
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert rnn.PackedSequence._fields == torch_rnn.PackedSequence._fields
    assert unsorted_indices.tolist() == [1, 0] and sorted_indices.dtype == np.int64
    assert packed.double().data.dtype == np.float64
    assert packed.to(cr.float64).batch_sizes is batch_sizes


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: rnn.pack_padded_sequence(cr.ones(3, 2, 1), [2, 3]),
            ArgumentError,
            "must be sorted in decreasing order when `enforce_sorted` is True",
        ),
        (
            lambda: rnn.pack_padded_sequence(cr.ones(3, 2, 1), [2, 0], enforce_sorted=False),
            ArgumentError,
            "has to be greater than 0",
        ),
        (
            lambda: rnn.pack_padded_sequence(cr.ones(3, 2, 1), [4, 1]),
            cr.ShapeError,
            "exceed the padded input's 3 time steps",
        ),
        (
            lambda: rnn.pack_padded_sequence(cr.ones(3, 2, 1), [3, 2, 1]),
            cr.ShapeError,
            r"Expected `len\(lengths\)` to be equal to batch_size, but got 3 \(batch_size=2\)",
        ),
        (
            lambda: rnn.pack_padded_sequence(cr.ones(3, 2, 1), [[3, 2]]),
            cr.ShapeError,
            "should be a 1D list or tensor",
        ),
        (
            lambda: rnn.pad_packed_sequence(rnn.pack_sequence([cr.ones(3)]), total_length=2),
            ArgumentError,
            "total_length=2 and max sequence length being 3",
        ),
        (lambda: rnn.pad_packed_sequence(cr.ones(3)), TypeError, "expected a PackedSequence"),
        (lambda: rnn.PackedSequence(cr.ones(3)), ArgumentError, "batch_sizes is required"),
        (lambda: rnn.PackedSequence(cr.ones(3), [1, 2]), cr.ShapeError, "non-increasing"),
    ],
)
def test_bad_packing_is_refused_as_torch_does(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_torch_error_types_are_kept():
    """PyTorch raises RuntimeError / ValueError for these: code catching those still works."""
    with pytest.raises(RuntimeError):
        rnn.pack_padded_sequence(cr.ones(3, 2, 1), [2, 3])
    with pytest.raises(ValueError):
        rnn.pad_packed_sequence(rnn.pack_sequence([cr.ones(3)]), total_length=2)
