"""F.conv3d and F.conv_transpose3d as single im2col + GEMM ops: forward and every gradient
against PyTorch over a grid of shapes, strides, dilations, groups and paddings (float32 and
float64, batched and unbatched), float64 finite differences, second derivatives against
PyTorch, and the graph: one convolution node reading the input directly."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-4, atol=2e-4)}

# name -> (input shape, weight shape, bias?, options)
CONV = {
    "plain": ((2, 3, 4, 5, 6), (4, 3, 3, 3, 3), True, {}),
    "stride": ((2, 2, 5, 6, 7), (3, 2, 2, 3, 2), True, {"stride": (2, 1, 3)}),
    "padding": ((1, 2, 3, 4, 5), (2, 2, 3, 2, 3), False, {"padding": (1, 0, 2)}),
    "dilation": ((2, 2, 6, 5, 6), (3, 2, 2, 2, 3), True, {"dilation": (2, 3, 1), "padding": 1}),
    "groups": ((2, 4, 4, 5, 4), (6, 2, 2, 3, 2), True, {"groups": 2, "stride": 2}),
    "depthwise": ((1, 3, 4, 4, 5), (6, 1, 3, 1, 2), True, {"groups": 3, "padding": (1, 0, 1)}),
    "all_mixed": (
        (2, 6, 7, 6, 8),
        (4, 3, 2, 3, 2),
        True,
        {"stride": (3, 2, 1), "padding": (2, 1, 0), "dilation": (1, 2, 3), "groups": 2},
    ),
    "same_even": ((2, 2, 4, 5, 6), (3, 2, 2, 3, 4), True, {"padding": "same"}),
    "same_dilated_groups": (
        (1, 4, 5, 4, 6),
        (4, 2, 2, 2, 3),
        True,
        {"padding": "same", "dilation": (2, 1, 2), "groups": 2},
    ),
    "valid": ((2, 3, 3, 4, 4), (2, 3, 3, 4, 1), True, {"padding": "valid"}),
    "stride_leaves_planes_unused": ((1, 2, 8, 7, 6), (3, 2, 2, 3, 2), True, {"stride": 3}),
    "unit_kernel": ((2, 3, 2, 3, 2), (5, 3, 1, 1, 1), True, {}),
    "unbatched": ((3, 4, 5, 4), (2, 3, 2, 2, 2), True, {"padding": 1, "stride": 2}),
}

# name -> (input shape, weight shape, bias?, options)
TRANSPOSE = {
    "plain": ((2, 3, 3, 4, 3), (3, 4, 3, 2, 3), True, {}),
    "stride_padding": ((2, 2, 3, 3, 4), (2, 3, 3, 3, 2), True, {"stride": 2, "padding": 1}),
    "output_padding": (
        (1, 4, 3, 4, 3),
        (4, 3, 2, 3, 2),
        False,
        {"stride": (2, 3, 2), "padding": (1, 0, 1), "output_padding": (1, 2, 0), "groups": 2},
    ),
    "output_padding_past_stride": (
        (1, 4, 3, 2, 3),
        (4, 2, 3, 2, 3),
        True,
        {"dilation": (2, 3, 2), "output_padding": (1, 2, 1), "groups": 2},
    ),
    "groups3": ((2, 6, 2, 3, 3), (6, 2, 2, 2, 2), True, {"stride": 3, "groups": 3}),
    "unbatched": ((2, 3, 2, 3), (2, 3, 2, 2, 2), True, {"stride": 2, "dilation": (1, 2, 1)}),
}


def _arrays(table, name, seed=0):
    x_shape, w_shape, bias, _ = table[name]
    rng = np.random.default_rng(sorted(table).index(name) + 10 * seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        groups = table[name][3].get("groups", 1)
        out_ch = w_shape[1] * groups if table is TRANSPOSE else w_shape[0]
        arrays.append(rng.standard_normal(out_ch))
    return arrays


def _call(lib, table, name, tensors):
    fn = "conv_transpose3d" if table is TRANSPOSE else "conv3d"
    return getattr(lib.nn.functional, fn)(*tensors, **table[name][3])


GRID = [(CONV, name) for name in CONV] + [(TRANSPOSE, name) for name in TRANSPOSE]
GRID_IDS = [("conv3d-" if t is CONV else "transpose3d-") + n for t, n in GRID]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("table, name", GRID, ids=GRID_IDS)
def test_forward_and_gradients_match_torch(table, name, dtype):
    arrays = [a.astype(dtype) for a in _arrays(table, name)]
    ours = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = _call(cr, table, name, ours), _call(torch, table, name, theirs)
    assert out.shape == tuple(expected.shape) and out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
    upstream = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(upstream, dtype=dtype))
    expected.backward(torch.from_numpy(upstream))
    for mine, their in zip(ours, theirs):
        assert mine.grad.dtype == np.dtype(dtype) and mine.grad.shape == tuple(their.shape)
        np.testing.assert_allclose(mine.grad.numpy(), their.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize(
    "table, name",
    [(CONV, "all_mixed"), (CONV, "same_even"), (TRANSPOSE, "output_padding")],
    ids=["conv3d-all_mixed", "conv3d-same_even", "transpose3d-output_padding"],
)
def test_gradients_match_finite_differences(table, name):
    arrays = _arrays(table, name, seed=1)
    arrays[0] = arrays[0][:1]  # one item: central differences run two forwards per number
    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert cr.gradcheck(lambda *ts: _call(cr, table, name, ts), *inputs)


def _hessian_vector_products(lib, table, name):
    """Gradients of Σ v·out² and their products with u, differentiated again."""
    arrays = _arrays(table, name)
    inputs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    out = _call(lib, table, name, inputs)
    rng = np.random.default_rng(7)
    v = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=lib.float64)
    grads = lib.autograd.grad((v * out * out).sum(), inputs, create_graph=True)
    us = [lib.tensor(rng.standard_normal(a.shape), dtype=lib.float64) for a in arrays]
    hvps = lib.autograd.grad(sum((g * u).sum() for g, u in zip(grads, us)), inputs)
    return [t.detach().numpy() for t in (*grads, *hvps)]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "table, name",
    [(CONV, n) for n in ("plain", "all_mixed", "same_even", "unbatched")]
    + [(TRANSPOSE, n) for n in ("output_padding", "output_padding_past_stride", "unbatched")],
)
def test_second_derivatives_match_torch(table, name):
    ours, theirs = (
        _hessian_vector_products(cr, table, name),
        _hessian_vector_products(torch, table, name),
    )
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("table, name", [(CONV, "groups"), (TRANSPOSE, "groups3")])
def test_second_derivatives_match_finite_differences(table, name):
    arrays = _arrays(table, name, seed=2)
    arrays[0] = arrays[0][:1]
    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert gradgradcheck(lambda *ts: _call(cr, table, name, ts).tanh(), *inputs)


@pytest.mark.parametrize("fn", ["conv3d", "conv_transpose3d"])
def test_one_convolution_node_reads_the_input(fn):
    """The convolution is one op on x, W and b (behind the NCDHW view that carries PyTorch's
    name), not a chain of per-tap gathers, pads and 2-D convolutions."""
    x = cr.randn(1, 2, 3, 4, 4, requires_grad=True)
    w = cr.randn(2, 2, 2, 2, 2, requires_grad=True)
    b = cr.randn(2, requires_grad=True)
    out = getattr(cr.nn.functional, fn)(x, w, b, stride=2, padding=1)
    ((conv, _),) = out.grad_fn.next_functions
    assert [type(node).__name__ for node, _ in conv.next_functions] == ["AccumulateGrad"] * 3


@pytest.mark.parametrize("fn", ["conv3d", "conv_transpose3d"])
@pytest.mark.parametrize("groups", [1, 2])
def test_an_empty_batch_gives_empty_outputs_and_zero_gradients(fn, groups):
    x = cr.zeros(0, 2, 3, 3, 3, requires_grad=True)
    w = cr.randn(2, 2 // groups, 2, 2, 2, requires_grad=True)
    b = cr.randn(2, requires_grad=True)
    out = getattr(cr.nn.functional, fn)(x, w, b, groups=groups)
    expected = getattr(F, fn)(torch.zeros(0, 2, 3, 3, 3), torch.zeros(w.shape), groups=groups)
    assert out.shape == tuple(expected.shape)
    out.sum().backward()
    assert x.grad.shape == x.shape
    assert not w.grad.numpy().any() and not b.grad.numpy().any()
