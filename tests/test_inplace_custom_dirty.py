"""ctx.mark_dirty recorded as inplace_graph records chainrule's own in-place writes: ops that
read the tensor before the custom Function wrote it get their gradients (and next_functions)
from the version they read, as in PyTorch."""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _t(lib, values, requires_grad=True):
    if lib is torch:
        return torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad)
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def _scale(lib, k):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(k)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * k

    return Scale


def _both(run):
    ours, theirs = run(cr), run(torch)
    assert ours == theirs
    return ours


def test_an_earlier_reader_gets_its_gradient_from_the_version_it_read():
    def run(lib):
        a = _t(lib, [1.5, 2.0, 3.0])
        y = a * 1.0
        z = y + 1  # reads y before the custom write (saves nothing)
        out = _scale(lib, 2.0).apply(y)
        (z.sum() + 3 * out.sum()).backward()
        return a.grad.tolist(), out is y, z.grad_fn.next_functions[0][0].name()

    assert _both(run) == ([7.0, 7.0, 7.0], True, "MulBackward0")  # was 8: z went through 2·


def test_two_dirty_calls_and_plain_writes_between_them():
    def run(lib):
        a = _t(lib, [1.5, 2.0, 3.0])
        y = a * 1.0
        z = y - 1
        y.mul_(5)
        _scale(lib, 2.0).apply(y)
        u = y + 2
        y.add_(1)
        _scale(lib, 3.0).apply(y)
        (z.sum() + 10 * u.sum() + (y * y).sum()).backward()
        names = [n[0].name() for n in (z.grad_fn.next_functions[0], u.grad_fn.next_functions[0])]
        return a.grad.tolist(), names

    _both(run)


def test_several_dirty_outputs_route_each_reader():
    def run(lib):
        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                x.mul_(2)
                y.add_(1)
                ctx.mark_dirty(x, y)
                return x, y, x * 3

            @staticmethod
            def backward(ctx, g, h, i):
                return g * 2 + i * 6, h

        a, b = _t(lib, [1.5, 2.0, 3.0]), _t(lib, [1.0, -2.0, 3.0])
        x, y = a * 1.0, b * 2
        z = x + y
        r = Two.apply(x, y)
        (7 * z.sum() + r[0].sum() + 10 * r[1].sum() + 100 * r[2].sum()).backward()
        return a.grad.tolist(), b.grad.tolist(), r[0] is x, r[1] is y

    _both(run)


def test_a_dirty_tensor_with_a_live_view_is_refused_not_misrouted():
    # PyTorch rebases the view on the write; chainrule refuses it (the view's graph would
    # still read the values from before): a clear error instead of a silently wrong gradient
    a = _t(cr, [1.5, 2.0, 3.0])
    y = a * 1.0
    view = y[1:]
    with pytest.raises(cr.GraphError, match="ctx.mark_dirty"):
        _scale(cr, 2.0).apply(y)
    assert view.shape == (2,)


def test_a_function_that_saves_nothing_leaves_later_writes_harmless():
    # its node keeps no input values (PyTorch saves only save_for_backward's tensors)
    def run(lib):
        a = _t(lib, [1.0, -2.0])
        y = a * 3
        out = _scale(lib, 4.0).apply(y)
        out.add_(1)
        (out * out).sum().backward()
        return a.grad.tolist()

    _both(run)


def test_a_dirty_view_of_a_tensor_in_use_is_refused_not_misrouted():
    # PyTorch records it on the base (CopySlices); chainrule refuses after the forward ran
    a = _t(cr, [1.5, 2.0, 3.0])
    y = a * 1.0
    with pytest.raises(cr.GraphError, match="ctx.mark_dirty would change in place a view"):
        _scale(cr, 2.0).apply(y[1:])


def test_a_dirty_tensor_saved_by_the_function_still_refuses_a_later_write():
    def run(lib):
        class Keep(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                ctx.save_for_backward(x)
                return x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * 2

        y = _t(lib, [1.0, 2.0]) * 1
        out = Keep.apply(y)
        out.add_(1)
        with pytest.raises(RuntimeError, match="in ?place"):
            out.sum().backward()

    run(cr)
    run(torch)
