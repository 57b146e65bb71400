"""max_pool3d and avg_pool3d against PyTorch (values, gradients, indices; ties and NaN) and
float64 finite differences; argument errors."""

import numpy as np
import pytest
from op_check import case, check_case, ids

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

VOLUME = [((2, 3, 5, 6, 7),)]
UNBATCHED = [((3, 6, 5, 7),)]


def pool(name, **options):
    return (
        lambda x: getattr(F, name)(x, **options),
        lambda t: getattr(TF, name)(t, **options),
    )


MAX_OPTIONS = {
    "k2": dict(kernel_size=2),
    "k3_s2_p1": dict(kernel_size=3, stride=2, padding=1),
    "mixed": dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=(1, 1, 1), ceil_mode=True),
    "dilated": dict(kernel_size=(2, 2, 3), stride=1, dilation=(2, 1, 2)),
    "ceil": dict(kernel_size=(2, 3, 2), stride=(3, 2, 2), ceil_mode=True),
}
AVG_OPTIONS = {
    "k2": dict(kernel_size=2),
    "k3_s2_p1": dict(kernel_size=3, stride=2, padding=1),
    "exclude_pad": dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    "ceil_exclude": dict(
        kernel_size=(3, 2, 3), stride=2, padding=(1, 0, 1), ceil_mode=True, count_include_pad=False
    ),
    "ceil_include": dict(kernel_size=(2, 3, 2), stride=(3, 2, 2), ceil_mode=True),
    "divisor": dict(kernel_size=(2, 3, 1), stride=1, padding=(1, 1, 0), divisor_override=3),
}

CASES = [
    *[
        c
        for k, o in MAX_OPTIONS.items()
        for c in case(f"max_{k}", *pool("max_pool3d", **o), VOLUME)
    ],
    *[
        c
        for k, o in AVG_OPTIONS.items()
        for c in case(f"avg_{k}", *pool("avg_pool3d", **o), VOLUME)
    ],
    *case("max_unbatched", *pool("max_pool3d", kernel_size=2, padding=1), UNBATCHED),
    *case("avg_unbatched", *pool("avg_pool3d", kernel_size=2, padding=1), UNBATCHED),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_against_torch_and_finite_differences(c, dtype):
    check_case(c, dtype)


@pytest.mark.parametrize("options", list(MAX_OPTIONS.values()), ids=list(MAX_OPTIONS))
def test_ties_and_nan_route_the_gradient_as_pytorch_and_indices_match(options):
    """0/1 values tie in almost every window: the gradient must reach the first maximum in
    (depth, row, column) order, as PyTorch's; a NaN wins its windows."""
    x = np.random.default_rng(0).integers(0, 2, (2, 2, 5, 6, 7)).astype(np.float32)
    x[0, 0, 1, 2, 3] = np.nan
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, indices = F.max_pool3d(ours, **options, return_indices=True)
    expected, expected_indices = TF.max_pool3d(theirs, **options, return_indices=True)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == np.int64
    upstream = np.random.default_rng(1).integers(1, 5, out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())  # integers: exact


def test_second_derivatives_match_finite_differences():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((1, 2, 4, 4, 4)), dtype="float64", requires_grad=True)
    assert gradgradcheck(lambda t: (F.avg_pool3d(t, 2, 1, 1) ** 2).sum(), x)
    assert gradgradcheck(lambda t: (F.max_pool3d(t, 3, 2, 1) ** 2).sum(), x)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.max_pool3d(cr.ones(2, 4, 4), 2), cr.ShapeError, r"\(N, C, D, H, W\)"),
        (lambda: F.max_pool3d(cr.ones(1, 1, 4, 4, 4), (2, 2)), ValueError, "triple"),
        (lambda: F.max_pool3d(cr.ones(1, 1, 4, 4, 4), 2, padding=2), cr.ShapeError, "half"),
        (lambda: F.max_pool3d(cr.ones(1, 1, 1, 4, 4), 2), cr.ShapeError, "depth 1"),
        (
            lambda: F.avg_pool3d(cr.ones(1, 1, 4, 4, 4), 2, divisor_override=0),
            ValueError,
            "divisor_override",
        ),
        (
            lambda: F.avg_pool3d(cr.tensor(np.ones((1, 1, 2, 2, 2), int)), 2),
            cr.DTypeError,
            "floating-point",
        ),
    ],
)
def test_bad_arguments_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize(
    "name, options",
    [
        ("max_pool3d", dict(kernel_size=2)),
        ("avg_pool3d", dict(kernel_size=(2, 3, 1), stride=1, padding=(1, 1, 0))),
    ],
)
def test_one_pooling_node_named_as_pytorchs(name, options, batched):
    """One op reads the input (no per-tap gather, 2-D pool and combine), under PyTorch's name."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5, 4)[0 if batched else 1 :])
    ours = getattr(F, name)(cr.tensor(x, requires_grad=True), **options)
    theirs = getattr(TF, name)(torch.tensor(x, requires_grad=True), **options)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert [type(n).__name__ for n, _ in ours.grad_fn.next_functions] == ["AccumulateGrad"]


def test_several_nans_in_a_window_route_the_gradient_and_indices_as_pytorch():
    x = np.random.default_rng(3).standard_normal((1, 1, 4, 4, 4))
    x[0, 0, 0, 0, 1] = x[0, 0, 1, 1, 0] = x[0, 0, 3, 2, 2] = np.nan
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, indices = F.max_pool3d(ours, 2, return_indices=True)
    expected, expected_indices = TF.max_pool3d(theirs, 2, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("name", ["max_pool3d", "avg_pool3d"])
def test_second_derivatives_match_torch(name):
    """Hessian-vector products of Σ v·pool(x)³ against PyTorch's."""
    x = np.random.default_rng(4).standard_normal((2, 2, 4, 5, 4))
    v = np.random.default_rng(5).standard_normal((2, 2, 3, 3, 2))  # the output's shape
    u = np.random.default_rng(6).standard_normal(x.shape)
    results = []
    for lib, fn in ((cr, F), (torch, TF)):
        t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        out = getattr(fn, name)(t, kernel_size=(2, 3, 2), stride=(2, 1, 2), padding=(1, 0, 0))
        (g,) = lib.autograd.grad(
            (lib.tensor(v, dtype=lib.float64) * out**3).sum(), [t], create_graph=True
        )
        (hvp,) = lib.autograd.grad((g * lib.tensor(u, dtype=lib.float64)).sum(), [t])
        results.append((g.detach().numpy(), hvp.numpy()))
    for mine, expected in zip(*results):
        np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-10)
