"""nn.utils against torch.nn.utils: parameters_to_vector on the graph, vector_to_parameters."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(values, dtype="float64"):
    ours = [cr.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    theirs = [torch.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    return ours, theirs


def test_parameters_to_vector_is_differentiable_as_torch():
    values = [[1.0, 2.0], [[3.0, -1.0], [0.5, 4.0]]]
    ours, theirs = _pair(values)
    for lib, params in ((cr, ours), (torch, theirs)):
        vec = lib.nn.utils.parameters_to_vector(params)
        weights = lib.tensor(np.arange(6.0))
        (params[0].sum() + (vec**2 * weights).sum()).backward()
    assert ours[0].grad.tolist() == theirs[0].grad.tolist() == [1.0, 5.0]
    np.testing.assert_array_equal(np.asarray(ours[1].grad), theirs[1].grad.numpy())


def test_parameters_to_vector_values_and_dtype_promotion():
    ours = [cr.tensor([1.0, 2.0]), cr.tensor([3.0], dtype="float64", requires_grad=True)]
    theirs = [torch.tensor([1.0, 2.0]), torch.tensor([3.0], dtype=torch.float64)]
    vec = cr.nn.utils.parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    assert vec.tolist() == expected.tolist() and str(vec.dtype) == "float64"
    assert vec.requires_grad
    # a copy: changing the vector leaves the parameters alone
    vec.data[0] = 9.0
    assert ours[0].tolist() == [1.0, 2.0]


def test_vector_to_parameters_copies_values_as_torch():
    ours, theirs = _pair([[1.0, 2.0], [[3.0], [4.0]]])
    vec = np.array([5.0, 6.0, 7.0, 8.0])
    cr.nn.utils.vector_to_parameters(cr.tensor(vec), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), theirs)
    for a, b in zip(ours, theirs):
        assert a.tolist() == b.tolist() and a.is_leaf and a.requires_grad
    assert cr.nn.utils.parameters_to_vector(ours).tolist() == vec.tolist()


def test_vector_to_parameters_refuses_what_torch_would_do_differently():
    ours, _ = _pair([[1.0, 2.0]], dtype="float32")
    with pytest.raises(cr.ShapeError, match="length 2"):
        cr.nn.utils.vector_to_parameters(cr.zeros(3), ours)
    # torch would turn the float32 parameter into float64 (param.data = vec[...])
    with pytest.raises(cr.DTypeError, match="vec.to"):
        cr.nn.utils.vector_to_parameters(cr.zeros(2, dtype="float64"), ours)


# ---- clip_grad_norm_, get_total_norm, clip_grads_with_norm_ ----------------------------------
NAN, INF = float("nan"), float("inf")


def _dtype(lib, name):
    return getattr(torch, name) if lib is torch else name


def _with_grads(lib, grads, dtype="float32"):
    params = []
    for g in grads:
        g = np.asarray(g, dtype=dtype)
        p = lib.tensor(np.zeros_like(g), dtype=_dtype(lib, dtype), requires_grad=True)
        p.grad = lib.tensor(g, dtype=_dtype(lib, dtype))
        params.append(p)
    return params


def _clip(lib, grads, dtype="float32", **options):
    params = _with_grads(lib, grads, dtype)
    try:
        total = lib.nn.utils.clip_grad_norm_(params, **options)
        outcome = (float(total), str(total.dtype).replace("torch.", ""))
    except RuntimeError as err:  # PyTorch's class; chainrule's NonFiniteError is one too
        outcome = "RuntimeError"
        assert lib is torch or isinstance(err, (cr.NonFiniteError, FloatingPointError))
    return outcome, [np.asarray(p.grad.tolist(), dtype=dtype) for p in params]


CLIP_CASES = [
    ([[1.0, NAN], [2.0]], {"max_norm": 1.0}),  # a NaN norm makes every gradient NaN
    ([[1.0, NAN], [2.0]], {"max_norm": 1.0, "norm_type": INF}),
    ([[1.0, NAN], [2.0]], {"max_norm": 1.0, "norm_type": -INF}),
    ([[1.0, INF], [2.0]], {"max_norm": 1.0, "norm_type": INF}),  # coefficient 0, inf·0 = NaN
    ([[3e38, 3e38]], {"max_norm": 1.0}),  # the float32 norm overflows: grads times 0
    ([[3e38, 3e38]], {"max_norm": 1.0, "error_if_nonfinite": True}),
    ([[1e20], [1e20]], {"max_norm": 1.0}),  # each norm is finite, their joint norm is not
    ([[1e20]], {"max_norm": 1.0}),  # one element is its own norm (no overflow)
    ([[1.0, 0.0, 2.0], [0.0, 3.0]], {"max_norm": 1.0, "norm_type": 0}),  # counts tensors: 2
    ([[1.0, 0.0, 2.0], [0.0, 3.0]], {"max_norm": 10.0, "norm_type": 0}),
    ([[0.0, 0.0]], {"max_norm": 1.0, "norm_type": 0}),
    ([[0.0, 0.0]], {"max_norm": 1.0}),
    ([[1.0, 0.0, 2.0], [0.0, 3.0]], {"max_norm": 1.0, "norm_type": -1}),
    ([[1.0, -2.0, 0.5], [3.0, 0.25]], {"max_norm": 1.0, "norm_type": 3.5}),
    ([[1.0, -2.0, 0.5], [3.0, 0.25]], {"max_norm": 100.0, "norm_type": 0.5}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("grads", "options"), CLIP_CASES)
def test_clip_grad_norm_matches_torch_at_the_edges(grads, options, dtype):
    (ours, our_grads), (theirs, their_grads) = (
        _clip(lib, grads, dtype, **options) for lib in (cr, torch)
    )
    if isinstance(theirs, tuple):
        assert ours[1] == theirs[1]
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    else:
        assert ours == theirs
    for a, b in zip(our_grads, their_grads):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_clip_grad_norm_of_mixed_dtypes_is_in_the_promoted_dtype():
    grads = [np.ones(2, np.float32), 2 * np.ones(1, np.float64)]
    results = []
    for lib in (cr, torch):
        params = [lib.tensor(g * 0, dtype=_dtype(lib, str(g.dtype)), requires_grad=True)
                  for g in grads]  # fmt: skip
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g, dtype=p.dtype)
        total = lib.nn.utils.clip_grad_norm_(params, 1.0)
        results.append((float(total), str(total.dtype)[-7:], [p.grad.tolist() for p in params]))
    assert results[0] == results[1]


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(4, 3), (5,), ()]]
    for norm_type in (2.0, 1.0, 3.0, INF, -INF, 0):
        ours = cr.nn.utils.get_total_norm([cr.tensor(g, dtype="float64") for g in grads], norm_type)
        theirs = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-12)
    ours, theirs = _with_grads(cr, grads, "float64"), _with_grads(torch, grads, "float64")
    cr.nn.utils.clip_grads_with_norm_(ours, 0.5, cr.tensor(3.0, dtype="float64"))
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.5, torch.tensor(3.0, dtype=torch.float64))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-15)
    assert float(cr.nn.utils.get_total_norm([])) == float(torch.nn.utils.get_total_norm([]))
    assert float(cr.nn.utils.clip_grad_norm_([cr.zeros(2, requires_grad=True)], 1.0)) == 0.0


def test_a_non_finite_norm_error_is_caught_as_torch_users_catch_it():
    params = _with_grads(cr, [[1.0, NAN]])
    for expected in (RuntimeError, FloatingPointError, cr.NonFiniteError, cr.ChainruleError):
        with pytest.raises(expected, match="error_if_nonfinite=False"):
            cr.nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert np.isnan(params[0].grad.tolist()[1]) and params[0].grad.tolist()[0] == 1.0
