"""backward() walks a chain of ops as it goes and switches to the depth-first order at the first
op that reads two other ops' outputs (autograd/engine.py). Whatever the graph's shape, the
gradients must be PyTorch's, ops whose output does not reach the loss must be released, and a
graph freed by an earlier backward must be refused before a wrong gradient is written."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd.function import Function


def _pair(values):
    return cr.tensor(values, dtype="float64", requires_grad=True), torch.tensor(
        values, dtype=torch.float64, requires_grad=True
    )


GRAPHS = {
    # a plain chain (the walk never switches)
    "chain": lambda x, w: ((x * w).tanh() * w).sigmoid().sum(),
    # a chain from the root down to an op that reads two ops (a diamond), then a chain again
    "chain_then_diamond": lambda x, w: (((x * w).exp() * (x * w).tanh()) * 0.5).sum(),
    # one op's output read twice (h * h) inside a chain: still one op to go to
    "square_in_chain": lambda x, w: (((x * w) * (x * w).sigmoid()) + 1).mean(),
    # the switch near the root, a second diamond further down
    "two_diamonds": lambda x, w: (lambda h: ((h * h.tanh()).exp() + (h * h.tanh()).sin()).sum())(
        (x - w) * (x + w)
    ),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_gradients_match_pytorch_whatever_the_graph_shape(name):
    rng = np.random.default_rng(5)
    x0, w0 = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))
    x, tx = _pair(x0)
    w, tw = _pair(w0)
    GRAPHS[name](x, w).backward()
    GRAPHS[name](tx, tw).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)


class _Blocker(Function):
    """Identity forward whose backward sends nothing on: the ops below it get no gradient."""

    label = "block"

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return (None,)


def test_ops_below_an_op_that_sends_no_gradient_are_released_and_leave_grad_alone():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    below = (x * 2.0).tanh()
    loss = (_Blocker.apply(below) * w).sum()
    loss.backward()
    assert x.grad is None  # nothing reached it
    assert w.grad.tolist() == pytest.approx(np.tanh([2.0, 4.0]).tolist())
    assert below._ctx.freed and below._ctx.parents == ()  # released all the same


def test_a_chain_into_a_graph_an_earlier_backward_freed_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).tanh()
    h.sum().backward()
    first = x.grad.numpy().copy()
    with pytest.raises(cr.GraphError, match="retain_graph=True"):
        (h * 2.0).exp().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)  # no partial gradient written


def test_retain_graph_walks_the_same_chain_twice():
    x, tx = _pair([0.3, -0.7])
    loss = ((x * x).sigmoid() * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    t_loss = ((tx * tx).sigmoid() * tx).sum()
    t_loss.backward(retain_graph=True)
    t_loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_first_in_place_write_and_first_retain_grad_of_a_fresh_process_are_seen():
    # backward() skips the in-place and output-watch checks until the process has made an
    # in-place write or a retain_grad(); both firsts must still be caught in a fresh process.
    import subprocess
    import sys

    code = """
import chainrule as cr
w = cr.tensor([1.0, 2.0], requires_grad=True)
a = cr.tensor([3.0, 4.0])
loss = (w * a).sum()
a.add_(1.0)  # the process's first in-place write, after Mul saved a
try:
    loss.backward()
    print("no error")
except cr.GraphError as error:
    print("refused" if "in place" in str(error) else str(error))
h = w.exp()
h.retain_grad()  # the process's first watched output
(h * 2.0).sum().backward()
print(h.grad.tolist())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["refused", "[2.0, 2.0]"]


def test_op_classes_with_their_own_init_and_first_used_without_grad_still_record():
    # Function.__init_subclass__ sets the engine's attributes on a throwaway instance made
    # without __init__ (so the class's shared attribute layout starts with them); an op class
    # whose __init__ takes arguments, used under no_grad() first, must still work.
    class Scale(Function):
        label = "scale"

        def __init__(self, factor=2.0):
            self.factor = factor

        def forward(self, x):
            return x * self.factor

        def backward(self, grad):
            return (grad * self.factor,)

    x = cr.tensor([1.0, -3.0], requires_grad=True)
    with cr.no_grad():
        assert Scale.apply(x).tolist() == [2.0, -6.0]
    Scale.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
