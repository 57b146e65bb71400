"""cr.save(model, path, optimizer=opt) for Adadelta, Rprop, ASGD, Adafactor and LBFGS: they
were refused ("takes one of chainrule.optim's optimizers"); their state (Adafactor's reduced
row and column factors, LBFGS's flat history, lists, NumPy scalars and None) comes back bit
for bit and the run goes on as the original."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(8, 1)).astype(np.float32)

OPTIMIZERS = [
    lambda p: optim.Adadelta(p, lr=0.5),
    lambda p: optim.Rprop(p, lr=0.01),
    lambda p: optim.ASGD(p, lr=0.05, t0=1),
    lambda p: optim.Adafactor(p, lr=0.05, weight_decay=0.01),
    lambda p: optim.LBFGS(p, max_iter=3, history_size=2, line_search_fn="strong_wolfe"),
]


def _step(model, opt):
    def closure():
        opt.zero_grad()
        loss = nn.MSELoss()(model(cr.tensor(X)), cr.tensor(Y))
        loss.backward()
        return loss

    opt.step(closure)


def _same(a, b, where):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b and type(a) is type(b), where


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_new_optimizers_are_saved_in_the_model_file_bit_for_bit(make, tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = make(model.parameters())
    for _ in range(3):
        _step(model, opt)
    path = tmp_path / "m.safetensors"
    cr.save(model, path, optimizer=opt)
    loaded = cr.load(path)
    back = cr.io.load_optimizer(path, loaded)
    assert type(back) is type(opt)
    saved, restored = opt.state_dict(), back.state_dict()
    assert restored["param_groups"] == saved["param_groups"]
    for i, entry in saved["state"].items():
        assert list(restored["state"][i]) == list(entry)
        for key, value in entry.items():
            _same(restored["state"][i][key], value, key)
    _step(model, opt)
    _step(loaded, back)
    for (_, p), (_, q) in zip(model.named_parameters(), loaded.named_parameters()):
        assert p.array.tobytes() == q.array.tobytes()
