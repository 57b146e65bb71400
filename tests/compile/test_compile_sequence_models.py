"""cr.compile on training steps of sequence models (RNN/LSTM/GRU, a Transformer encoder): the
compiled step is bit-for-bit the eager one, and a step written the eager way (backward and
optimizer.step() inside the function) is refused with what to write instead."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


class _LastStep(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.rnn = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.rnn(x)  # LSTM: (output, (h, c)); RNN/GRU: (output, h)
        return self.head(out[:, -1])


class _Encoder(nn.Module):
    def __init__(self, dropout):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            8, 2, dim_feedforward=16, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.encoder(x).mean(1))


def _train(model, loss_fn, batches, compiled):
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = cr.compile_step(model, loss_fn, opt, backend="numpy") if compiled else None
    losses = []
    cr.manual_seed(5)  # the same dropout masks in both runs
    for x, y in batches:
        if compiled:
            losses.append(step(x, y).item())
        else:
            opt.zero_grad()
            loss = loss_fn(model(cr.tensor(x)), cr.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses, [np.array(p.detach().numpy()) for p in model.parameters()]


def _same_run(make, loss_fn, batches):
    cr.manual_seed(0)
    model = make()
    twin = copy.deepcopy(model)
    eager_losses, eager_params = _train(model, loss_fn, batches, compiled=False)
    losses, params = _train(twin, loss_fn, batches, compiled=True)
    assert losses == eager_losses
    for a, b in zip(params, eager_params, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_training_step_compiles_bit_identical(kind):
    rng = np.random.default_rng(0)
    batches = [
        (rng.normal(size=(5, 6, 3)).astype(np.float32), rng.normal(size=(5, 1)).astype(np.float32))
        for _ in range(4)
    ]
    _same_run(lambda: _LastStep(kind), nn.MSELoss(), batches)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_transformer_encoder_step_compiles_bit_identical(dropout):
    rng = np.random.default_rng(1)
    batches = [
        (rng.normal(size=(4, 5, 8)).astype(np.float32), rng.integers(0, 3, size=4))
        for _ in range(4)
    ]
    _same_run(lambda: _Encoder(dropout), nn.CrossEntropyLoss(), batches)


def test_a_step_that_calls_backward_itself_is_refused_clearly():
    model = _LastStep("LSTM")
    opt = optim.SGD(model.parameters(), lr=0.1)

    def eager_style_step(x, y):
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step = cr.compile(eager_style_step)
    x, y = np.ones((2, 4, 3), np.float32), np.ones((2, 1), np.float32)
    with pytest.raises(cr.GraphError, match=r"called loss\.backward\(\) itself.*optimizer=opt"):
        step(x, y)


class _LastRealStep(nn.Module):
    """A padded-batch classifier reading each sequence's last real step by its length."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3, padding_idx=0)
        self.gru = nn.GRU(3, 4, batch_first=True)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        lengths = (np.asarray(x) != 0).sum(1)
        out, _ = self.gru(self.emb(x))
        return self.head(out[np.arange(len(lengths)), lengths - 1])


def test_an_index_array_made_in_forward_is_named_in_the_refusal():
    model = _LastRealStep()
    step = cr.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x = np.array([[1, 2, 0], [3, 4, 2]])
    with pytest.raises(cr.GraphError, match=r"of type tuple holding ndarray that is neither"):
        step(x, np.array([0, 1]))


class _StatefulForecaster(nn.Module):
    """Truncated backpropagation through time with the state kept on the model."""

    def __init__(self, hidden=None):
        super().__init__()
        self.lstm = nn.LSTM(2, 4, batch_first=True)
        self.head = nn.Linear(4, 1)
        self.hidden = hidden

    def forward(self, x):
        out, hidden = self.lstm(x, self.hidden)
        self.hidden = tuple(h.detach() for h in hidden)
        return self.head(out[:, -1])


def test_a_model_that_keeps_its_state_between_steps_is_refused_not_replayed_with_zeros():
    # The first call starts from hidden=None, so the recorded plan held the zero state and
    # every replay trained as if the state were reset: losses drifted from eager, silently
    x = np.random.default_rng(0).standard_normal((3, 6, 2)).astype(np.float32)
    y = np.ones((3, 1), np.float32)
    model = _StatefulForecaster()
    step = cr.compile_step(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(cr.GraphError, match=r"_StatefulForecaster.hidden is set to tensors"):
        step(x, y)
    started = _StatefulForecaster((cr.zeros(1, 3, 4), cr.zeros(1, 3, 4)))
    step = cr.compile_step(started, nn.MSELoss(), optim.SGD(started.parameters(), lr=0.1))
    with pytest.raises(cr.GraphError):
        step(x, y)
    stateless = nn.LSTM(2, 4, batch_first=True)  # a layer's own attributes are not state
    step = cr.compile_step(
        stateless, lambda out, t: ((out[0] - t) ** 2).mean(), optim.SGD(stateless.parameters())
    )
    step(x, np.zeros((3, 6, 4), np.float32))
    step(x, np.zeros((3, 6, 4), np.float32))
