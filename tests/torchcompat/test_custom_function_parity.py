"""Custom autograd Functions against PyTorch: outputs that are not differentiable, the
gradients backward may return, and a second backward through a Function that saved nothing."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_LIBS = {"torch": torch, "chainrule": cr}
_X = [1.0, 2.0, -0.5]


def _leaf(lib, values=_X):
    return lib.tensor(values, dtype=lib.float64, requires_grad=True)


def _grad_or_none(t):
    return None if t.grad is None else np.asarray(t.grad.detach().numpy())


def _doubled_marked(lib):
    class Doubled(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            out = a * 2
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    return Doubled


def _tenfold_as_integers(lib):
    class TenfoldIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return (a * 10).to(lib.int64)

        @staticmethod
        def backward(ctx, grad):
            return grad * 10

    return TenfoldIndex


@pytest.mark.parametrize("make", [_doubled_marked, _tenfold_as_integers])
def test_non_differentiable_output_is_outside_the_graph_as_in_torch(make):
    results = {}
    for name, lib in _LIBS.items():
        a = _leaf(lib)
        w = _leaf(lib, [1.0, 1.0, 1.0])
        out = make(lib).apply(a)
        (out * w).sum().backward()
        results[name] = (out.requires_grad, out.grad_fn is None, _grad_or_none(a), _grad_or_none(w))
    got, want = results["chainrule"], results["torch"]
    assert got[:3] == want[:3] == (False, True, None)
    np.testing.assert_allclose(got[3], want[3])


def _scaled(lib, saves: bool, extra_nones: int = 0):
    class Scaled(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            ctx.k = k  # an attribute, not a saved tensor: PyTorch keeps it after backward
            if saves:
                ctx.save_for_backward(a)
            return a * k

        @staticmethod
        def backward(ctx, grad):
            scale = ctx.saved_tensors[0] * 0 + ctx.k if saves else ctx.k
            return (grad * scale, None) + (None,) * extra_nones

    return Scaled


def _results(program):
    results = {}
    for name, lib in _LIBS.items():
        try:
            results[name] = program(lib)
        except Exception as error:  # noqa: BLE001 - the error's kind is the result compared
            results[name] = type(error).__mro__
    return results["chainrule"], results["torch"]


@pytest.mark.parametrize("saves", [False, True])
def test_second_backward_through_a_function_runs_unless_it_saved_tensors_as_in_torch(saves):
    def program(lib):
        a = _leaf(lib)
        out = _scaled(lib, saves).apply(a, 3.0)
        out.sum().backward()
        out.sum().backward()
        return _grad_or_none(a)

    got, want = _results(program)
    if saves:
        assert RuntimeError in want and RuntimeError in got
    else:
        np.testing.assert_allclose(got, want)


def test_backward_may_return_extra_trailing_nones_as_in_torch():
    def program(lib):
        a = _leaf(lib)
        _scaled(lib, False, extra_nones=2).apply(a, 3.0).sum().backward()
        return _grad_or_none(a)

    got, want = _results(program)
    np.testing.assert_allclose(got, want)


def test_backward_returning_an_extra_gradient_raises_as_in_torch():
    class TooMany(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, grad

    with pytest.raises(cr.errors.GraphError, match="returned 2 gradients for 1"):
        TooMany.apply(_leaf(cr)).sum().backward()


_SCRIPT = """
import chainrule
chainrule.install_as_torch()
import torch
from torch.autograd.function import Function, FunctionCtx, once_differentiable

class Exp(Function):
    @staticmethod
    def forward(ctx: FunctionCtx, a):
        ctx.save_for_backward(a)
        return a.exp()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.exp()

x = torch.tensor([0.5, 1.0], requires_grad=True)
Exp.apply(x).sum().backward()
print(x.grad.tolist())
"""


def test_torch_autograd_function_module_is_the_custom_function_api_under_install_as_torch():
    import ast
    import os
    import pathlib
    import subprocess
    import sys

    src = pathlib.Path(cr.__file__).parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(ast.literal_eval(done.stdout), np.exp([0.5, 1.0]), rtol=1e-6)
