"""What backward() frees: every op's saved arrays, whether or not someone still holds the op.

The engine clears an op's saved arrays (``__dict__``) only where something outside its loop
still holds the op (its output tensor, a ``grad_fn`` reference, an ordering list); an op
nobody holds is freed whole by reference counting as the walk moves on, with the same result
and without the cost of clearing. These tests pin both halves: nothing saved survives a
backward() that could be reached, and ops nobody holds are gone.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr


def _chain(x, n):
    h = x
    for _ in range(n):
        h = (h * 1.5).tanh()
    return h


def test_ops_nobody_holds_are_freed_during_backward():
    x = cr.tensor(np.linspace(-1.0, 1.0, 8), requires_grad=True)
    out = _chain(x, 5)
    ops, fn = [], out.grad_fn
    while fn is not None:  # weak references to every op of the chain
        ops.append(weakref.ref(fn))
        fn = next((p._ctx for p in fn.parents if p._ctx is not None), None)
    fn = None
    loss = out.sum()
    gc.disable()  # freed by reference counting alone, not a collection
    try:
        loss.backward()
        alive = [ref() for ref in ops]
    finally:
        gc.enable()
    # only the op whose output the test still holds (out) is left, and it is cleared
    assert alive[0] is out.grad_fn and all(op is None for op in alive[1:])
    assert out.grad_fn.freed and not hasattr(out.grad_fn, "out")


def test_an_op_whose_output_is_held_loses_its_saved_arrays():
    x = cr.tensor(np.linspace(-1.0, 1.0, 8), requires_grad=True)
    hidden = x.exp() * 2.0  # the user keeps this intermediate tensor
    saved = weakref.ref(hidden.grad_fn.a)  # exp's output, saved by the product
    loss = (hidden * 3.0).tanh().sum()
    loss.backward()
    assert hidden.grad_fn.freed and not hasattr(hidden.grad_fn, "a")
    assert saved() is None


def test_an_op_held_only_through_grad_fn_is_cleared():
    x = cr.tensor(np.linspace(-1.0, 1.0, 8), requires_grad=True)
    middle = (x * 2.0).tanh()
    op = middle.grad_fn
    loss = (middle * 3.0).sum()
    del middle  # the op is held, its output tensor only by the graph
    loss.backward()
    assert op.freed and not hasattr(op, "out")


def test_a_second_backward_through_a_held_intermediate_is_refused():
    x = cr.tensor([0.5, -0.25], requires_grad=True)
    hidden = (x * 2.0).exp()
    (hidden * 3.0).sum().backward()
    with pytest.raises(cr.GraphError, match="second time"):
        hidden.sum().backward()


def test_gradients_are_the_same_whether_intermediates_are_held_or_not():
    def run(keep):
        x = cr.tensor(np.linspace(-1.0, 1.0, 6), requires_grad=True)
        kept, h = [], x
        for _ in range(4):
            h = (h * 1.25).sigmoid()
            if keep:
                kept.append(h)
        h.sum().backward()
        return x.grad.numpy().tobytes()

    assert run(keep=True) == run(keep=False)


def test_a_released_op_that_saves_nothing_keeps_stand_ins_without_memory():
    x32 = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    x64 = cr.tensor(np.ones((3, 4), np.float64), requires_grad=True)
    ops, stand_ins = [], []
    for x in (x32, x64, x32):
        out = x.exp() + 1.0  # Add saves no tensors: it keeps links for another backward()
        op = out.grad_fn
        out.sum().backward()
        ops.append(op)
        (stand_in,) = [p for p in op.parents if p._ctx is not None]  # for exp's output
        stand_ins.append(stand_in)
    for op, stand_in, x in zip(ops, stand_ins, (x32, x64, x32)):
        assert op.released and stand_in.shape == (3, 4) and stand_in.dtype == x.dtype
        assert type(stand_in._ctx).__name__ == "Exp" and stand_in.requires_grad
        array = stand_in.array
        assert array.strides == (0, 0) and not array.flags.writeable and not array.any()
    assert stand_ins[0].array is stand_ins[2].array  # one shared view: no memory per op
