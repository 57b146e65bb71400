"""A recurrent weight replaced by a plain tensor is used, as in PyTorch: AWD-LSTM's weight drop
deletes the Parameter and sets a dropped-out copy before each forward. chainrule's layers had
read the weights from ``_parameters`` (a KeyError after the deletion)."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn.recurrent_cells import op_by_op
from chainrule.nn.utils.rnn import pack_padded_sequence


class WeightDrop(nn.Module):
    """The AWD-LSTM module, as users write it: the raw weight is the Parameter, the layer's
    own attribute a dropped-out copy made at each call."""

    def __init__(self, module, names, p):
        super().__init__()
        self.module, self.names, self.p = module, names, p
        for name in names:
            raw = getattr(module, name)
            del module._parameters[name]
            setattr(module, name + "_raw", nn.Parameter(raw.detach().numpy().copy()))

    def forward(self, *args):
        for name in self.names:
            raw = getattr(self.module, name + "_raw")
            setattr(self.module, name, nn.functional.dropout(raw, self.p, self.training) * 0.5)
        return self.module(*args)


def _torch_twin(ours):
    """The same layer in PyTorch (float64), weight drop included, with the same raw weights."""
    kind = getattr(torch.nn, type(ours.module).__name__)
    module = ours.module
    if isinstance(module, nn.RNNBase):
        args = (module.input_size, module.hidden_size, module.num_layers)
        kwargs = {"bidirectional": module.bidirectional}
        if module.proj_size:
            kwargs["proj_size"] = module.proj_size
    else:
        args, kwargs = (module.input_size, module.hidden_size), {}
    twin = kind(*args, **kwargs).double()
    state = {k.removesuffix("_raw"): torch.tensor(v) for k, v in module.state_dict().items()}
    twin.load_state_dict(state)
    raws = {}
    for name in ours.names:
        raws[name] = twin._parameters.pop(name)
    return twin, raws


def _torch_forward(twin, raws, x, hx=None):
    for name, raw in raws.items():
        setattr(twin, name, raw * 0.5)
    return twin(x) if hx is None else twin(x, hx)


LAYERS = [
    (lambda: nn.LSTM(3, 4, dtype="float64"), ["weight_hh_l0"]),
    (lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype="float64"),
     ["weight_hh_l0", "weight_hh_l1_reverse"]),
    (lambda: nn.RNN(3, 4, dtype="float64"), ["weight_ih_l0", "bias_hh_l0"]),
    (lambda: nn.LSTM(3, 4, 2, proj_size=2, bidirectional=True, dtype="float64"),
     ["weight_hh_l0", "weight_hr_l1_reverse"]),
]  # fmt: skip


@pytest.mark.parametrize("stepwise", [False, True])
@pytest.mark.parametrize("make, names", LAYERS)
def test_a_weight_dropped_rnn_uses_the_dropped_weights_and_trains_the_raw_ones(
    make, names, stepwise
):
    ours = WeightDrop(make(), names, p=0.0)
    twin, raws = _torch_twin(ours)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    with op_by_op() if stepwise else cr.enable_grad():
        out, _ = ours(cr.tensor(x, dtype="float64"))
    expected, _ = _torch_forward(twin, raws, torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    (out**2).sum().backward()
    (expected**2).sum().backward()
    for name, raw in raws.items():
        grad = getattr(ours.module, name + "_raw").grad.numpy()
        np.testing.assert_allclose(grad, raw.grad.numpy(), atol=1e-12)


def test_a_weight_dropped_rnn_takes_a_packed_batch():
    ours = WeightDrop(nn.LSTM(3, 4, dtype="float64"), ["weight_hh_l0"], p=0.0)
    twin, raws = _torch_twin(ours)
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    out, (h_n, _) = ours(pack_padded_sequence(cr.tensor(x, dtype="float64"), [5, 3]))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [5, 3])
    expected, (expected_h, _) = _torch_forward(twin, raws, packed)
    np.testing.assert_allclose(out.data.detach().numpy(), expected.data.detach().numpy())
    np.testing.assert_allclose(h_n.detach().numpy(), expected_h.detach().numpy())


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_weight_dropped_cell_uses_the_dropped_weight(kind):
    ours = WeightDrop(getattr(nn, kind)(3, 4, dtype="float64"), ["weight_hh"], p=0.0)
    twin, raws = _torch_twin(ours)
    x = np.random.default_rng(2).normal(size=(2, 3))
    h = np.random.default_rng(3).normal(size=(2, 4))
    hx_ours = cr.tensor(h, dtype="float64")
    hx_torch = torch.tensor(h)
    if kind == "LSTMCell":
        hx_ours, hx_torch = (hx_ours, hx_ours), (hx_torch, hx_torch)
    out = ours(cr.tensor(x, dtype="float64"), hx_ours)
    expected = _torch_forward(twin, raws, torch.tensor(x), hx_torch)
    out, expected = (out[0], expected[0]) if kind == "LSTMCell" else (out, expected)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)
