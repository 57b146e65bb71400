"""In-place writes are caught through whatever tensor reaches the memory an op saved: a view, a
transpose, detach(), or the op's own output (PyTorch's version counter is shared the same way),
while writes through ``.data`` stay unseen, as PyTorch's ``.data`` has a counter of its own."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import inplace
from chainrule.errors import GraphError

torch = pytest.importorskip("torch")


def _x():
    return cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)


def write_saved_output(name):
    def case():
        x = _x()
        y = getattr(x, name)()
        with cr.no_grad():
            y.mul_(2)
        return y.sum()

    return case


def write_through_transpose():
    x = cr.tensor(np.eye(2), dtype="float64", requires_grad=True)
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64")
    z = x @ w
    w.t().mul_(5)
    return z.sum()


def write_through_detach():
    x, w = _x(), cr.tensor([3.0, 4.0], dtype="float64")
    z = x * w
    w.detach().mul_(3)
    return z.sum()


def write_whole_after_saving_a_row():
    x, w = _x(), cr.tensor([[3.0, 4.0]], dtype="float64")
    z = x * w[0]
    w.add_(1)
    return z.sum()


def write_a_row_after_saving_the_whole():
    x, w = _x(), cr.tensor([3.0, 4.0], dtype="float64")
    z = x * w
    w[0:1].add_(1)
    return z.sum()


CASES = {
    **{f"{name} output": write_saved_output(name) for name in ("exp", "sigmoid", "tanh", "sqrt")},
    "transpose": write_through_transpose,
    "detach": write_through_detach,
    "whole after a row was saved": write_whole_after_saving_a_row,
    "a row after the whole was saved": write_a_row_after_saving_the_whole,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_write_into_saved_memory_is_refused_at_backward(name):
    loss = CASES[name]()
    with pytest.raises(GraphError, match="changed in place"):
        loss.backward()


def test_the_same_writes_raise_in_torch_too():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with torch.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()
    w = torch.tensor([3.0, 4.0])
    z = x * w
    w.detach().mul_(3)
    with pytest.raises(RuntimeError, match="inplace"):
        z.sum().backward()


def test_writes_through_data_are_not_seen_as_in_pytorch():
    x = _x()
    y = x.exp()
    y.data.mul_(2)
    y.sum().backward()
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = xt.exp()
    yt.data.mul_(2)
    yt.sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())


def test_unrelated_memory_and_later_ops_are_not_refused():
    x = _x()
    other = cr.tensor([5.0, 6.0], dtype="float64")
    w = cr.tensor([3.0, 4.0], dtype="float64")
    w.mul_(2)  # before the op: the op saw the new values
    z = x * w
    other.add_(1)  # different memory
    z.sum().backward()
    assert x.grad.tolist() == [6.0, 8.0]


def test_stamps_go_with_their_arrays():
    w = cr.tensor(np.ones(3))
    w.add_(1)
    key = id(w.array)
    assert key in inplace._MEMORY_WRITTEN
    del w
    assert key not in inplace._MEMORY_WRITTEN


def test_an_element_is_a_view_so_augmented_assignment_writes_through():
    """x[0] is a 0-d view, as in PyTorch: x[0] += 10 and y = x[1]; y.add_(5) both change x."""
    for dtype in ("float32", "float64"):
        x = cr.tensor([1.0, 2.0, 3.0], dtype=dtype)
        x[0] += 10
        y = x[1]
        y.add_(5)
        xt = torch.tensor([1.0, 2.0, 3.0], dtype=getattr(torch, dtype))
        xt[0] += 10
        yt = xt[1]
        yt.add_(5)
        np.testing.assert_array_equal(x.numpy(), xt.numpy())
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (w[0, 1] * 3).backward()
    assert w.grad.tolist() == [[0.0, 3.0], [0.0, 0.0]]
    with cr.no_grad():
        w[1, 0] -= 1
    assert w.tolist() == [[1.0, 2.0], [2.0, 4.0]]


def test_a_written_gradient_handed_to_backward_is_not_a_saved_array():
    """backward(g) with a g changed in place before: g is the op's incoming gradient, not
    something the op saved, so nothing is refused."""
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    g = cr.ones(3)
    g.mul_(2)
    y.backward(g)
    assert x.grad.tolist() == [4.0, 4.0, 4.0]
    z = x.exp()
    g.add_(1)
    z.backward(g)  # exp saved its output, not g
    np.testing.assert_allclose(x.grad, 4.0 + 3.0 * np.exp([1.0, 2.0, 3.0]), rtol=1e-6)
