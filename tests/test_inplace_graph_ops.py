"""In-place ops on a tensor in the middle of the graph beyond the arithmetic ones (pow_,
log_, copy_, zero_, fill_, index_add_, ...), recorded as PyTorch records them: the same
gradients (float64) and grad_fn names; and next_functions of an op recorded before a write
show the version it read."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

A = [[1.5, -2.0, 3.0], [4.0, 5.0, -6.0], [0.5, 0.25, 2.0]]


def _t(lib, values, requires_grad=True):
    if lib is torch:
        return torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad)
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def _run(lib, write):
    a = _t(lib, A)
    y = a * 2
    z = y + 1  # read before the write: its gradient goes to the version it read
    assert write(lib, y) is y
    (z.sum() * 3 + (y * y).sum()).backward()
    grad = None if a.grad is None else a.grad.detach().numpy().tolist()
    return grad, y.grad_fn.name(), y.detach().numpy().tolist()


def _index(lib, values):
    return lib.tensor(values)


WRITES = {
    "pow_": lambda lib, y: y.pow_(2),
    "pow_tensor": lambda lib, y: y.pow_(_t(lib, 3.0)),
    "ipow": lambda lib, y: y.__ipow__(3),
    "log_": lambda lib, y: y.abs_().log_(),
    "sqrt_": lambda lib, y: y.abs_().sqrt_(),
    "abs_": lambda lib, y: y.abs_(),
    "absolute_": lambda lib, y: y.absolute_(),
    "exp_": lambda lib, y: y.exp_(),
    "remainder_": lambda lib, y: y.remainder_(2.5),
    "imod": lambda lib, y: y.__imod__(3.0),
    "fmod_": lambda lib, y: y.fmod_(2.5),
    "div_floor": lambda lib, y: y.div_(2, rounding_mode="floor"),
    "div_trunc": lambda lib, y: y.div_(2, rounding_mode="trunc"),
    "clamp_min_": lambda lib, y: y.clamp_min_(0.5),
    "clamp_max_": lambda lib, y: y.clamp_max_(3.0),
    "copy_": lambda lib, y: y.copy_(_t(lib, [1.0, 2.0, 3.0], False)),
    "copy_number": lambda lib, y: y.copy_(_t(lib, 4.0, False)),
    "zero_": lambda lib, y: y.zero_(),
    "fill_": lambda lib, y: y.fill_(3.0),
    "fill_tensor": lambda lib, y: y.fill_(_t(lib, 2.0, False)),
    "fill_diagonal_": lambda lib, y: y.fill_diagonal_(7.0),
    "index_add_": lambda lib, y: y.index_add_(0, _index(lib, [0, 2]), _t(lib, [[1.0] * 3] * 2)),
    "index_copy_": lambda lib, y: y.index_copy_(1, _index(lib, [0, 2]), _t(lib, [[1.0] * 2] * 3)),
    "index_put_": lambda lib, y: y.index_put_((_index(lib, [0, 2]),), _t(lib, [1.0, 2.0, 3.0])),
    "scatter_add_": lambda lib, y: y.scatter_add_(
        0, _index(lib, [[0, 1, 2]]), _t(lib, [[1.0, 2.0, 3.0]])
    ),
    "scatter_": lambda lib, y: y.scatter_(0, _index(lib, [[0, 1, 2]]), _t(lib, [[1.0, 2.0, 3.0]])),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_in_place_op_in_the_graph_matches_pytorch(name):
    # each was refused (GraphError: "records only for add_, sub_, ...") before
    ours, theirs = _run(cr, WRITES[name]), _run(torch, WRITES[name])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12, atol=1e-12)
    if name != "index_put_":  # (named after the last op of chainrule's out-of-place form)
        assert ours[1] == theirs[1]


def test_random_fills_give_the_old_values_a_zero_gradient():
    for fill in ("normal_", "uniform_"):
        ours = _run(cr, lambda lib, y, fill=fill: getattr(y, fill)())
        theirs = _run(torch, lambda lib, y, fill=fill: getattr(y, fill)())
        assert ours[0] == theirs[0] == [[6.0] * 3] * 3 and ours[1] == theirs[1]


def test_copy_and_fill_from_a_tensor_that_requires_grad():
    def run(lib, write):
        a, w = _t(lib, A), _t(lib, [1.0, 2.0, 3.0])
        y = a * 2
        write(y, w)
        (y * y).sum().backward()
        return a.grad.tolist(), w.grad.tolist(), y.grad_fn.name()

    for write in (
        lambda y, w: y.copy_(w * 3),
        lambda y, w: y.fill_((w * w).sum()),
        lambda y, w: y.copy_(w.float()),  # a float32 source: its gradient in float32
    ):
        ours, theirs = run(cr, write), run(torch, write)
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
        assert ours[0] == theirs[0] and ours[2] == theirs[2]


def test_a_buffer_outside_the_graph_takes_a_copy_that_requires_grad():
    def run(lib):
        w = _t(lib, [1.0, 2.0, 3.0])
        buf = _t(lib, [0.0, 0.0, 0.0], False)
        buf.copy_(w * 2)
        (buf * buf).sum().backward()
        return w.grad.tolist(), buf.requires_grad, buf.grad_fn.name()

    assert run(cr) == run(torch) == ([8.0, 16.0, 24.0], True, "torch::autograd::CopyBackwards")


def test_second_derivatives_through_pow_and_copy_match_pytorch():
    def run(lib):
        a, w = _t(lib, [1.0, 2.0, 3.0]), _t(lib, [0.5, -1.0, 2.0])
        y = a * a
        y.pow_(2)
        u = a * 1
        u.copy_(w * w)
        (grad_a, grad_w) = lib.autograd.grad((y * u).sum(), (a, w), create_graph=True)
        (grad_a.sum() + grad_w.sum()).backward()
        return a.grad.tolist(), w.grad.tolist()

    ours, theirs = run(cr), run(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_refused_where_pytorch_refuses():
    y = _t(cr, A) * 2
    with pytest.raises(cr.GraphError, match="floor_divide_ is not implemented"):
        y.floor_divide_(2)
    with pytest.raises(cr.GraphError, match="leaf"):
        _t(cr, A).zero_()
    with pytest.raises(cr.ShapeError, match=r"broadcast shape \[1, 3, 3\]"):
        y.copy_(_t(cr, [[[1.0, 2.0, 3.0]]], False))  # PyTorch's message too


def test_next_functions_show_the_version_an_op_read():
    def run(lib):
        a = _t(lib, [1.0, 2.0])
        y = a.exp()
        z = y + 1
        y.mul_(2)
        y.pow_(2)
        u = y - 3
        y.zero_()
        return [n.name() for n, _ in (z.grad_fn.next_functions[0], u.grad_fn.next_functions[0])]

    assert run(cr) == run(torch) == ["ExpBackward0", "PowBackward0"]  # were the last write's


def test_an_integer_buffer_copies_a_source_that_requires_grad_without_a_graph():
    def run(lib):
        buf = lib.tensor([0, 0])
        buf.copy_(_t(lib, [1.5, 2.5]))
        return buf.tolist(), buf.requires_grad, buf.grad_fn is None

    assert run(cr) == run(torch) == ([1, 2], False, True)  # was requires_grad=True
