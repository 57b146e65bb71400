"""cr.fit, cr.evaluate and the metrics on sequence models, as a user ports them from PyTorch:
an LSTM forecaster whose forward unpacks ``(output, (h, c))`` trains through ``cr.fit`` with the
losses of PyTorch's loop, and a tagger with a label per time step (CrossEntropyLoss's
``(N, C, L)`` scores against ``(N, L)`` labels) is scored per position, not as one-hot rows."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import metrics, nn, optim

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 7, 2))
TAGS = (X[..., 0] > 0).astype(np.int64)  # one label per time step


class _Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 6, batch_first=True)
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out).transpose(1, 2)  # (N, C, L), as CrossEntropyLoss takes it


def _accuracy_by_hand(model, x, y):
    with cr.no_grad():
        scores = model(cr.tensor(x, dtype=np.float32)).numpy()
    return float((scores.argmax(axis=1) == y).mean())


def test_per_position_accuracy_of_a_tagger():
    cr.manual_seed(0)
    model = _Tagger()
    history = cr.fit(
        model,
        (X, TAGS),
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.02),
        epochs=3,
        batch_size=16,
        validation_split=0.25,
        verbose=False,
    )
    assert history.history["val_accuracy"][-1] == pytest.approx(
        _accuracy_by_hand(model, X[36:], TAGS[36:])
    )
    scores = cr.evaluate(model, (X, TAGS), nn.CrossEntropyLoss())
    assert scores["accuracy"] == pytest.approx(_accuracy_by_hand(model, X, TAGS))


def test_metric_functions_take_class_scores_on_axis_1():
    scores = RNG.normal(size=(5, 3, 4))
    labels = RNG.integers(0, 3, size=(5, 4))
    expected = float((scores.argmax(axis=1) == labels).mean())
    assert metrics.accuracy(labels, scores) == pytest.approx(expected)
    running = metrics.Accuracy()
    running.update(labels[:2], scores[:2])
    running.update(labels[2:], scores[2:])
    assert running.result() == pytest.approx(expected)


class _Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1, :])


class _TorchForecaster(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(1, 8, batch_first=True)
        self.head = torch.nn.Linear(8, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1, :])


def test_lstm_forecaster_through_fit_has_torchs_losses():
    series = np.sin(np.arange(80) * 0.3) + 0.1 * RNG.normal(size=80)
    x = np.stack([series[i : i + 10] for i in range(70)])[:, :, None]
    y = series[10:][:, None]
    cr.manual_seed(1)
    model = _Forecaster().double()
    twin = _TorchForecaster().double()
    twin.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    history = cr.fit(
        model,
        (x, y),
        nn.MSELoss(),
        optim.Adam(model.parameters(), lr=0.01),
        epochs=3,
        batch_size=14,
        shuffle=False,
        verbose=False,
    )
    opt = torch.optim.Adam(twin.parameters(), lr=0.01)
    for epoch in range(3):
        losses = []
        for start in range(0, 70, 14):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(
                twin(torch.tensor(x[start : start + 14])), torch.tensor(y[start : start + 14])
            )
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert history.history["loss"][epoch] == pytest.approx(np.mean(losses), rel=1e-10)
    with torch.no_grad():
        expected = twin(torch.tensor(x[:5])).numpy()
    np.testing.assert_allclose(cr.predict(model, x[:5]), expected, rtol=1e-10)


NAMES = ["anna", "bob", "carlos", "dmitri", "eva", "fritz", "giulia", "hans"]
LABELS = np.array([0, 1, 2, 3, 0, 1, 2, 1])
CHARS = {c: i + 1 for i, c in enumerate(sorted(set("".join(NAMES))))}  # 0 pads


def _names_model(lib):
    class Names(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.nn.Embedding(len(CHARS) + 1, 4, padding_idx=0)
            self.gru = lib.nn.GRU(4, 5, batch_first=True)
            self.fc = lib.nn.Linear(5, 4)

        def forward(self, x, lengths):
            out, _ = self.gru(self.emb(x))
            return self.fc(out[lib.arange(len(lengths)), lengths - 1])

    return Names()


def test_char_gru_classifier_over_padded_batches_has_torchs_losses():
    """Embedding(padding_idx) + GRU over pad_sequence batches, each name's last real step,
    CrossEntropyLoss and Adam: the losses of six steps equal PyTorch's (float64)."""
    cr.manual_seed(2)
    model = _names_model(cr).double()
    twin = _names_model(torch).double()
    twin.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    opt = optim.Adam(model.parameters(), lr=0.05)
    topt = torch.optim.Adam(twin.parameters(), lr=0.05)
    for step in range(6):
        rows = [(3 * step + i) % len(NAMES) for i in range(4)]
        ids = [[CHARS[c] for c in NAMES[r]] for r in rows]
        lengths = np.array([len(s) for s in ids])
        x = cr.nn.utils.rnn.pad_sequence([cr.tensor(s) for s in ids], batch_first=True)
        tx = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in ids], batch_first=True)
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x, cr.tensor(lengths)), cr.tensor(LABELS[rows]))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.CrossEntropyLoss()(
            twin(tx, torch.tensor(lengths)), torch.tensor(LABELS[rows])
        )
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-12, abs=1e-14)


def test_several_inputs_are_refused_with_what_to_do():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(6, 3, padding_idx=0)
            self.gru = nn.GRU(3, 4, batch_first=True)
            self.fc = nn.Linear(4, 2)

        def forward(self, x, lengths):
            out, _ = self.gru(self.emb(x))
            return self.fc(out[cr.arange(len(lengths)), lengths - 1])

    x = np.array([[1, 2, 3], [4, 5, 0], [1, 0, 0]])
    lengths, y = (x != 0).sum(1), np.array([0, 1, 1])
    model = TwoInputs()
    with pytest.raises(TypeError, match=r"X is 2 arrays of 3 rows each.*\(x != 0\)\.sum\(1\)"):
        cr.fit(
            model,
            ((x, lengths), y),
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters()),
            verbose=False,
        )
