"""cr.compile: the replay must give bit-for-bit the results of the uncompiled function."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _mlp(seed, hidden):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), hidden(), nn.Linear(8, 8), hidden(), nn.Linear(8, 1))


def _batches(rng, sizes):
    return [
        (
            rng.standard_normal((n, 3)).astype(np.float32),
            (rng.random((n, 1)) < 0.5).astype(np.float32),
        )
        for n in sizes
    ]


@pytest.mark.parametrize(
    "hidden, make_opt",
    [
        (nn.Tanh, lambda p: optim.SGD(p, lr=0.1)),
        (nn.Sigmoid, lambda p: optim.SGD(p, lr=0.05, momentum=0.9)),
        (nn.ReLU, lambda p: optim.Adam(p, lr=1e-2)),
    ],
)
def test_compiled_training_is_bit_identical(rng, hidden, make_opt):
    eager, compiled_model = _mlp(1, hidden), _mlp(1, hidden)
    loss_fn = nn.BCEWithLogitsLoss()
    opt_e, opt_c = make_opt(eager.parameters()), make_opt(compiled_model.parameters())
    step = cr.compile(lambda x, y: loss_fn(compiled_model(x), y))
    batches = _batches(rng, [16] * 6 + [5, 16])  # a smaller batch forces a new recording
    for x, y in batches * 2:
        opt_e.zero_grad()
        loss_e = loss_fn(eager(cr.tensor(x)), cr.tensor(y))
        loss_e.backward()
        opt_e.step()
        opt_c.zero_grad()
        loss_c = step(x, y)
        opt_c.step()
        assert loss_c.item() == loss_e.item()
        assert not loss_c.requires_grad
    for p, q in zip(eager.parameters(), compiled_model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad, q.grad)
    assert step.records == 2  # one plan per batch shape, kept: 16 and 5 record once each


def test_compile_broadcast_fan_out_and_accumulation(rng):
    w = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True, dtype="float64")
    b = cr.tensor(rng.standard_normal((1,)), requires_grad=True, dtype="float64")

    def fn(x):
        h = x * w + b  # b broadcasts: its gradient is summed back to shape (1,)
        return (h * h + h).mean()  # h used three times: gradients accumulate

    compiled = cr.compile(fn)
    for _ in range(3):
        x = rng.standard_normal((4, 3))
        w.grad = b.grad = None
        fn(cr.tensor(x, dtype="float64")).backward()
        want_w, want_b = w.grad_array.copy(), b.grad_array.copy()
        w.grad = b.grad = None
        compiled(x)
        np.testing.assert_array_equal(w.grad, want_w)
        np.testing.assert_array_equal(b.grad, want_b)
    # gradients accumulate across calls, as with backward(), when not zeroed
    compiled(x)
    np.testing.assert_array_equal(w.grad, 2 * want_w)
    assert compiled.records == 1


def test_compile_rerecords_when_a_parameter_is_frozen(rng):
    model = _mlp(2, nn.Tanh)
    loss_fn = nn.BCEWithLogitsLoss()
    step = cr.compile(lambda x, y: loss_fn(model(x), y))
    ((x, y),) = _batches(rng, [8])
    step(x, y)
    step(x, y)
    model[0].weight.requires_grad_(False)
    model[0].weight.grad = None
    step(x, y)
    assert step.records == 2
    assert model[0].weight.grad is None


def test_compile_refuses_what_it_cannot_replay(rng):
    model = nn.Sequential(nn.Linear(3, 4))
    ce = nn.CrossEntropyLoss()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    # class-index targets compile when they are an argument; made inside, they cannot
    with pytest.raises(cr.GraphError, match="option labels= of type ndarray"):
        cr.compile(lambda x: ce(model(x), np.arange(5) % 4))(x)
    mask = cr.tensor(np.ones((5, 4), np.float32))
    fresh = cr.compile(lambda x: (model(x) * cr.tensor(mask.numpy().copy())).sum())
    with pytest.raises(cr.GraphError, match="not an argument, a parameter"):
        fresh(x)
    with pytest.raises(cr.GraphError, match="single-element"):
        cr.compile(lambda x: model(x))(x)


def test_compile_under_no_grad_just_runs_the_function(rng):
    model = nn.Sequential(nn.Linear(3, 1))
    step = cr.compile(lambda x: model(x).sum())
    x = rng.standard_normal((2, 3)).astype(np.float32)
    with cr.no_grad():
        out = step(x)
    assert step.records == 0 and model[0].weight.grad is None
    np.testing.assert_allclose(out.item(), model(cr.tensor(x)).sum().item())
