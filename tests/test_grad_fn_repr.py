"""grad_fn nodes print as PyTorch's: ``<NllLossBackward0 object at 0x...>``."""

import re

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_NODE = re.compile(r"<(.+) object at 0x[0-9a-f]+>")


def _name(node) -> str:
    match = _NODE.fullmatch(repr(node))
    assert match, repr(node)
    return match.group(1)


def _t(lib, values, requires_grad=True):
    if lib is torch:
        return torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad)
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def test_cross_entropy_prints_as_torch():
    def run(lib):
        x = _t(lib, [[1.5, 2.0, 3.0]])
        return _name(lib.nn.functional.cross_entropy(x * 2, lib.tensor([1])).grad_fn)

    assert run(cr) == run(torch) == "NllLossBackward0"  # was <CrossEntropy op>


def test_reprs_follow_name_and_are_unique_per_node():
    a = _t(cr, [1.0, 2.0])
    y = a * 2
    z = y.sum()
    assert _name(y.grad_fn) == y.grad_fn.name() == "MulBackward0"
    assert _name(z.grad_fn) == "SumBackward0"
    assert repr(y.grad_fn) != repr(z.grad_fn) and str(y.grad_fn) == repr(y.grad_fn)
    assert _name(y.grad_fn.next_functions[0][0]) == "AccumulateGrad"


def test_custom_function_nodes_print_with_their_module_as_torch():
    def run(lib):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g, h):
                return g * 2 + h * 3

        first, second = Twice.apply(_t(lib, [1.0]))
        return _name(first.grad_fn).rsplit(".", 1)[-1], _name(second.grad_fn).rsplit(".", 1)[-1]

    assert run(cr) == run(torch) == ("TwiceBackward", "TwiceBackward")
    a = _t(cr, [1.0])

    class Once(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    assert _name(Once.apply(a).grad_fn) == "chainrule.autograd.function.OnceBackward"
