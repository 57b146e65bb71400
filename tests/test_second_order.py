"""Gradients of gradients: autograd.grad(create_graph=True), gradgradcheck, against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.function import Function
from chainrule.nn.embedding import PaddedLookup
from chainrule.testing import GradcheckError, gradgradcheck


def _t(values, grad=True):
    return cr.tensor(values, dtype="float64", requires_grad=grad)


_RNG = np.random.default_rng(3)
_A = _RNG.uniform(0.5, 1.5, (2, 3))
_B = _RNG.uniform(0.5, 1.5, (2, 3))
_M = _RNG.standard_normal((3, 4))
_IMAGE = _RNG.standard_normal((2, 3, 5, 6))  # (N, C, H, W) for pooling and convolution

# name -> (function of tensors, input arrays): every op with a tensor backward
CATALOGUE = {
    "add": (lambda a, b: (a + b) ** 2, (_A, _B)),
    "sub": (lambda a, b: (a - b) ** 3, (_A, _B)),
    "mul": (lambda a, b: a * b * a, (_A, _B)),
    "div": (lambda a, b: a / b, (_A, _B)),
    "neg": (lambda a: -(a**3), (_A,)),
    "pow_scalar": (lambda a: a**3.5, (_A,)),
    "exp": (lambda a: (a * 0.7).exp(), (_A,)),
    "log": (lambda a: (a * a).log(), (_A,)),
    "sqrt": (lambda a: (a * a + 1).sqrt(), (_A,)),
    "abs": (lambda a: (a - 1).abs() * a, (_A,)),
    "broadcast": (lambda a, b: a * b[0] * b[0], (_A, _B)),
    "broadcast_add_sub_div": (lambda a, b: (a + b[0]) * (a - b[:, :1]) / b[1], (_A, _B)),
    "clone": (lambda a: a.clone() * a, (_A,)),
    # (PyTorch's // has no derivative; div(rounding_mode="floor") has gradient 0)
    "div_floor": (lambda a, b: cr.div(a * 3, b, rounding_mode="floor") * a * b, (_A, _B)),
    # PyTorch has no second derivative of cdist, and no padding_idx lookup op on its own
    "cdist": (lambda a, b: cr.cdist(a * a, b[:1] * b[:1] + 0.3) ** 2, (_A, _B)),
    "cdist_p1": (lambda a, b: cr.cdist(a * a, b * a + 0.1, p=1) * a[:, :2], (_A, _B)),
    "cdist_inf": (lambda a, b: cr.cdist(a * a, b, p=float("inf")) ** 2, (_A, _B)),
    "embedding_padding": (
        lambda a: PaddedLookup.apply(a * a, ids=np.array([[2, 0], [1, 2]]), padding_idx=0) ** 2,
        (_B.T,),
    ),
    "matmul": (lambda a, m: (a @ m) ** 2, (_A, _M)),
    "linear": (lambda a, b: cr.ops.linear(a, b, b[:, 0]) ** 2, (_A, _B)),
    "sum": (lambda a: (a**2).sum(axis=1) ** 2, (_A,)),
    "mean": (lambda a: (a**2).mean(axis=0, keepdims=True) ** 2, (_A,)),
    "reshape": (lambda a: (a**2).reshape(3, 2) ** 2, (_A,)),
    "permute": (lambda a: (a**2).T @ a, (_A,)),
    "sigmoid": (lambda a: (a * 2 - 1).sigmoid() * a, (_A,)),
    "tanh": (lambda a: (a * 2 - 1).tanh() * a, (_A,)),
    "relu": (lambda a: (a - 1).relu() * a, (_A,)),
    "mse": (lambda a, b: cr.nn.functional.mse_loss(a * a, b), (_A, _B)),
    "bce_logits": (
        lambda a, b: cr.nn.functional.binary_cross_entropy_with_logits(a * a, b / 2),
        (_A, _B),
    ),
    "cross_entropy": (lambda a: cr.nn.functional.cross_entropy(a * a, [0, 2]), (_A,)),
}


# name -> (function of the library (chainrule or torch) and tensors, input arrays): checked by
# gradgradcheck and against PyTorch's gradients and Hessian-vector products
TORCH_CATALOGUE = {
    "elu": (lambda lib, a: lib.nn.functional.elu(a * a - 1, 0.7) * a, (_A,)),
    "gelu": (lambda lib, a: lib.nn.functional.gelu(a * a - 1) * a, (_A,)),
    "gelu_tanh": (lambda lib, a: lib.nn.functional.gelu(a - 1, approximate="tanh") * a, (_A,)),
    "softplus": (lambda lib, a: lib.nn.functional.softplus(a * a - 1) * a, (_A,)),
    "softplus_beta": (lambda lib, a: lib.nn.functional.softplus(a * 4, 2.0, 3.0) * a, (_A,)),
    "silu": (lambda lib, a: lib.nn.functional.silu(a * a - 1) * a, (_A,)),
    "log_sigmoid": (lambda lib, a: lib.nn.functional.logsigmoid(a * a - 1) * a, (_A,)),
    "hardtanh": (lambda lib, a: lib.nn.functional.hardtanh(a * 2 - 1) * a * a, (_A,)),
    "sin": (lambda lib, a: lib.sin(a * a), (_A,)),
    "cos": (lambda lib, a: lib.cos(a * a), (_A,)),
    "tan": (lambda lib, a: lib.tan(a - 0.5) * a, (_A,)),
    "sinh": (lambda lib, a: lib.sinh(a * a), (_A,)),
    "cosh": (lambda lib, a: lib.cosh(a * a), (_A,)),
    "atan": (lambda lib, a: lib.atan(a * a), (_A,)),
    "asin": (lambda lib, a: lib.asin(a - 1) * a, (_A,)),
    "acos": (lambda lib, a: lib.acos(a - 1) * a, (_A,)),
    "atan2": (lambda lib, a, b: lib.atan2(a - 1, b * b), (_A, _B)),
    "reciprocal": (lambda lib, a: lib.reciprocal(a * a), (_A,)),
    "rsqrt": (lambda lib, a: lib.rsqrt(a * a + 1), (_A,)),
    "expm1": (lambda lib, a: lib.expm1(a * a), (_A,)),
    "erf": (lambda lib, a: lib.erf(a * a - 1), (_A,)),
    "nan_to_num": (lambda lib, a: lib.nan_to_num(a * a), (_A,)),
    "floor_sign": (lambda lib, a: (lib.floor(a * 3) + lib.sign(a - 1)) * a * a, (_A,)),
    "softmax": (lambda lib, a: lib.softmax(a * a * 3, dim=1) * a, (_A,)),
    "softmax_dim0": (lambda lib, a: lib.softmax(a * a, dim=0), (_A,)),
    "log_softmax": (lambda lib, a: lib.log_softmax(a * a * 3, dim=1) * a, (_A,)),
    "log_softmax_dim0": (lambda lib, a: lib.log_softmax(a * a, dim=0), (_A,)),
    "logsumexp": (lambda lib, a: lib.logsumexp(a * a, dim=1) * a[:, 0], (_A,)),
    "logsumexp_all": (lambda lib, a: lib.logsumexp(a * a, dim=(0, 1), keepdim=True), (_A,)),
    "max": (lambda lib, a: lib.max(a * a) * a, (_A,)),
    "min": (lambda lib, a: lib.min(a * a) * a, (_A,)),
    "amax": (lambda lib, a: lib.amax(a * a, dim=1) * a[:, 0], (_A,)),
    "amin": (lambda lib, a: lib.amin(a * a, dim=0, keepdim=True) * a, (_A,)),
    "std": (lambda lib, a: lib.std(a * a, dim=1) * a[:, 0], (_A,)),
    "std_all": (lambda lib, a: lib.std(a * a, correction=0), (_A,)),
    "pow_tensor": (lambda lib, a, b: (a * a) ** (b - 0.5), (_A, _B)),
    "pow_tensor_broadcast": (lambda lib, a, b: a ** b[0], (_A, _B)),
    "clamp": (lambda lib, a: lib.clamp(a * a, 0.6, 1.2) * a, (_A,)),
    "clamp_min": (lambda lib, a: lib.clamp(a * a, min=0.8) ** 2, (_A,)),
    "clamp_tensor_bounds": (
        lambda lib, a, b: lib.clamp(a * a, min=b * 0.9, max=b * b + 0.2) * a * b,
        (_A, _B),
    ),
    "maximum": (lambda lib, a, b: lib.maximum(a * a, b[0]) * b[0], (_A, _B)),
    "minimum": (lambda lib, a, b: lib.minimum(a * b, b * b) ** 2, (_A, _B)),
    "maximum_tie": (lambda lib, a: lib.maximum(a * a, a * a) * a, (_A,)),
    "where": (lambda lib, a, b: lib.where(a > b, a * b, b * b) * a, (_A, _B)),
    "max_tie": (lambda lib, a: lib.max(lib.cat([a, a]) ** 2), (_A,)),
    "expand": (lambda lib, a: (a[:1] * a[:1]).expand(4, 3) * _A[1].sum(), (_A,)),
    "cat": (lambda lib, a, b: lib.cat([a * a, b, a * b], dim=1) ** 2, (_A, _B)),
    "cat_dim0": (lambda lib, a, b: lib.cat([a * b, b[:1] * b[:1]]) ** 2, (_A, _B)),
    "stack": (lambda lib, a, b: lib.stack([a * a, a * b], dim=1) ** 2, (_A, _B)),
    "stack_last": (lambda lib, a, b: lib.stack([a * a, b], dim=-1) ** 2, (_A, _B)),
    "pad": (lambda lib, a: lib.nn.functional.pad(a * a, (1, 2, 0, 1)) ** 2, (_A,)),
    "roll": (lambda lib, a: lib.roll(a * a, 1, 1) * a, (_A,)),
    "roll_flat": (lambda lib, a: lib.roll(a * a, 2) * a, (_A,)),
    "repeat": (lambda lib, a: (a * a).repeat(2, 1, 2) ** 2, (_A,)),
    "tril": (lambda lib, a: lib.tril(a * a, 1) * a, (_A,)),
    "triu": (lambda lib, a: lib.triu(a * a) * a, (_A,)),
    "norm2": (lambda lib, a: lib.norm(a * a - 1, dim=1) * a[:, 0], (_A,)),
    "norm2_all": (lambda lib, a: lib.norm(a * a - 1) * a, (_A,)),
    "norm1": (lambda lib, a: lib.norm(a * a - 1, p=1, dim=0) ** 2, (_A,)),
    "norm_inf": (
        lambda lib, a: lib.norm(a * a - 1, p=float("inf"), dim=1) ** 2,
        (_A,),
    ),
    "normalize": (lambda lib, a: lib.nn.functional.normalize(a * a - 1) * a, (_A,)),
    "cosine_similarity": (
        lambda lib, a, b: lib.nn.functional.cosine_similarity(a * a - 1, b * a) * a[:, 0],
        (_A, _B),
    ),
    "gather": (lambda lib, a: lib.gather(a * a, 1, lib.tensor([[0, 2, 2], [1, 0, 1]])) ** 2, (_A,)),
    "scatter": (
        lambda lib, a, b: lib.scatter(a * b, 1, lib.tensor([[2], [0]]), b[:, 1:2] * a[:, 1:2]) ** 2,
        (_A, _B),
    ),
    "index_select": (lambda lib, a: lib.index_select(a * a, 1, lib.tensor([2, 0, 2])) ** 2, (_A,)),
    "masked_fill": (lambda lib, a, b: lib.masked_fill(a * b, a > b, 0.5) ** 2, (_A, _B)),
    "cumsum": (lambda lib, a: lib.cumsum(a * a, 1) ** 2, (_A,)),
    "cumsum_dim0": (lambda lib, a: lib.cumsum(a * a, 0) * a, (_A,)),
    "prod": (lambda lib, a: lib.prod(a * a - 1, 1) * a[:, 0], (_A,)),
    "prod_keepdim": (lambda lib, a: lib.prod(a - 1, 0, keepdim=True) * a, (_A,)),
    "prod_all": (lambda lib, a: lib.prod(a * a), (_A,)),
    "max_pool2d": (lambda lib, x: lib.nn.functional.max_pool2d(x * x, 2) ** 2, (_IMAGE,)),
    "max_pool2d_overlap_pad": (
        lambda lib, x: lib.nn.functional.max_pool2d(x * x, 3, 2, 1, dilation=(1, 2)) * 2,
        (_IMAGE,),
    ),
    "max_pool1d": (lambda lib, x: lib.nn.functional.max_pool1d(x[0] ** 3, 2) ** 2, (_IMAGE,)),
    "avg_pool2d": (lambda lib, x: lib.nn.functional.avg_pool2d(x * x, 2) ** 2, (_IMAGE,)),
    "avg_pool2d_overlap_pad": (
        lambda lib, x: (
            lib.nn.functional.avg_pool2d(x * x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
            ** 2
        ),
        (_IMAGE,),
    ),
    "adaptive_avg_pool2d": (
        lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x * x, (2, 3)) ** 2,
        (_IMAGE,),
    ),
    "binary_cross_entropy": (
        lambda lib, a, b: lib.nn.functional.binary_cross_entropy(lib.sigmoid(a * b), b / 2),
        (_A, _B),
    ),
    "binary_cross_entropy_weight_none": (
        lambda lib, a, b: lib.nn.functional.binary_cross_entropy(
            lib.sigmoid(a - b),
            a / 2,
            weight=lib.tensor(_B[0], dtype=lib.float64),
            reduction="none",
        ),
        (_A, _B),
    ),
    "cross_entropy_probs": (
        lambda lib, a, b: lib.nn.functional.cross_entropy(a * a * 3, b / b.sum(1, keepdim=True)),
        (_A, _B),
    ),
    "cross_entropy_probs_smoothed_weighted": (
        lambda lib, a, b: lib.nn.functional.cross_entropy(
            a * b,
            b * b,
            weight=lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64),
            label_smoothing=0.2,
            reduction="none",
        ),
        (_A, _B),
    ),
    "cross_entropy_indices_weighted": (
        lambda lib, a: lib.nn.functional.cross_entropy(
            a * a, lib.tensor([2, 1]), weight=lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64)
        ),
        (_A,),
    ),
    "cross_entropy_indices_smoothed_sum": (
        lambda lib, a: lib.nn.functional.cross_entropy(
            (a * a).T.reshape(1, 3, 2), lib.tensor([[0, 2]]), label_smoothing=0.1, reduction="sum"
        ),
        (_A,),
    ),
    "kl_div": (
        lambda lib, a, b: lib.nn.functional.kl_div(
            lib.log_softmax(a * a, 1), b * b, reduction="batchmean"
        ),
        (_A, _B),
    ),
    "kl_div_log_target": (
        lambda lib, a, b: lib.nn.functional.kl_div(a * b, b - a, reduction="none", log_target=True),
        (_A, _B),
    ),
    "remainder": (lambda lib, a, b: lib.remainder(a * a * 3, b * b) ** 2, (_A, _B)),
    "fmod": (lambda lib, a, b: lib.fmod(a * a * 3 - 2, b * b) ** 2, (_A, _B)),
    "median": (lambda lib, a: lib.median(a * a) * a, (_A,)),
    "max_dim": (lambda lib, a: lib.max(a * a, dim=1).values * a[:, 0], (_A,)),
    "min_dim_keepdim": (lambda lib, a: lib.min(a * a, 0, keepdim=True).values * a, (_A,)),
    "diag_embed": (lambda lib, a: lib.diag(a[0] * a[0], 1) ** 2, (_A,)),
    "diag": (lambda lib, a: lib.diag(a * a, -1) ** 2, (_A,)),
    "diagonal": (
        lambda lib, a: lib.diagonal((a * a).reshape(1, 2, 3), 1, 2, 1) ** 2,
        (_A,),
    ),
    "einsum": (lambda lib, a, m: lib.einsum("ij,jk,ij->ik", a, m, a) ** 2, (_A, _M)),
    "einsum_sum": (lambda lib, a, b: lib.einsum("ij,ij->", a * a, b), (_A, _B)),
    "cumprod": (lambda lib, a: lib.cumprod(a * a, 1) ** 2, (_A,)),
    "cumprod_zero": (
        lambda lib, a: lib.cumprod(a * lib.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), 1) * a,
        (_A,),
    ),
    "cosine_similarity_eps": (
        lambda lib, a, b: lib.nn.functional.cosine_similarity(a * 1e-3, b, dim=0, eps=0.5) * b,
        (_A, _B),
    ),
}


# PyTorch's second derivative of binary_cross_entropy adds ε = 1e-12 to p and to 1 − p (ours
# is the exact derivative of the first): a few 1e-12 apart
_LOOSER_ATOL = {"binary_cross_entropy_weight_none": 1e-10}


def _torch_lib(lib):
    return lib.__name__ == "torch"


def _first_and_second_derivatives(lib, fn, arrays, seed=5):
    """∂(v·fn)/∂inputs and u·∂²(v·fn)/∂inputs² for fixed random v and u, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    v = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=lib.float64)
    grads = lib.autograd.grad((out * v).sum(), xs, create_graph=True)
    us = [lib.tensor(rng.standard_normal(a.shape), dtype=lib.float64) for a in arrays]
    dot = sum((g * u).sum() for g, u in zip(grads, us))
    hvs = lib.autograd.grad(dot, xs, allow_unused=True)
    numpy = (lambda t: t.detach().numpy()) if _torch_lib(lib) else (lambda t: t.detach().numpy())
    return [numpy(g) for g in grads], [
        np.zeros(a.shape) if h is None else numpy(h) for a, h in zip(arrays, hvs)
    ]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_gradgradcheck_over_the_op_catalogue(name):
    fn, arrays = CATALOGUE[name]
    assert gradgradcheck(fn, *[_t(a) for a in arrays])


@pytest.mark.parametrize("name", sorted(TORCH_CATALOGUE))
def test_gradgradcheck_over_the_torch_catalogue(name):
    fn, arrays = TORCH_CATALOGUE[name]
    assert gradgradcheck(lambda *xs: fn(cr, *xs), *[_t(a) for a in arrays])


@pytest.mark.parametrize("name", sorted(TORCH_CATALOGUE))
def test_hessian_vector_products_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, arrays = TORCH_CATALOGUE[name]
    ours = _first_and_second_derivatives(cr, fn, arrays)
    theirs = _first_and_second_derivatives(torch, fn, arrays)
    atol = _LOOSER_ATOL.get(name, 1e-12)
    for mine, expected in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=atol)


def test_second_derivatives_through_a_cast_to_float32_match_torch():
    torch = pytest.importorskip("torch")

    def fn(lib, a):
        return (a * a).to(lib.float32).sin().to(lib.float64) * a

    # float32 in the middle: finite differences need a larger step, and the results agree
    # with PyTorch's to float32's precision
    assert gradgradcheck(lambda a: fn(cr, a), _t(_A), eps=1e-3, atol=1e-3, rtol=1e-2)
    ours = _first_and_second_derivatives(cr, fn, (_A,))
    theirs = _first_and_second_derivatives(torch, fn, (_A,))
    for mine, expected in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(mine, expected, rtol=1e-5)


def test_hessian_vector_product_of_an_mlp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w1, w2 = (
        rng.standard_normal((5, 3)),
        rng.standard_normal((4, 3)),
        rng.standard_normal((1, 4)),
    )
    y = rng.standard_normal((5, 1))
    v1, v2 = rng.standard_normal(w1.shape), rng.standard_normal(w2.shape)

    def loss(lib, params):
        a, b = params
        hidden = lib.tanh(lib.nn.functional.linear(lib.tensor(x, dtype=lib.float64), a))
        out = lib.nn.functional.linear(hidden, b)
        return lib.nn.functional.mse_loss(out, lib.tensor(y, dtype=lib.float64))

    results = []
    for lib in (cr, torch):
        params = [lib.tensor(w, dtype=lib.float64, requires_grad=True) for w in (w1, w2)]
        grads = lib.autograd.grad(loss(lib, params), params, create_graph=True)
        dot = sum((g * lib.tensor(v, dtype=lib.float64)).sum() for g, v in zip(grads, (v1, v2)))
        hv = lib.autograd.grad(dot, params)
        results.append([np.asarray(h.detach().numpy() if lib is torch else h.array) for h in hv])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_gradient_penalty_trains_the_weights():
    w = _t([[0.5, -1.0], [2.0, 0.3]])
    x = _t([[1.0, 2.0]])
    (gx,) = cr.autograd.grad((cr.ops.linear(x, w).tanh() ** 2).sum(), [x], create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad_array))
    assert gradgradcheck(lambda a, b: (cr.ops.linear(a, b).tanh() ** 2).sum(), x, w)


def test_a_wrong_second_order_rule_is_caught():
    class Cube(Function):
        label = "cube"

        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, grad):
            return (grad * 3 * self.x**2,)

        def backward_graph(self, grad):
            (x,) = self.parents
            return (grad * 3 * x,)  # wrong: should be 3x²

    with pytest.raises(GradcheckError):
        gradgradcheck(lambda a: Cube.apply(a).sum(), _t([0.5, 1.5]))


def test_grad_outputs_that_depend_on_the_inputs_are_not_differentiated_as_torch():
    # Σ seed·out differentiated added ∂seed/∂x·out: 6x² for y = x², seed = 2x (PyTorch: 4x²)
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0, -3.0], requires_grad=True)
        y, seed = x * x, 2 * x
        (first,) = lib.autograd.grad(y, x, grad_outputs=seed, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), x)  # the seed stays in the graph
        results.append((first.tolist(), second.tolist()))
    assert results[0] == results[1]
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.errors.ShapeError, match="grad_outputs has shape"):
        cr.autograd.grad(x * x, x, grad_outputs=cr.ones(3), create_graph=True)
