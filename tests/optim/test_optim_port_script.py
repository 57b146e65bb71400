"""A PyTorch training script ported line for line: parameter groups (no decay on biases),
AdamW, OneCycleLR stepped per batch, clip_grad_norm_, an EMA of the weights (AveragedModel),
and a checkpoint in the middle that a fresh process resumes from. Both libraries run the same
script; the final weights, EMA weights and learning rates agree."""

import copy

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

EPOCHS, BATCHES = 4, 5


def _batches():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((EPOCHS * BATCHES, 8, 3))
    return x, np.sin(x.sum(axis=2, keepdims=True))


def _build(lib):
    rng = np.random.default_rng(1)
    model = lib.nn.Sequential(lib.nn.Linear(3, 16), lib.nn.Tanh(), lib.nn.Linear(16, 1)).double()
    state = {k: rng.standard_normal(tuple(v.shape)) * 0.3 for k, v in model.state_dict().items()}
    convert = torch.from_numpy if lib is torch else (lambda a: cr.tensor(a, dtype="float64"))
    model.load_state_dict({k: convert(v) for k, v in state.items()})
    decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
    opt = lib.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                           {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)  # fmt: skip
    sched = lib.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[0.05, 0.1], epochs=EPOCHS, steps_per_epoch=BATCHES, anneal_strategy="linear"
    )
    ema = lib.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    )
    return model, opt, sched, ema


def _epochs(lib, parts, epochs):
    model, opt, sched, ema = parts
    xs, ys = _batches()
    convert = torch.from_numpy if lib is torch else (lambda a: cr.tensor(a, dtype="float64"))
    loss_fn, lrs = lib.nn.MSELoss(), []
    for epoch in epochs:
        for b in range(BATCHES):
            i = epoch * BATCHES + b
            opt.zero_grad()
            loss_fn(model(convert(xs[i])), convert(ys[i])).backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            opt.step()
            sched.step()
            ema.update_parameters(model)
            lrs.append(sched.get_last_lr())
    return lrs


def _arrays(state):
    return {
        k: np.array(v.detach().numpy() if hasattr(v, "detach") else v) for k, v in state.items()
    }


def _run(lib, resume):
    parts = _build(lib)
    if not resume:
        lrs = _epochs(lib, parts, range(EPOCHS))
    else:
        lrs = _epochs(lib, parts, range(2))
        model, opt, sched, ema = parts
        state = {"model": model, "opt": opt, "sched": sched, "ema": ema}
        checkpoint = copy.deepcopy({k: v.state_dict() for k, v in state.items()})
        parts = _build(lib)  # "a fresh process": build everything, then load
        model, opt, sched, ema = parts
        model.load_state_dict(checkpoint["model"])
        opt.load_state_dict(checkpoint["opt"])
        sched.load_state_dict(checkpoint["sched"])
        ema.load_state_dict(checkpoint["ema"])
        lrs += _epochs(lib, parts, range(2, EPOCHS))
    model, _, _, ema = parts
    weights, averaged = _arrays(model.state_dict()), _arrays(ema.state_dict())
    return weights, averaged, np.array(lrs, dtype=float)


@pytest.mark.parametrize("resume", [False, True])
def test_ported_script_matches_torch(resume):
    mine, expected = _run(cr, resume), _run(torch, resume)
    for ours, theirs in zip(mine[:2], expected[:2]):
        assert ours.keys() == theirs.keys()
        for key in theirs:
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-10, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(mine[2], expected[2], rtol=1e-12)


def test_resumed_run_equals_the_uninterrupted_one_bit_for_bit():
    straight, resumed = _run(cr, False), _run(cr, True)
    for a, b in zip(straight[:2], resumed[:2]):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(straight[2], resumed[2])
