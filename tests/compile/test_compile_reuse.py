"""cr.compile's NumPy tier writes over arrays only where the graph proves them its own.

Each case trains the same network eagerly and compiled and wants the same bits; the generated
source says whether the in-place forms were chosen, so a case that must not reuse an array
fails if it ever does.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.compile_reuse import in_place_backwards, in_place_forwards


class TwoReaders(nn.Module):
    """z = fc(x) is read by ReLU and again by the sum: ReLU must not overwrite z."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        z = self.fc(x)
        return self.head(cr.relu(z) + z)


class TwoConsumers(nn.Module):
    """h = relu(fc(x)) feeds two heads: its gradient is a sum, not one backward's own array."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 8)
        self.a = nn.Linear(8, 3)
        self.b = nn.Linear(8, 3)

    def forward(self, x):
        h = cr.relu(self.fc(x))
        return self.a(h) + self.b(h)


class SharedGradient(nn.Module):
    """relu(fc1(x)) + relu(fc2(x)): the sum's backward hands both ReLUs the same array."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 3)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x):
        return cr.relu(self.fc1(x)) + cr.relu(self.fc2(x))


class ReluFirst(nn.Module):
    """ReLU of the input itself: the caller's array, never the step's to overwrite."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(cr.relu(x))


def _mlp(act=nn.ReLU):
    return nn.Sequential(nn.Linear(6, 16), act(), nn.Linear(16, 8), act(), nn.Linear(8, 3))


def _tanh_mlp():
    return _mlp(nn.Tanh)


def _sigmoid_mlp():
    """Sigmoid has only the backward form (its forward makes three arrays of its own)."""
    return nn.Sequential(nn.Linear(6, 300), nn.Sigmoid(), nn.Linear(300, 3))


def _train(make, batches, compiled: bool, return_output: bool = False):
    cr.manual_seed(0)
    model = make()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    step = None
    if compiled:
        step = cr.compile_step(model, loss_fn, opt, backend="numpy", return_output=return_output)
    results = []
    for x, y in batches:
        xt, yt = cr.tensor(x), cr.tensor(y)
        if compiled:
            results.append(step(xt, yt))
        else:
            opt.zero_grad()
            out = model(xt)
            loss = loss_fn(out, yt)
            loss.backward()
            opt.step()
            results.append((loss, out) if return_output else loss)
    return model, step, results


def _source(step) -> str:
    (plan,) = step.plans.values()
    return plan.source


@pytest.fixture
def batches(rng):
    return [
        (rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 5)) for _ in range(4)
    ]


@pytest.mark.parametrize(
    ("make", "forwards", "backwards"),
    [
        (_mlp, 2, 2),
        (_tanh_mlp, 2, 2),
        (_sigmoid_mlp, 0, 1),
        (TwoReaders, 0, 0),
        (TwoConsumers, 1, 0),
        (SharedGradient, 2, 0),
        (ReluFirst, 0, 0),
    ],
    ids=[
        "mlp",
        "tanh",
        "sigmoid",
        "z-read-twice",
        "h-used-twice",
        "one-gradient-for-two",
        "relu-of-input",
    ],
)
def test_in_place_only_where_proved_and_bits_unchanged(batches, make, forwards, backwards):
    eager, _, losses_e = _train(make, batches, compiled=False)
    model, step, losses_c = _train(make, batches, compiled=True)
    source = _source(step)
    assert source.count(".forward_in_place(") == forwards
    assert source.count(".backward_in_place(") == backwards
    assert [loss.item() for loss in losses_c] == [loss.item() for loss in losses_e]
    for p, q in zip(eager.parameters(), model.parameters()):
        np.testing.assert_array_equal(p.array, q.array)


def test_the_returned_output_is_never_overwritten(batches):
    """The model's output z is read by the caller too: the loss's ReLU must leave it alone."""

    def loss_fn(out, y):
        return nn.functional.cross_entropy(cr.relu(out), y)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Linear(6, 3)
        opt = optim.SGD(model.parameters(), lr=0.1)
        if compiled:
            step = cr.compile_step(model, loss_fn, opt, backend="numpy", return_output=True)
            return [step(cr.tensor(x), cr.tensor(y)) for x, y in batches], step
        results = []
        for x, y in batches:
            opt.zero_grad()
            out = model(cr.tensor(x))
            loss = loss_fn(out, cr.tensor(y))
            loss.backward()
            opt.step()
            results.append((loss, out))
        return results, None

    expected, _ = run(False)
    got, step = run(True)
    assert ".forward_in_place(" not in _source(step)
    for (loss_e, out_e), (loss_c, out_c) in zip(expected, got):
        assert loss_c.item() == loss_e.item()
        np.testing.assert_array_equal(out_c.array, out_e.array)


def test_the_analysis_names_the_relu_nodes(batches):
    """The sets themselves: in the MLP, the two ReLUs (nodes 1 and 3) both ways."""
    _, step, _ = _train(_mlp, batches, compiled=True)
    (plan,) = step.plans.values()
    assert in_place_forwards(plan.graph) == {1, 3}
    assert in_place_backwards(plan.graph) == {1, 3}
