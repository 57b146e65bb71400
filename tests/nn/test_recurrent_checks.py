"""The recurrent layers beyond plain forward and backward: finite-difference and second-order
gradient checks, the errors for bad input and bad arguments, dropout between layers, hooks,
explain, cr.compile and the ONNX exporter's refusal."""

import copy
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn.recurrent_cells import gru_step, lstm_step, rnn_step
from chainrule.testing import gradcheck, gradgradcheck

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _t(shape, seed=0, grad=True):
    values = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(values, dtype="float64", requires_grad=grad)


# ---- gradients -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_steps_match_finite_differences(kind):
    x, h = _t((2, 3)), _t((2, 2), seed=1)
    w_ih, w_hh = _t((GATES[kind] * 2, 3), seed=2), _t((GATES[kind] * 2, 2), seed=3)
    b_ih, b_hh = _t(GATES[kind] * 2, seed=4), _t(GATES[kind] * 2, seed=5)
    steps = {
        "rnn_tanh": lambda *a: rnn_step(*a, "tanh"),
        "rnn_relu": lambda *a: rnn_step(*a, "relu"),
        "lstm": lambda x, h, *w: lstm_step(x, h, h * 0.5, *w)[1],
        "gru": gru_step,
    }
    assert gradcheck(steps[kind], x, h, w_ih, w_hh, b_ih, b_hh)


@pytest.mark.parametrize("layer_class", [nn.RNN, nn.LSTM, nn.GRU])
def test_layer_input_gradient_matches_finite_differences(layer_class):
    layer = layer_class(3, 2, num_layers=2, bidirectional=True, dtype="float64")
    assert gradcheck(lambda x: layer(x)[0], _t((4, 2, 3)))


def test_second_derivatives_through_an_lstm_match_finite_differences():
    layer = nn.LSTM(2, 2, dtype="float64")
    assert gradgradcheck(lambda x: layer(x)[0], _t((3, 1, 2)))


def test_second_derivatives_through_a_gru_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.GRU(3, 2, dtype=torch.float64)
    ours = nn.GRU(3, 2, dtype="float64")
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    x_ours, x_theirs = cr.tensor(x, requires_grad=True, dtype="float64"), torch.tensor(x)
    x_theirs.requires_grad_()
    (g_ours,) = cr.autograd.grad(ours(x_ours)[0].sum(), [x_ours], create_graph=True)
    (g_theirs,) = torch.autograd.grad(theirs(x_theirs)[0].sum(), [x_theirs], create_graph=True)
    (g_ours**2).sum().backward()
    (g_theirs**2).sum().backward()
    np.testing.assert_allclose(
        ours.weight_hh_l0.grad.numpy(), theirs.weight_hh_l0.grad.numpy(), rtol=1e-10
    )


def test_initial_state_gets_its_gradient():
    layer = nn.GRU(3, 2, num_layers=2, dtype="float64")
    h0 = _t((2, 4, 2), seed=5)
    assert gradcheck(lambda h: layer(_t((3, 4, 3), grad=False), h)[1], h0)


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer, args, problem",
    [
        (nn.LSTM(4, 3), (np.zeros((5, 2, 6)),), r"input_size\. Expected 4, got 6"),
        (nn.GRU(4, 3), (np.zeros((1, 5, 2, 4)),), r"2D or 3D, got 4D.*\(1, 5, 2, 4\)"),
        (nn.RNN(4, 3), (np.zeros(4),), "2D or 3D, got 1D"),
        (
            nn.GRU(4, 3, 2),
            (np.zeros((5, 2, 4)), np.zeros((1, 2, 3))),
            r"\(2, 2, 3\), got \(1, 2, 3\)",
        ),
        (nn.RNN(4, 3), (np.zeros((5, 2, 4)), np.zeros((1, 3, 3))), r"\(1, 2, 3\), got \(1, 3, 3\)"),
        (nn.RNN(4, 3), (np.zeros((5, 2, 4)), np.zeros((2, 3))), "should also be 3-D but got 2-D"),
        (nn.GRU(4, 3), (np.zeros((5, 4)), np.zeros((1, 2, 3))), "should also be 2-D but got 3-D"),
        (
            nn.LSTM(4, 3),
            (np.zeros((5, 2, 4)), (np.zeros((1, 2, 3)), np.zeros((1, 2, 5)))),
            r"hidden\[1\] size \(1, 2, 3\), got \(1, 2, 5\)",
        ),
        (nn.GRU(4, 3), (np.zeros((0, 2, 4)),), r"sequence length to be larger than 0.*\(0, 2, 4\)"),
        (nn.GRU(4, 3, batch_first=True), (np.zeros((2, 0, 4)),), "sequence length to be larger"),
        (nn.RNN(4, 3, batch_first=True), (np.zeros((0, 4)),), "sequence length to be larger"),
        (nn.LSTMCell(4, 3), (np.zeros((2, 5)),), "inconsistent input_size: got 5 expected 4"),
        (nn.GRUCell(4, 3), (np.zeros((2, 2, 4)),), "1D or 2D, got 3D"),
        (
            nn.RNNCell(4, 3),
            (np.zeros((2, 4)), np.zeros((3, 3))),
            r"shape \(3, 3\), expected \(2, 3\)",
        ),
        (nn.RNNCell(4, 3), (np.zeros(4), np.zeros((1, 3))), r"expected \(3,\)"),
    ],
)
def test_bad_input_names_the_problem(layer, args, problem):
    with pytest.raises(cr.ShapeError, match=problem) as info:
        layer(*args)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


def test_state_of_the_wrong_kind_is_a_type_error():
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        nn.LSTM(4, 3)(np.zeros((5, 2, 4)), np.zeros((1, 2, 3)))
    with pytest.raises(TypeError, match="only LSTM takes a tuple"):
        nn.GRU(4, 3)(np.zeros((5, 2, 4)), (np.zeros((1, 2, 3)), np.zeros((1, 2, 3))))
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        nn.LSTMCell(4, 3)(np.zeros((2, 4)), np.zeros((2, 3)))


def test_input_of_another_float_dtype_is_refused_and_arrays_are_converted():
    layer = nn.GRU(4, 3)  # float32
    with pytest.raises(cr.DTypeError, match="float32 parameters but got a float64"):
        layer(cr.zeros(5, 2, 4, dtype="float64"))
    assert layer(np.zeros((5, 2, 4)))[0].dtype == "float32"


@pytest.mark.parametrize(
    "make, error, problem",
    [
        (lambda: nn.LSTM(4, 3, dropout=1.5), ValueError, r"dropout should be a number in range"),
        (lambda: nn.LSTM(4, 3, dropout=True), ValueError, r"dropout should be a number"),
        (lambda: nn.GRU(4, 0), ValueError, "hidden_size must be an integer >= 1"),
        (lambda: nn.GRU(4, 3, num_layers=0), ValueError, "num_layers must be an integer >= 1"),
        (lambda: nn.RNN(4.0, 3), ValueError, "input_size must be an integer"),
        (lambda: nn.RNN(4, 3, batch_first=1), TypeError, "batch_first should be of type bool"),
        (lambda: nn.RNN(4, 3, nonlinearity="sigmoid"), ValueError, "Unknown nonlinearity"),
        (lambda: nn.RNNCell(4, 3, nonlinearity="gelu"), ValueError, "Unknown nonlinearity"),
        (lambda: nn.GRU(4, 3, proj_size=2), ValueError, "proj_size argument is only supported"),
        (lambda: nn.LSTM(4, 3, proj_size=3), ValueError, "smaller than hidden_size"),
        (lambda: nn.LSTM(4, 3, proj_size=-1), ValueError, "proj_size must be an integer >= 0"),
        (lambda: nn.LSTM(4, 3, device="cuda"), NotImplementedError, "CPU only"),
    ],
)
def test_bad_arguments_are_refused_as_torch_refuses_them(make, error, problem):
    with pytest.raises(error, match=problem):
        make()


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(4, 3, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(4, 3, num_layers=2, dropout=0.2)


# ---- dropout between layers --------------------------------------------------------------------
def test_dropout_acts_between_layers_in_training_only():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((6, 2, 4))
    ours, theirs = nn.LSTM(4, 3, 2, dropout=1.0), torch.nn.LSTM(4, 3, 2, dropout=1.0)
    ours.load_state_dict(theirs.state_dict())
    # p = 1 zeroes the first layer's outputs: the second layer sees zeros, in both libraries
    ours_out = ours(x.astype(np.float32))[0].detach().numpy()
    theirs_out = theirs(torch.tensor(x, dtype=torch.float32))[0].detach().numpy()
    np.testing.assert_allclose(ours_out, theirs_out, rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    ours_out = ours(x.astype(np.float32))[0].detach().numpy()
    theirs_out = theirs(torch.tensor(x, dtype=torch.float32))[0].detach().numpy()
    np.testing.assert_allclose(ours_out, theirs_out, rtol=1e-5, atol=1e-6)
    assert np.abs(ours_out - ours.train()(x.astype(np.float32))[0].detach().numpy()).max() > 1e-3


def test_dropout_half_changes_training_outputs_and_keeps_the_first_layer():
    layer = nn.GRU(4, 3, 2, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((6, 2, 4)).astype(np.float32)
    cr.manual_seed(1)
    first = layer(x)[1].detach().numpy()
    second = layer(x)[1].detach().numpy()
    assert np.abs(first[1] - second[1]).max() > 1e-4  # fresh masks on the second layer's input
    np.testing.assert_array_equal(first[0], second[0])  # nothing dropped before layer 0


# ---- hooks, explain, compile, ONNX -----------------------------------------------------------
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((5, 6, 3)).astype(np.float32), np.array([0, 1, 0, 1, 1])


def test_module_hooks_see_the_output_tuple_and_gradients():
    layer, seen = nn.GRU(3, 2), []
    layer.register_forward_hook(lambda m, args, out: seen.append([o.shape for o in out]))
    grads = []
    layer.weight_hh_l0.register_hook(lambda g: grads.append(g.shape))
    layer(np.ones((4, 1, 3), np.float32))[0].sum().backward()
    assert seen == [[(4, 1, 2), (1, 1, 2)]] and grads == [(6, 2)]


def test_explain_covers_the_recurrent_weights():
    model = Classifier()
    x, y = _data()
    text = str(cr.explain(model, x[:1], y[:1], nn.CrossEntropyLoss()))
    assert "lstm.weight_hh_l0" in text and "lstm.bias_ih_l0" in text


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_compiled_steps_equal_the_eager_steps(backend):
    model = Classifier()
    twin = copy.deepcopy(model)
    loss_fn = nn.CrossEntropyLoss()
    opt, twin_opt = optim.SGD(model.parameters(), lr=0.5), optim.SGD(twin.parameters(), lr=0.5)
    step = cr.compile_step(model, loss_fn, opt, backend=backend)
    x, y = _data()
    for _ in range(3):
        loss = step(x, y)
        twin_opt.zero_grad()
        twin_loss = loss_fn(twin(x), y)
        twin_loss.backward()
        twin_opt.step()
        assert loss.item() == twin_loss.item()
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


class DroppingClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, num_layers=2, batch_first=True, dropout=0.3)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.gru(x)[1][-1])


def test_compiled_steps_draw_fresh_dropout_masks_as_the_eager_steps():
    model = DroppingClassifier()
    twin = copy.deepcopy(model)
    loss_fn = nn.CrossEntropyLoss()
    opt, twin_opt = optim.SGD(model.parameters(), lr=0.5), optim.SGD(twin.parameters(), lr=0.5)
    step = cr.compile_step(model, loss_fn, opt, backend="numpy")
    x, y = _data()
    losses = []
    for seed in range(3):
        cr.manual_seed(seed)
        loss = step(x, y)
        cr.manual_seed(seed)
        twin_opt.zero_grad()
        twin_loss = loss_fn(twin(x), y)
        twin_loss.backward()
        twin_opt.step()
        assert loss.item() == twin_loss.item()
        losses.append(loss.item())
    assert len(set(losses)) == 3


def test_onnx_export_refuses_the_cells_by_name():
    # the sequence layers export (tests/onnx/test_onnx_recurrent.py); the cells have no converter
    pytest.importorskip("onnx")
    with pytest.raises(cr.onnx.ExportError, match=r"layer '0' \(GRUCell\).*no ONNX converter"):
        cr.onnx.export(nn.Sequential(nn.GRUCell(3, 4)), None, np.zeros((2, 3), np.float32))


def test_save_with_architecture_and_the_state_dict_both_round_trip(tmp_path):
    layer = nn.LSTM(3, 4, 2)
    cr.save(layer, tmp_path / "lstm.safetensors")  # tests/nn/test_registry_recurrent.py: options
    assert repr(cr.load(tmp_path / "lstm.safetensors")) == repr(layer)
    twin = nn.LSTM(3, 4, 2)
    twin.load_state_dict(layer.state_dict())
    x = np.ones((2, 1, 3), np.float32)
    np.testing.assert_array_equal(layer(x)[0].detach().numpy(), twin(x)[0].detach().numpy())


def test_the_names_are_no_longer_refused():
    for name in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"):
        assert hasattr(cr.nn, name)
        assert issubclass(getattr(cr.nn, name), nn.Module)


@pytest.mark.parametrize("name", ["chainrule.nn.recurrent", "chainrule.nn.recurrent_cells"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted >= 3
