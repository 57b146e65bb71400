"""cr.save(model, path, optimizer=opt) refused Adadelta (and the optimizers added since:
Adafactor, Rprop, ASGD, LBFGS) with "takes one of chainrule.optim's optimizers"; each now
saves, loads with cr.io.load_optimizer, and continues bit for bit."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim


def _closure(model, opt, x):
    def closure():
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("name", ["Adadelta", "Adafactor", "Rprop", "ASGD", "LBFGS"])
def test_saved_optimizer_continues_bit_for_bit(name, tmp_path):
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2)
    opt = getattr(optim, name)(model.parameters())
    x = cr.tensor(np.random.default_rng(0).random((4, 3)).astype("float32"))
    opt.step(_closure(model, opt, x))
    path = tmp_path / "m.safetensors"
    cr.save(model, path, optimizer=opt)
    loaded = cr.load(path)
    again = cr.io.load_optimizer(path, loaded)
    assert type(again) is type(opt)
    opt.step(_closure(model, opt, x))
    again.step(_closure(loaded, again, x))
    for a, b in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
