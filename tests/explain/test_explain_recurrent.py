"""cr.explain on recurrent models and attention, checked against PyTorch: a weight a recurrent
layer applies at every time step gets its chain rule summed over the time steps, each step's
share printed and equal to PyTorch's gradient through that step alone; the stacked outputs'
factors have their formula (not '?')."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain.datamodel import Chain

torch = pytest.importorskip("torch")

X = np.array([[[0.5], [-0.3], [0.8]]])  # 1 sample, 3 time steps, 1 feature
Y = np.array([[0.2]])


class _LastStep(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.rnn = getattr(nn, kind)(1, 2, batch_first=True)
        self.fc = nn.Linear(2, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class _CellLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(1, 2)
        self.fc = nn.Linear(2, 1)

    def forward(self, x):
        h = None
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return self.fc(h)


def _torch_step_shares(params):
    """PyTorch's gradient of each time step's copy of W_hh (the RNN unrolled by hand, every
    step with its own leaf), and of the whole W_hh through nn.RNN."""
    w = {k: torch.tensor(v) for k, v in params.items()}
    steps = [w["rnn.weight_hh_l0"].clone().requires_grad_(True) for _ in range(3)]
    h = torch.zeros(1, 2, dtype=torch.float64)
    for t in range(3):
        x_t = torch.tensor(X[:, t])
        h = torch.tanh(
            x_t @ w["rnn.weight_ih_l0"].T
            + w["rnn.bias_ih_l0"]
            + h @ steps[t].T
            + w["rnn.bias_hh_l0"]
        )
        out = h @ w["fc.weight"].T + w["fc.bias"]
    torch.nn.functional.mse_loss(out, torch.tensor(Y)).backward()
    rnn = torch.nn.RNN(1, 2, batch_first=True).double()
    rnn.load_state_dict({k[4:]: v for k, v in w.items() if k.startswith("rnn.")})
    seq, _ = rnn(torch.tensor(X))
    loss = torch.nn.functional.mse_loss(
        seq[:, -1] @ w["fc.weight"].T + w["fc.bias"], torch.tensor(Y)
    )
    loss.backward()
    return [s.grad.numpy() for s in steps], rnn.weight_hh_l0.grad.numpy()


@pytest.mark.parametrize("element", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_recurrent_weight_is_summed_over_time_steps_as_torch(element):
    cr.manual_seed(0)
    model = _LastStep("RNN")
    params = {
        n: np.asarray(p.detach().numpy(), dtype=np.float64) for n, p in model.named_parameters()
    }
    name = f"rnn.weight_hh_l0[{element[0]}, {element[1]}]"
    report = cr.explain(model, X, Y, nn.MSELoss(), param=name)
    per_step, whole = _torch_step_shares(params)
    (chain,) = report.data["chains"]
    assert chain["total"] == pytest.approx(whole[element], abs=1e-12)
    shares = [u["share"] for u in chain["uses"]]
    assert shares == pytest.approx([g[element] for g in per_step], abs=1e-12)
    assert sum(shares) == pytest.approx(whole[element], abs=1e-12)
    text = report.text(width=None)
    assert "read by 3 ops" in text and "once per time step" in text
    assert "Σ over uses" in text
    assert [u.share for u in Chain.from_dict(chain).uses] == shares


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_every_factor_of_a_recurrent_model_has_its_formula(kind):
    cr.manual_seed(1)
    model = _LastStep(kind)
    report = cr.explain(model, X, Y, nn.MSELoss(), param="rnn.weight_hh_l0[0, 1]")
    (chain,) = report.data["chains"]
    formulas = {f["symbol"]: f["formula"] for p in chain["paths"] for f in p["factors"]}
    assert "?" not in formulas.values(), formulas
    stacked = [f for s, f in formulas.items() if "/∂" in s and f.startswith("1 (each input")]
    assert stacked  # the step through the stack of the outputs reads as stack's own formula
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)


def test_a_cell_called_in_a_loop_names_its_uses():
    cr.manual_seed(2)
    report = cr.explain(_CellLoop(), X, Y, nn.MSELoss(), param="cell.weight_ih[1, 0]")
    (chain,) = report.data["chains"]
    assert len(chain["uses"]) == 3
    assert "recurrent cell (RNNCell), called once per time step" in chain["used_by"]
    assert sum(u["share"] for u in chain["uses"]) == pytest.approx(chain["engine_grad"], abs=1e-12)


def test_a_weight_read_once_has_no_uses_paragraph():
    cr.manual_seed(3)
    report = cr.explain(_LastStep("RNN"), X, Y, nn.MSELoss(), param="fc.weight[0, 1]")
    assert "uses" not in report.data["chains"][0]
    assert "Σ over uses" not in report.text(width=None)


def test_one_head_attention_chain_is_torch_gradient():
    cr.manual_seed(4)

    class Att(nn.Module):
        def __init__(self):
            super().__init__()
            self.att = nn.MultiheadAttention(2, 1, batch_first=True)
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            out, _ = self.att(x, x, x)
            return self.fc(out[:, -1])

    model = Att()
    x = np.array([[[0.5, 0.1], [-0.3, 0.2], [0.8, -0.4]]])
    report = cr.explain(
        model, x, Y, nn.MSELoss(), param=["att.in_proj_weight[0, 1]", "att.in_proj_weight[5, 0]"]
    )
    state = {
        k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in model.state_dict().items()
    }
    att = torch.nn.MultiheadAttention(2, 1, batch_first=True).double()
    att.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("att.")})
    tx = torch.tensor(x)
    out, _ = att(tx, tx, tx)
    pred = out[:, -1] @ state["fc.weight"].T + state["fc.bias"]
    torch.nn.functional.mse_loss(pred, torch.tensor(Y)).backward()
    grad = att.in_proj_weight.grad.numpy()
    totals = [c["total"] for c in report.data["chains"]]
    assert totals == pytest.approx([grad[0, 1], grad[5, 0]], abs=1e-12)
    assert " ? " not in str(report)


def test_time_steps_of_the_reverse_direction_run_backwards():
    """Reading only the last position, the reverse direction's input weight matters only at
    time step 3 (the first step it runs): that use carries the whole gradient and is the one
    the report calls step 3."""

    class Bidirectional(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(4, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    cr.manual_seed(5)
    report = cr.explain(Bidirectional(), X, Y, nn.MSELoss(), param="rnn.weight_ih_l0_reverse[1, 0]")
    (chain,) = report.data["chains"]
    nodes = [u["node"] for u in chain["uses"]]
    assert chain["used_by"].endswith(f"so {', '.join(nodes)} are time steps 3, 2, 1")
    shares = [u["share"] for u in chain["uses"]]
    assert shares[0] == pytest.approx(chain["engine_grad"], abs=1e-15) and shares[0] != 0
    assert shares[1:] == [0.0, 0.0]
    forward = cr.explain(Bidirectional(), X, Y, nn.MSELoss(), param="rnn.weight_ih_l0[1, 0]")
    assert forward.data["chains"][0]["used_by"].endswith("are time steps 1, 2, 3")


class _Siamese(nn.Module):
    """One RNN run over two sequences (the second one step shorter), last states joined."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, 2, batch_first=True)
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        a, _ = self.rnn(x)
        b, _ = self.rnn(x[:, :2] * 2.0)
        return self.fc(cr.cat([a[:, -1], b[:, -1]], 1))


def test_a_recurrent_layer_called_twice_numbers_each_calls_steps():
    # before: one run of steps 1..5 over both calls, the second call's steps named 4 and 5
    cr.manual_seed(6)
    model = _Siamese()
    report = cr.explain(model, X, Y, nn.MSELoss(), param="rnn.weight_hh_l0[1, 0]")
    (chain,) = report.data["chains"]
    labels = [u["label"] for u in chain["uses"]]
    assert labels == ["call 1, t=1", "call 1, t=2", "call 1, t=3", "call 2, t=1", "call 2, t=2"]
    nodes = [u["node"] for u in chain["uses"]]
    assert chain["used_by"].endswith(
        f"called 2 times in the forward pass: it applies its weights once per time step of each "
        f"call, so {', '.join(nodes[:3])} are call 1's time steps 1, 2, 3; "
        f"{', '.join(nodes[3:])} are call 2's time steps 1, 2"
    )
    assert f"({nodes[4]}, call 2, t=2) " in report.text(width=None)
    # each call's shares add up to PyTorch's gradient of a copy of the RNN used by that call only
    state = {
        k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in model.state_dict().items()
    }
    rnns = [torch.nn.RNN(1, 2, batch_first=True).double() for _ in range(2)]
    for rnn in rnns:
        rnn.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("rnn.")})
    tx = torch.tensor(X)
    a, _ = rnns[0](tx)
    b, _ = rnns[1](tx[:, :2] * 2.0)
    pred = torch.cat([a[:, -1], b[:, -1]], 1) @ state["fc.weight"].T + state["fc.bias"]
    torch.nn.functional.mse_loss(pred, torch.tensor(Y)).backward()
    shares = [u["share"] for u in chain["uses"]]
    for call, rnn in zip(([0, 1, 2], [3, 4]), rnns):
        expected = rnn.weight_hh_l0.grad[1, 0].item()
        assert sum(shares[k] for k in call) == pytest.approx(expected, abs=1e-12)
    assert sum(shares) == pytest.approx(chain["engine_grad"], abs=1e-12)


def test_a_recurrent_layer_stacked_on_itself_numbers_each_calls_steps():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(2, 2, batch_first=True)
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            a, h = self.rnn(cr.cat([x, x], 2))
            b, _ = self.rnn(a, h)  # the first call's output and state feed the second
            return self.fc(b[:, -1])

    cr.manual_seed(7)
    report = cr.explain(Twice(), X, Y, nn.MSELoss(), param="rnn.weight_hh_l0[0, 1]")
    labels = [u["label"] for u in report.data["chains"][0]["uses"]]
    assert labels == [f"call {c}, t={t}" for c in (1, 2) for t in (1, 2, 3)]


def test_a_linear_layer_called_twice_names_its_calls():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def forward(self, x):
            return self.fc(cr.tanh(self.fc(x)))

    cr.manual_seed(8)
    report = cr.explain(Tied(), [[0.5]], [[0.2]], nn.MSELoss(), param="fc.weight[0, 0]")
    (chain,) = report.data["chains"]
    assert [u["label"] for u in chain["uses"]] == ["call 1", "call 2"]
    assert "fc (Linear) is called 2 times in the forward pass" in chain["used_by"]
    assert "an input of 0, for instance" in report.text(width=None)  # not a zero initial state


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_an_input_weights_factor_names_the_time_steps_input(kind):
    # ∂(x_t·W_ih)/∂W_ih = x said "x (= c22[0, 0])": the time step of x was an unnamed constant
    cr.manual_seed(0)
    report = cr.explain(_LastStep(kind), X, Y, nn.MSELoss(), param="rnn.weight_ih_l0[0, 0]")
    (chain,) = report.data["chains"]
    named = {
        f["refers_to"]: f["value"]
        for p in chain["paths"]
        for f in p["factors"]
        if f["formula"] == "x"
    }
    assert named and all(name.startswith("x[0, ") for name in named)
    for name, value in named.items():
        t = int(name.split(", ")[1])
        assert value == X[0, t, 0]
    forward = [n["name"] for n in report.data["forward"]["nodes"]]
    assert {"x[:, 0]", "x[:, 1]", "x[:, 2]"} <= set(forward)


def _forward_nodes(report) -> dict:
    return {n["name"]: n for n in report.data["forward"]["nodes"]}


@pytest.mark.parametrize("kind, parts", [("LSTM", "aifgoch"), ("GRU", "rznh"), ("RNN", "ah")])
def test_each_steps_gates_are_named_after_the_layer_and_time_step(kind, parts):
    cr.manual_seed(0)
    model = _LastStep(kind)
    report = cr.explain(model, X, Y, nn.MSELoss(), param="rnn.weight_hh_l0[0, 1]")
    nodes = _forward_nodes(report)
    for t in range(3):
        for part in parts:
            assert f"rnn.t{t}.{part}" in nodes, (t, part, sorted(nodes))
    with cr.no_grad():  # the named h of the last step is the layer's output there
        out, _ = model.rnn(cr.tensor(X, dtype="float32"))
    last = [float(v) for v in nodes["rnn.t2.h"]["value"].strip("[]").split(",")]
    np.testing.assert_allclose(last, out.numpy()[0, -1], atol=1e-5)


def test_stacked_bidirectional_steps_are_named_by_layer_and_direction():
    class Stacked(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 2, num_layers=2, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(4, 1)

        def forward(self, x):
            return self.fc(self.lstm(x)[0][:, -1])

    cr.manual_seed(1)
    report = cr.explain(Stacked(), X, Y, nn.MSELoss(), param="fc.weight[0, 0]")
    nodes = _forward_nodes(report)
    for prefix in ("l0", "l0_reverse", "l1", "l1_reverse"):
        assert {f"lstm.{prefix}.t0.c", f"lstm.{prefix}.t2.h"} <= set(nodes), sorted(nodes)
