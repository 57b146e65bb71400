"""Custom autograd Functions with several outputs and in-place (``ctx.mark_dirty``) outputs,
against PyTorch: the same user Function written once, run in both libraries."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

LIBS = (cr, torch)


def _t(lib, values, requires_grad=False, dtype=np.float64):
    array = np.asarray(values, dtype=dtype)
    if lib is torch:
        return torch.tensor(array, requires_grad=requires_grad)
    return cr.tensor(array, requires_grad=requires_grad, dtype=dtype)


def _np(value):
    if value is None:
        return None
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def _seen(grads):
    """What the user's backward received, as plain values (None, or dtype and numbers)."""
    return [None if g is None else (str(_np(g).dtype), _np(g).tolist()) for g in grads]


def _two_outputs(lib, log):
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * a, a * b, "label"

        @staticmethod
        def backward(ctx, grad_square, grad_product, grad_label):
            log.append(_seen((grad_square, grad_product, grad_label)))
            a, b = ctx.saved_tensors
            return grad_square * 2 * a + grad_product * b, grad_product * a

    return Two


def _run_two(lib, use):
    log = []
    a = _t(lib, [1.0, -2.0, 3.0], True)
    b = _t(lib, [0.5, 4.0, -1.0], True)
    square, product, label = _two_outputs(lib, log).apply(a, b)
    loss = sum((w * out).sum() for w, out in zip(use, (square, product)) if w)
    loss.backward()
    return {
        "values": (_np(square).tolist(), _np(product).tolist(), label),
        "grads": (_np(a.grad).tolist(), _np(b.grad).tolist()),
        "seen": log,
        "name": square.grad_fn.name(),
    }


@pytest.mark.parametrize("use", [(1.0, 2.0), (1.0, 0), (0, 3.0)])
def test_several_outputs_values_gradients_and_grads_seen_as_torch(use):
    # an output the loss does not use reaches backward as zeros (materialize_grads), a
    # non-tensor output as None, as PyTorch
    assert _run_two(cr, use) == _run_two(torch, use)


def _mixed_outputs(lib, log):
    class Mixed(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            index = lib.tensor([1, 0])
            marked = a * 3
            ctx.mark_non_differentiable(marked)
            return a * 2, index, marked, 7

        @staticmethod
        def backward(ctx, grad, grad_index, grad_marked, grad_seven):
            log.append(_seen((grad, grad_index, grad_marked, grad_seven)))
            return grad * 2

    return Mixed


def test_integer_marked_and_plain_outputs_as_torch():
    def run(lib):
        log = []
        a = _t(lib, [1.0, 2.0], True)
        doubled, index, marked, seven = _mixed_outputs(lib, log).apply(a)
        flags = (doubled.requires_grad, index.requires_grad, marked.requires_grad, seven)
        doubled.sum().backward()
        return flags, _np(index).tolist(), _np(marked).tolist(), _np(a.grad).tolist(), log

    assert run(cr) == run(torch)


def test_materialize_grads_off_gives_none_for_outputs_without_gradient():
    def run(lib, which):
        log = []

        class Lazy(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.set_materialize_grads(False)
                return a * 2, a * 3

            @staticmethod
            def backward(ctx, grad_two, grad_three):
                log.append(_seen((grad_two, grad_three)))
                total = 0
                if grad_two is not None:
                    total = total + grad_two * 2
                if grad_three is not None:
                    total = total + grad_three * 3
                return total

        a = _t(lib, [1.0, 2.0], True)
        outs = Lazy.apply(a)
        sum(outs[k].sum() for k in which).backward()
        return _np(a.grad).tolist(), log

    for which in ((0,), (1,), (0, 1)):
        assert run(cr, which) == run(torch, which)


def test_outputs_of_different_dtypes_keep_theirs():
    def run(lib):
        log = []

        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2, (a * 3).double()

            @staticmethod
            def backward(ctx, grad_single, grad_double):
                log.append(_seen((grad_single, grad_double)))
                return grad_single * 2 + (grad_double * 3).float()

        a = _t(lib, [1.0, 2.0], True, np.float32)
        single, double = Split.apply(a)
        (single.sum() + (double * double).sum().float()).backward()
        return str(_np(double).dtype), _np(a.grad).tolist(), log

    assert run(cr) == run(torch)


def test_several_outputs_backward_twice_with_retain_graph():
    def run(lib):
        a = _t(lib, [1.0, -2.0, 3.0], True)
        b = _t(lib, [0.5, 4.0, -1.0], True)
        square, product, _ = _two_outputs(lib, []).apply(a, b)
        loss = square.sum() + (product * product).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        return _np(a.grad).tolist(), _np(b.grad).tolist()

    assert run(cr) == run(torch)


def test_second_derivatives_through_several_outputs_as_torch():
    def run(lib):
        a = _t(lib, [1.0, -2.0, 3.0], True)
        b = _t(lib, [0.5, 4.0, -1.0], True)
        square, product, _ = _two_outputs(lib, []).apply(a, b)
        loss = (square * product).sum() + (product * product).sum()
        grad_a, grad_b = lib.autograd.grad(loss, (a, b), create_graph=True)
        again = lib.autograd.grad((grad_a * grad_a).sum() + grad_b.sum(), (a, b))
        return [np.round(_np(g), 10).tolist() for g in (grad_a, grad_b, *again)]

    assert run(cr) == run(torch)


def test_several_outputs_grad_fn_names_the_function():
    def run(lib):
        a = _t(lib, [1.0], True)
        outs = _two_outputs(lib, []).apply(a, a)
        return outs[0].grad_fn.name(), outs[1].grad_fn.name()

    assert run(cr) == run(torch) == ("TwoBackward", "TwoBackward")


# ---- ctx.mark_dirty -----------------------------------------------------------------------
def _scale_in_place(lib):
    class ScaleInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            x.mul_(3)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    return ScaleInPlace


def test_mark_dirty_returns_the_input_with_its_history_as_torch():
    def run(lib):
        a = _t(lib, [1.0, 2.0], True)
        c = a * 2
        before = c._version
        out = _scale_in_place(lib).apply(c)
        facts = (out is c, c._version - before, c.grad_fn.name(), c.requires_grad, c.is_leaf)
        (c * c).sum().backward()
        return facts, _np(c).tolist(), _np(a.grad).tolist()

    assert run(cr) == run(torch)


def test_mark_dirty_input_without_grad_joins_the_graph():
    def run(lib):
        class AddInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                ctx.mark_dirty(x)
                x.add_(y)
                return x

            @staticmethod
            def backward(ctx, grad):
                return grad, grad * 2

        x = _t(lib, [1.0, 1.0])
        y = _t(lib, [2.0, 3.0], True)
        out = AddInPlace.apply(x, y)
        facts = (out is x, x.requires_grad, x.is_leaf, x._version, x.grad_fn.name())
        x.sum().backward()
        return facts, _np(x).tolist(), _np(y.grad).tolist()

    assert run(cr) == run(torch)


def test_mark_dirty_on_a_leaf_that_requires_grad_raises_as_torch():
    for lib in LIBS:
        leaf = _t(lib, [1.0, 2.0], True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            _scale_in_place(lib).apply(leaf)


def test_mark_dirty_under_no_grad_bumps_the_version_only():
    for lib in LIBS:
        plain = _t(lib, [1.0, 2.0])
        assert _scale_in_place(lib).apply(plain) is plain
        assert plain._version == 2 and not plain.requires_grad and plain.grad_fn is None
        assert _np(plain).tolist() == [3.0, 6.0]


def test_mark_dirty_tensor_not_returned_raises_as_torch():
    for lib in LIBS:

        class Forgets(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mark_dirty(x)
                x.add_(1)
                return x * 2

            @staticmethod
            def backward(ctx, grad):
                return grad

        with pytest.raises(RuntimeError, match="marked as dirty during the forward"):
            Forgets.apply(_t(lib, [1.0], True) * 1)


def test_an_op_that_saved_the_dirty_tensor_refuses():
    # the write changed values an earlier op saved: both refuse instead of a wrong gradient,
    # PyTorch at backward(), chainrule at apply() (as its own in-place writes: inplace_graph)
    for lib in LIBS:
        w = _t(lib, [1.0, 2.0], True)
        c = _t(lib, [3.0, 4.0], True) * 1
        saved_c = (c * w).sum()  # the product keeps c for w's gradient
        with pytest.raises(RuntimeError, match="in ?place"):
            _scale_in_place(lib).apply(c)
            saved_c.backward()


def test_mark_dirty_with_several_outputs():
    def run(lib):
        class ScaleAndCopy(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mark_dirty(x)
                x.mul_(2)
                return x, x * 5

            @staticmethod
            def backward(ctx, grad_x, grad_copy):
                return grad_x * 2 + grad_copy * 10

        a = _t(lib, [1.0, -1.0], True)
        c = a + 0
        out, copy = ScaleAndCopy.apply(c)
        (out * 3 + copy).sum().backward()
        return out is c, c._version, _np(copy).tolist(), _np(a.grad).tolist()

    assert run(cr) == run(torch)


def test_one_output_grad_fn_name_as_torch():
    def run(lib):
        a = _t(lib, [2.0], True)
        return _scale_in_place(lib).apply(a * 1).grad_fn.name(), str(a.grad_fn)

    assert run(cr) == run(torch) == ("ScaleInPlaceBackward", "None")
