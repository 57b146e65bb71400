"""ReduceLROnPlateau.state_dict() holds PyTorch's keys (mode_worse was missing), so every
scheduler's state dict now has the same keys as PyTorch's."""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("mode", ["min", "max"])
def test_plateau_state_dict_keys_and_values_match_torch(mode):
    def state(lib):
        w = (torch.zeros if lib is torch else cr.zeros)(1, requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, patience=0)
        for value in (1.0, 2.0, 0.5):
            opt.step()
            sched.step(value)
        return sched.state_dict()

    mine, expected = state(cr), state(torch)
    assert set(mine) == set(expected)
    for key in ("mode_worse", "best", "num_bad_epochs", "last_epoch", "_last_lr"):
        assert mine[key] == pytest.approx(expected[key]), key
