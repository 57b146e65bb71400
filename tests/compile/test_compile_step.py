"""cr.compile with a fused optimizer: every covered layer, loss and optimizer against eager."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.compile import check_compile_step, try_compile_step

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}


def _pair(make_model, make_opt, seed=0):
    """Two identical models (same seed) with their optimizers."""
    models = []
    for _ in range(2):
        cr.manual_seed(seed)
        models.append(make_model())
    return [(m, make_opt(m.parameters())) for m in models]


def _eager_step(model, loss_fn, opt, x, y):
    opt.zero_grad()
    loss = loss_fn(model(cr.tensor(x)), cr.tensor(y))
    loss.backward()
    opt.step()
    return loss.item()


def _train_both(make_model, loss_fn, make_opt, batches, backend="numpy", seed=0):
    (eager, opt_e), (model, opt_c) = _pair(make_model, make_opt, seed)
    step = cr.compile_step(model, loss_fn, opt_c, backend=backend)
    cr.manual_seed(123)
    losses_e = [_eager_step(eager, loss_fn, opt_e, x, y) for x, y in batches]
    cr.manual_seed(123)
    losses_c = [step(x, y).item() for x, y in batches]
    return eager, model, step, losses_e, losses_c


def _classes(rng, n_batches=6, batch=16, n_in=5, n_out=3):
    return [
        (
            rng.standard_normal((batch, n_in)).astype(np.float32),
            rng.integers(0, n_out, batch).astype(np.int64),
        )
        for _ in range(n_batches)
    ]


def _assert_same(eager, model):
    for (name, p), q in zip(eager.named_parameters(), model.parameters()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=name)
    for (name, b), c in zip(eager.named_buffers(), model.buffers()):
        np.testing.assert_array_equal(b.array, c.array, err_msg=name)


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_fused_optimizer_matches_eager_bit_for_bit(rng, opt_name):
    def make():
        return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))

    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS[opt_name], _classes(rng) * 2
    )
    assert lc == le
    _assert_same(eager, model)
    assert step.records == 1
    assert all(plan.backend == "numpy" for plan in step.plans.values())


def test_class_index_cross_entropy_takes_the_labels_of_each_call(rng):
    def make():
        return nn.Sequential(nn.Linear(5, 3))

    batches = _classes(rng, n_batches=4)
    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS["sgd"], batches
    )
    assert lc == le and len(set(lc)) == 4  # each call saw its own labels
    _assert_same(eager, model)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_bad_labels_take_the_eager_path_and_its_error(rng, backend):
    model = nn.Sequential(nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = cr.compile_step(model, nn.CrossEntropyLoss(), opt, backend=backend)
    x, y = _classes(rng, 1)[0]
    step(x, y)
    with pytest.raises(Exception, match="3|class"):
        step(x, np.full_like(y, 7))  # out of range: the eager loss names the problem


def test_dropout_draws_a_fresh_mask_each_call_like_eager(rng):
    def make():
        return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 3))

    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS["adam"], _classes(rng) * 2
    )
    assert lc == le
    _assert_same(eager, model)
    assert step.records == 1


def test_batchnorm_in_training_updates_running_stats_each_call(rng):
    def make():
        return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))

    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS["sgd_momentum"], _classes(rng) * 2
    )
    assert lc == le
    _assert_same(eager, model)
    assert int(model[1].num_batches_tracked.array) == 12
    model.eval()  # evaluation mode records again (the model's mode is part of the key) ...
    x, y = _classes(rng, 1)[0]
    with pytest.raises(cr.GraphError, match="op Sub reads a tensor of shape"):
        step(x, y)  # ... and cannot compile: running statistics are read as arrays


def test_group_and_instance_norm_match_eager_and_update_running_stats_each_call(rng):
    def make():
        return nn.Sequential(
            nn.Linear(5, 12),
            nn.Unflatten(1, (4, 3)),
            nn.GroupNorm(2, 4),
            nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
            nn.Flatten(),
            nn.ReLU(),
            nn.Linear(12, 3),
        )

    eager, model, step, le, lc = _train_both(
        make, nn.CrossEntropyLoss(), OPTIMIZERS["adam"], _classes(rng) * 2
    )
    assert lc == le
    _assert_same(eager, model)
    assert step.records == 1
    assert not np.array_equal(model[3].running_mean.array, np.zeros(4))  # moved on every call


def test_convolution_pooling_and_flatten(rng):
    def make():
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * 4 * 4, 3),
        )

    batches = [
        (
            rng.standard_normal((4, 1, 8, 8)).astype(np.float32),
            rng.integers(0, 3, 4).astype(np.int64),
        )
        for _ in range(4)
    ]
    eager, model, _, le, lc = _train_both(make, nn.CrossEntropyLoss(), OPTIMIZERS["sgd"], batches)
    assert lc == le
    _assert_same(eager, model)


def test_without_optimizer_gradients_match_eager(rng):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Sigmoid(), nn.Linear(4, 1))
    loss_fn = nn.MSELoss()
    fn = cr.compile(lambda x, y: loss_fn(model(x), y), backend="numpy")
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.standard_normal((6, 1)).astype(np.float32)
    for _ in range(2):
        model.zero_grad()
        loss_e = loss_fn(model(cr.tensor(x)), cr.tensor(y))
        loss_e.backward()
        grads = [p.grad_array.copy() for p in model.parameters()]
        model.zero_grad()
        assert fn(x, y).item() == loss_e.item()
        for g, p in zip(grads, model.parameters()):
            np.testing.assert_array_equal(g, p.grad_array)


def test_generated_code_is_straight_line(rng):
    model = nn.Sequential(nn.Linear(5, 3))
    step = cr.compile_step(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), backend="numpy"
    )
    step(*_classes(rng, 1)[0])
    (plan,) = step.plans.values()
    assert "for " not in plan.source and "while " not in plan.source
    assert "f0.forward(a0, p0, p1" in plan.source and "f1.backward(g1)" in plan.source


# ---- try_compile_step: what cr.fit calls --------------------------------------------------
class _Unsupported(nn.Module):
    """A layer that builds an array inside forward: not something compile can replay."""

    def forward(self, x):
        return x * cr.tensor(np.ones(x.shape, np.float32) * 0.5)


def test_try_compile_step_gives_eager_weights(rng):
    def make():
        return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))

    (eager, opt_e), (model, opt_c) = _pair(make, OPTIMIZERS["adamw"])
    loss_fn = nn.CrossEntropyLoss()
    batches = _classes(rng) * 3
    step = try_compile_step(model, loss_fn, opt_c, batch=batches[0], backend="numpy")
    assert step is not None and try_compile_step.reason is None
    for x, y in batches:
        _eager_step(eager, loss_fn, opt_e, x, y)
        step(x, y)
    _assert_same(eager, model)


def test_try_compile_step_refuses_an_unsupported_op_without_side_effects(rng):
    def make():
        return nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.3), _Unsupported(), nn.Linear(8, 3))

    (eager, opt_e), (model, opt_c) = _pair(make, OPTIMIZERS["sgd"])
    loss_fn = nn.CrossEntropyLoss()
    batches = _classes(rng, 3)
    cr.manual_seed(5)
    assert try_compile_step(model, loss_fn, opt_c, batch=batches[0]) is None
    reason = check_compile_step(model, loss_fn, opt_c, batches[0])
    assert "not an argument, a parameter" in reason
    assert try_compile_step.reason == reason
    assert all(p.grad_array is None for p in model.parameters())
    # the check left the generator where it was: eager training after it is the same bits
    for net, opt in ((eager, opt_e), (model, opt_c)):
        cr.manual_seed(5)
        for x, y in batches:
            _eager_step(net, loss_fn, opt, x, y)
    _assert_same(eager, model)


def test_try_compile_step_without_batch_falls_back_at_first_call(rng):
    def make():
        return nn.Sequential(nn.Linear(5, 8), _Unsupported(), nn.Linear(8, 3))

    (eager, opt_e), (model, opt_c) = _pair(make, OPTIMIZERS["sgd_momentum"])
    loss_fn = nn.CrossEntropyLoss()
    step = try_compile_step(model, loss_fn, opt_c)
    for x, y in _classes(rng, 4):
        _eager_step(eager, loss_fn, opt_e, x, y)
        step(x, y)
    assert step.eager and "not an argument" in step.reason
    _assert_same(eager, model)


def test_numba_backend_errors_name_the_reason(rng):
    pytest.importorskip("numba")
    model = nn.Sequential(nn.Linear(5, 3), nn.Softplus())
    step = cr.compile_step(
        model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), backend="numba"
    )
    x = rng.standard_normal((4, 5)).astype(np.float32)
    with pytest.raises(cr.GraphError, match="backend='numba'.*Softplus: no jit kernel"):
        step(x, np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="backend must be one of"):
        cr.compile(lambda x: x, backend="cuda")


def test_numpy_tier_does_not_import_numba():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, chainrule as cr\n"
        "from chainrule import nn, optim\n"
        "m = nn.Sequential(nn.Linear(2, 1))\n"
        "s = cr.compile_step(m, nn.MSELoss(), optim.SGD(m.parameters(), lr=0.1), backend='numpy')\n"
        "x = np.ones((4, 2), np.float32)\n"
        "s(x, x[:, :1]); s(x, x[:, :1])\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
