"""quantile and nanquantile against PyTorch: values, shapes and gradients over q scalars and
vectors, dims, keepdim, every interpolation, ties and NaNs; errors; float64 finite differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradcheck

torch = pytest.importorskip("torch")


def arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    x[0, 1] = x[0, 3]  # a tie
    with_nans = x.copy()
    with_nans[1, 2] = np.nan
    with_nans[2, :] = np.nan  # an all-NaN row
    return {
        "plain": x,
        "nans": with_nans,
        "vector": rng.standard_normal(6),
        "scalar": np.array(2.5),
    }


QS = [0.5, 0.0, 1.0, 0.3, [0.25, 0.5, 0.9], np.array(0.4)]
INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


def as_q(q, lib, dtype):
    if isinstance(q, (list, np.ndarray)):
        return (
            cr.tensor(np.asarray(q), dtype=dtype)
            if lib is cr
            else torch.tensor(np.asarray(q), dtype=getattr(torch, dtype))
        )
    return q


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("which", ["plain", "nans", "vector", "scalar"])
def test_matches_torch_with_gradients(which, name, interpolation, dtype):
    array = arrays()[which].astype(dtype)
    rng = np.random.default_rng(1)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for q in QS:
        for dim in (None, 0, -1):
            for keepdim in (False, True):
                ours_in = cr.tensor(array, dtype=dtype, requires_grad=True)
                theirs_in = torch.tensor(array, requires_grad=True)
                ours = getattr(cr, name)(
                    ours_in, as_q(q, cr, dtype), dim, keepdim, interpolation=interpolation
                )
                theirs = getattr(torch, name)(
                    theirs_in, as_q(q, torch, dtype), dim, keepdim, interpolation=interpolation
                )
                where = f"q={q}, dim={dim}, keepdim={keepdim}"
                assert ours.shape == tuple(theirs.shape), where
                assert ours.dtype == np.dtype(dtype), where
                np.testing.assert_allclose(
                    ours.detach().numpy(), theirs.detach().numpy(), **tol, err_msg=where
                )
                upstream = rng.standard_normal(ours.shape).astype(dtype)
                ours.backward(cr.tensor(upstream, dtype=dtype))
                theirs.backward(torch.tensor(upstream))
                np.testing.assert_allclose(
                    ours_in.grad, theirs_in.grad.numpy(), **tol, err_msg=where
                )


def test_the_method_forms_match_the_functions():
    x = cr.tensor([[3.0, 1.0, float("nan")], [2.0, 5.0, 4.0]])
    assert x.quantile(0.5, 1).tolist()[1] == cr.quantile(x, 0.5, 1).tolist()[1] == 4.0
    assert x.nanquantile(0.5, dim=1, keepdim=True).tolist() == [[2.0], [4.0]]


def test_gradients_pass_float64_finite_differences():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((4, 5)), dtype="float64", requires_grad=True)
    q = cr.tensor([0.1, 0.5, 0.77], dtype="float64")
    assert gradcheck(lambda t: cr.quantile(t, q, dim=1) ** 2, x)
    assert gradcheck(lambda t: cr.nanquantile(t, 0.35, interpolation="midpoint"), x)
    assert gradcheck(lambda t: t.quantile(0.6, 0, keepdim=True, interpolation="nearest"), x)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.quantile(lib.tensor([1.0, 2.0]), 1.5),
        lambda lib: lib.quantile(lib.tensor([1.0, 2.0]), -0.1),
        lambda lib: lib.quantile(lib.tensor([1, 2]), 0.5),
        lambda lib: lib.quantile(lib.zeros(0), 0.5),
        lambda lib: lib.quantile(lib.tensor([1.0, 2.0]), lib.tensor([[0.5]])),
        lambda lib: lib.quantile(lib.tensor([1.0, 2.0]), lib.tensor([0.5], dtype=lib.float64)),
        lambda lib: lib.quantile(lib.tensor([1.0, 2.0]), 0.5, interpolation="cubic"),
        lambda lib: lib.nanquantile(lib.tensor([[1.0, 2.0]]), 0.5, dim=2),
    ],
)
def test_errors_where_torch_errors(call):
    with pytest.raises((RuntimeError, ValueError, IndexError)) as theirs:
        call(torch)
    with pytest.raises((RuntimeError, ValueError, IndexError, TypeError), match="quantile|dim"):
        call(cr)
    assert theirs.type
