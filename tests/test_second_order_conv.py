"""Second derivatives through conv2d and conv_transpose2d (and their 1-D forms): Hessian-vector
products and gradient penalties against PyTorch, float64 finite differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradgradcheck

# name -> (function name, input shape, weight shape, bias?, keyword options)
CONV = {
    "plain": ("conv2d", (2, 3, 5, 6), (4, 3, 3, 2), True, {}),
    "no_bias_stride_padding": (
        "conv2d",
        (2, 3, 6, 7),
        (4, 3, 3, 3),
        False,
        {"stride": 2, "padding": 1},
    ),
    "stride_leaves_rows_unused": (
        "conv2d",
        (1, 2, 8, 7),
        (3, 2, 2, 3),
        True,
        {"stride": (3, 2), "dilation": (2, 1)},
    ),
    "groups_dilation_mixed": (
        "conv2d",
        (2, 4, 7, 8),
        (6, 2, 3, 3),
        True,
        {"stride": (2, 3), "padding": (1, 2), "dilation": (2, 1), "groups": 2},
    ),
    "same_even_kernel": ("conv2d", (2, 3, 5, 6), (4, 3, 2, 4), True, {"padding": "same"}),
    "same_depthwise_dilated": (
        "conv2d",
        (2, 3, 6, 5),
        (3, 1, 2, 3),
        True,
        {"padding": "same", "dilation": (1, 2), "groups": 3},
    ),
    "unbatched": ("conv2d", (3, 5, 5), (2, 3, 3, 3), True, {"padding": 1}),
    "conv1d": ("conv1d", (2, 3, 9), (4, 3, 3), True, {"stride": 2, "padding": 1, "dilation": 2}),
    "transpose_plain": ("conv_transpose2d", (2, 3, 4, 5), (3, 4, 3, 2), True, {}),
    "transpose_output_padding": (
        "conv_transpose2d",
        (2, 3, 4, 5),
        (3, 4, 3, 2),
        True,
        {"stride": 2, "padding": 1, "output_padding": 1},
    ),
    "transpose_groups_mixed": (
        "conv_transpose2d",
        (2, 4, 4, 5),
        (4, 2, 3, 3),
        False,
        {
            "stride": (2, 3),
            "padding": (1, 2),
            "output_padding": (1, 0),
            "dilation": (2, 1),
            "groups": 2,
        },
    ),
    # output_padding may reach the stride when the dilation is larger (PyTorch's rule)
    "transpose_output_padding_past_stride": (
        "conv_transpose2d",
        (2, 4, 4, 5),
        (4, 3, 3, 3),
        True,
        {"output_padding": 1, "dilation": 2, "groups": 2},
    ),
    "transpose1d": (
        "conv_transpose1d",
        (2, 3, 5),
        (3, 2, 3),
        True,
        {"stride": 2, "padding": 1, "output_padding": 1},
    ),
}
FINITE_DIFFERENCES = [
    "groups_dilation_mixed",
    "same_even_kernel",
    "transpose_groups_mixed",
    "transpose_output_padding_past_stride",
]


def _arrays(name):
    _, x_shape, w_shape, bias, _ = CONV[name]
    rng = np.random.default_rng(sorted(CONV).index(name))
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        fn, options = CONV[name][0], CONV[name][4]
        groups = options.get("groups", 1)
        out_ch = w_shape[0] if "transpose" not in fn else w_shape[1] * groups
        arrays.append(rng.standard_normal(out_ch))
    return arrays


def _to_numpy(lib, t):
    return np.array(t.detach().numpy() if lib.__name__ == "torch" else t.detach().numpy())


def _inputs(lib, arrays, dtype, needs=None):
    needs = needs or [True] * len(arrays)
    return [
        lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=need)
        for a, need in zip(arrays, needs)
    ]


def _conv(lib, name, tensors):
    fn, _, _, _, options = CONV[name]
    return getattr(lib.nn.functional, fn)(*tensors, **options)


def _hessian_vector_products(lib, name, dtype="float64"):
    """Gradients of Σ v·out² and their products with u, differentiated again."""
    arrays = _arrays(name)
    inputs = _inputs(lib, arrays, dtype)
    out = _conv(lib, name, inputs)
    rng = np.random.default_rng(7)
    v = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=getattr(lib, dtype))
    grads = lib.autograd.grad((v * out * out).sum(), inputs, create_graph=True)
    us = [lib.tensor(rng.standard_normal(a.shape), dtype=getattr(lib, dtype)) for a in arrays]
    dot = sum((g * u).sum() for g, u in zip(grads, us))
    hvps = lib.autograd.grad(dot, inputs)
    return [_to_numpy(lib, t) for t in (*grads, *hvps)]


# PyTorch warns that it copies the input for padding="same" with an even kernel
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name", sorted(CONV))
def test_hessian_vector_products_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _hessian_vector_products(cr, name), _hessian_vector_products(torch, name)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-10)


def _gradient_penalty(lib, name, dtype, needs=None):
    """loss = Σ out + Σ (∂(Σ out²)/∂x)², backward: the gradients of every input."""
    inputs = _inputs(lib, _arrays(name), dtype, needs)
    out = _conv(lib, name, inputs)
    (grad_x,) = lib.autograd.grad((out * out).sum(), [inputs[0]], create_graph=True)
    loss = out.sum() + (grad_x**2).sum()
    loss.backward()
    return [_to_numpy(lib, t.grad) if t.grad is not None else None for t in inputs]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "name",
    [
        "plain",
        "groups_dilation_mixed",
        "same_even_kernel",
        "transpose_groups_mixed",
        "transpose_output_padding",
        "conv1d",
    ],
)
def test_gradient_penalty_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _gradient_penalty(cr, name, dtype), _gradient_penalty(torch, name, dtype)
    rtol, atol = (1e-10, 1e-10) if dtype == "float64" else (2e-4, 2e-3)
    for mine, expected in zip(ours, theirs):
        assert mine.dtype == np.dtype(dtype)
        np.testing.assert_allclose(mine, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["plain", "transpose_output_padding"])
def test_gradient_penalty_with_a_frozen_weight_or_bias(name):
    """Only the inputs that need a gradient get one, and their values do not change."""
    torch = pytest.importorskip("torch")
    for needs in ([True, False, True], [True, True, False]):
        ours = _gradient_penalty(cr, name, "float64", needs)
        theirs = _gradient_penalty(torch, name, "float64", needs)
        for need, mine, expected in zip(needs, ours, theirs):
            assert (mine is not None) == need
            if need:
                np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", FINITE_DIFFERENCES)
def test_second_derivatives_match_finite_differences(name):
    inputs = _inputs(cr, _arrays(name), "float64")
    assert gradgradcheck(lambda *ts: _conv(cr, name, ts).tanh(), *inputs)


def test_third_derivative_matches_torch():
    """The input gradients are convolutions again, so the graph extends past order two."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        x, w, b = _inputs(lib, _arrays("groups_dilation_mixed"), "float64")
        out = _conv(lib, "groups_dilation_mixed", [x, w, b])
        (gx,) = lib.autograd.grad((out**3).sum(), [x], create_graph=True)
        (gw,) = lib.autograd.grad((gx * gx).sum(), [w], create_graph=True)
        (gxx,) = lib.autograd.grad((gw * gw).sum(), [x])
        results.append(_to_numpy(lib, gxx))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9)


def test_wgan_style_penalty_through_conv_modules_matches_torch():
    """A gradient penalty on a small encoder-decoder (Conv2d, tanh, ConvTranspose2d): the
    parameters' gradients after loss.backward() equal PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    grads, state = [], None
    for lib in (cr, torch):
        model = lib.nn.Sequential(
            lib.nn.Conv2d(2, 4, 3, stride=2, padding=1),
            lib.nn.Tanh(),
            lib.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
        )
        if state is None:
            state = {k: np.array(v) for k, v in model.state_dict().items()}
        else:  # PyTorch's model gets chainrule's weights
            model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
        x = lib.tensor(images, requires_grad=True)
        out = model(x)
        (grad_x,) = lib.autograd.grad(out.sum(), [x], create_graph=True)
        loss = (out**2).mean() + ((grad_x**2).sum() - 1) ** 2
        loss.backward()
        grads.append([_to_numpy(lib, p.grad) for p in model.parameters()])
    for mine, expected in zip(*grads):
        np.testing.assert_allclose(mine, expected, rtol=1e-4, atol=1e-4)
