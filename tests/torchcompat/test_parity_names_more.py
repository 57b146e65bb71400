"""grad_fn names of composites that now match torch 2.13 (var/var_mean/std_mean, addmm and its
kin, sort/topk/cummax/cummin, ``2 / x``, ``sum``/``mean`` with ``dim=None``, ``square``), with
their values and gradients against PyTorch's and float64 finite differences."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(5)
_X = _RNG.standard_normal((3, 4))
_M = _RNG.standard_normal((4, 2))

CASES = [
    "x.var()", "x.var(0)", "x.var(1, keepdim=True)", "x.var(correction=0)", "L.var(x, dim=None)",
    "x.std()", "L.var_mean(x)[0]", "L.var_mean(x)[1]", "L.var_mean(x, 1, keepdim=True)[0]",
    "L.var_mean(x, dim=0)[1]", "L.std_mean(x)[0]", "L.std_mean(x, 1)[1]",
    "L.addmm(b, x, m)", "L.addmm(b[0], x, m, beta=0.5, alpha=2)", "b.addmm(x, m, alpha=-1)",
    "L.baddbmm(b, x[None], m[None])", "L.addcmul(x, x, x, value=0.5)", "L.addcdiv(x, x, x + 3)",
    "x.sort()[0]", "x.sort(0, descending=True).values", "L.sort(x, 1)[0]", "L.msort(x)",
    "x.topk(2)[0]", "L.topk(x, 2, dim=0, largest=False).values", "x.cummax(0)[0]",
    "L.cummin(x, 1).values", "2 / x", "2.5 / x", "1 / x", "-3 / x", "x / 2",
    "x.sum()", "x.sum(None)", "x.sum(dim=None)", "x.sum(dim=None, keepdim=True)", "x.sum(())",
    "L.sum(x)", "L.sum(x, None)", "x.sum(0)", "x.mean()", "x.mean(None)", "L.mean(x, dim=None)",
    "x.mean(dtype=L.float64)", "x.sum(dtype=L.float64)", "L.square(x)", "x.square()",
]  # fmt: skip


def _scope(lib):
    x = lib.tensor(_X, dtype=lib.float64, requires_grad=True)
    m = lib.tensor(_M, dtype=lib.float64, requires_grad=True)
    b = lib.tensor(_X[:, :2], dtype=lib.float64, requires_grad=True)
    return {"L": lib, "x": x, "m": m, "b": b}


@pytest.mark.parametrize("code", CASES)
def test_names_values_and_gradients_match_torch(code):
    results = []
    for lib in (torch, cr):
        scope = _scope(lib)
        y = eval(code, scope)
        weights = np.linspace(-1, 2, y.numel()).reshape(tuple(y.shape))
        weights = lib.tensor(weights, dtype=lib.float64)
        (y * weights).sum().backward()
        grads = [scope[k].grad for k in ("x", "m", "b")]
        grads = [None if g is None else g.numpy().copy() for g in grads]
        results.append((y.grad_fn.name(), y.detach().numpy(), grads))
    (name_t, value_t, grads_t), (name_c, value_c, grads_c) = results
    assert name_c == name_t
    np.testing.assert_allclose(value_c, value_t, rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(grads_c, grads_t):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "code", ["x.var(1)", "L.var_mean(x, 0)[0]", "L.std_mean(x)[0]", "L.addmm(b, x, m)", "2 / x"]
)
def test_renamed_composites_pass_gradcheck_and_gradgradcheck(code):
    def fn(x, m, b):
        return eval(code, {"L": cr, "x": x, "m": m, "b": b})

    scope = _scope(cr)
    inputs = (scope["x"], scope["m"], scope["b"])
    assert cr.gradcheck(fn, *inputs)
    assert cr.gradgradcheck(lambda x, m, b: fn(x, m, b) * x[:, :2].sum(), *inputs)


def test_number_over_tensor_rounds_as_torch_bit_for_bit():
    """PyTorch computes ``3 / x`` as ``x.reciprocal() * 3``: its values and gradients differ from
    a plain division in the last bit for about a third of float32 inputs."""
    a = np.random.default_rng(0).standard_normal(20000).astype(np.float32)
    seed = a[::-1].copy()
    x, y = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    out_t, out_c = 3 / x, 3 / y
    out_t.backward(torch.tensor(seed))
    out_c.backward(cr.tensor(seed))
    np.testing.assert_array_equal(out_c.detach().numpy(), out_t.detach().numpy())
    np.testing.assert_array_equal(y.grad.numpy(), x.grad.numpy())


@pytest.mark.parametrize("values", [[1, 2, 0], [True, False], [-3, 4]])
def test_number_over_integer_tensor_is_float_as_torch(values):
    ours, theirs = 2 / cr.tensor(values), 2 / torch.tensor(values)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
