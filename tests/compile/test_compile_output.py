"""compile_step(return_output=True): the compiled step also returns model(x), as eager does."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.compile import check_compile_step, try_compile_step


def _batches(rng, n=6, batch=16, classes=3):
    return [
        (
            rng.standard_normal((batch, 5)).astype(np.float32),
            rng.integers(0, classes, batch).astype(np.int64),
        )
        for _ in range(n)
    ]


def _mlp():
    return nn.Sequential(
        nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3)
    )


def _eager(make, batches, make_opt):
    cr.manual_seed(0)
    model = make()
    opt = make_opt(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    cr.manual_seed(7)
    results = []
    for x, y in batches:
        opt.zero_grad()
        out = model(cr.tensor(x))
        loss = loss_fn(out, cr.tensor(y))
        loss.backward()
        opt.step()
        results.append((loss.item(), out.array.copy()))
    return model, results


def _compiled(make, batches, make_opt, backend="numpy"):
    cr.manual_seed(0)
    model = make()
    step = cr.compile_step(
        model, nn.CrossEntropyLoss(), make_opt(model.parameters()), backend, return_output=True
    )
    cr.manual_seed(7)
    return model, step, [step(x, y) for x, y in batches]


@pytest.mark.parametrize(
    "make_opt",
    [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.AdamW(p, lr=0.01)],
    ids=["sgd-momentum", "adamw"],
)
def test_the_output_of_every_step_is_eagers_bit_for_bit_and_is_kept(rng, make_opt):
    batches = _batches(rng) + _batches(rng, 2, batch=5)  # a smaller last batch: its own plan
    eager, expected = _eager(_mlp, batches, make_opt)
    model, step, got = _compiled(_mlp, batches, make_opt)
    assert step.records == 2 and len(step.plans) == 2
    # checked after all steps ran: no later step wrote into an earlier step's output
    for (loss_e, out_e), (loss_c, out_c) in zip(expected, got):
        assert isinstance(out_c, cr.Tensor) and not out_c.requires_grad
        assert loss_c.item() == loss_e
        np.testing.assert_array_equal(out_c.array, out_e)
    arrays = [out.array for _, out in got]
    assert all(not np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :])
    for p, q in zip(eager.parameters(), model.parameters()):
        np.testing.assert_array_equal(p.array, q.array)


def test_the_generated_code_returns_a_copy_of_the_models_output(rng):
    _, step, _ = _compiled(_mlp, _batches(rng, 2), lambda p: optim.SGD(p, lr=0.1))
    source = next(iter(step.plans.values())).source
    last = source.strip().splitlines()[-1]
    assert last.startswith("    return v") and ", np.copy(v" in last


def test_convolutions_return_their_output_too(rng):
    def make():
        return nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3)
        )

    batches = [
        (rng.standard_normal((4, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, 4))
        for _ in range(3)
    ]
    _, expected = _eager(make, batches, lambda p: optim.SGD(p, lr=0.1))
    _, _, got = _compiled(make, batches, lambda p: optim.SGD(p, lr=0.1))
    for (_, out_e), (_, out_c) in zip(expected, got):
        np.testing.assert_array_equal(out_c.array, out_e)


def test_eager_calls_of_the_step_return_the_output_too(rng):
    """The recording call, a labels fallback and no_grad give (loss, output) as well."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 3))
    step = cr.compile_step(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), "numpy", True
    )
    x, y = _batches(rng, 1)[0]
    loss, out = step(x, y)  # records (eagerly)
    assert out.shape == (16, 3) and loss.shape == ()
    with cr.no_grad():
        loss, out = step(x, y)
    np.testing.assert_array_equal(out.array, model(cr.tensor(x)).array)
    with pytest.raises(Exception, match="3|class"):
        step(x, np.full_like(y, 7))  # out of range: the eager path and its error


def test_the_jit_tier_does_not_return_outputs(rng):
    pytest.importorskip("numba")
    model = nn.Sequential(nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = _batches(rng, 1)[0]
    step = cr.compile_step(model, nn.CrossEntropyLoss(), opt, "numba", return_output=True)
    with pytest.raises(cr.GraphError, match="does not return the model's output"):
        step(x, y)
    auto = cr.compile_step(model, nn.CrossEntropyLoss(), opt, "auto", return_output=True)
    auto(x, y)
    auto(x, y)
    assert next(iter(auto.plans.values())).backend == "numpy"  # auto keeps the NumPy tier
    reason = check_compile_step(model, nn.CrossEntropyLoss(), opt, (x, y), "numba", True)
    assert "does not return the model's output" in reason


def test_try_compile_step_with_outputs(rng):
    x, y = _batches(rng, 1)[0]
    model = nn.Sequential(nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = try_compile_step(model, nn.CrossEntropyLoss(), opt, (x, y), return_output=True)
    assert step is not None and step.output
    loss, out = step(x, y)
    assert out.shape == (16, 3)

    class Passthrough(nn.Module):  # returns its input: no recorded op gives the output
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(3, np.float32))

        def forward(self, x):
            return x

    model = Passthrough()

    def loss_fn(out, target):
        return ((out * model.scale - target) ** 2).mean()

    xy = (rng.standard_normal((4, 3)).astype(np.float32), np.zeros((4, 3), np.float32))
    assert check_compile_step(model, loss_fn, opt, xy, "numpy") is None
    reason = check_compile_step(model, loss_fn, opt, xy, "numpy", True)
    assert "the model's output is not the result of an op recorded" in reason
    assert try_compile_step(model, loss_fn, opt, xy, return_output=True) is None
