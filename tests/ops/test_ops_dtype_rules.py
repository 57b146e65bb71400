"""Result dtypes of integer, unsigned and bool inputs, against PyTorch.

NumPy's promotion differs: ``exp`` of int64 is float64 there (PyTorch: the default float32),
of uint8 or bool float16, and ``-x`` wraps around for unsigned integers, so ``sigmoid`` of a
uint8 tensor was simply wrong. Found by a differential run over six dtypes and ~80 ops.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DATA = {
    "int64": [[1, -2], [0, 3]],
    "int32": [[1, -2], [0, 3]],
    "uint8": [[1, 2], [0, 3]],
    "bool": [[True, False], [False, True]],
}
EXPRS = [
    "a.exp()",
    "a.sqrt()",
    "a.sigmoid()",
    "L.tanh(a)",
    "a.logsumexp(0)",
    "L.atan2(a, a)",
    "a.log1p()",
    "a.sum()",
    "a.sum(0)",
    "a.cumsum(0)",
    "a.prod()",
    "a.nan_to_num()",
    "a.square()",
]


def _run(lib, expr, name):
    a = (
        lib.tensor(DATA[name], dtype=getattr(torch, name))
        if lib is torch
        else cr.tensor(DATA[name], dtype=name)
    )
    return eval(expr, {"L": lib, "a": a})  # noqa: S307 - fixed expressions above


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("expr", EXPRS)
def test_integer_and_bool_inputs_give_pytorchs_dtype_and_values(expr, name):
    try:
        theirs = _run(torch, expr, name).numpy()
    except (RuntimeError, NotImplementedError):
        pytest.skip("PyTorch refuses this input")
    ours = np.asarray(_run(cr, expr, name).numpy())
    assert ours.dtype == theirs.dtype, (expr, name)
    np.testing.assert_allclose(ours.astype(float), theirs.astype(float), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ["int64", "int32", "uint8"])
def test_relu_keeps_integer_dtypes_and_refuses_bool(name):
    ours = cr.relu(cr.tensor(DATA[name], dtype=name))
    theirs = torch.relu(torch.tensor(DATA[name], dtype=getattr(torch, name)))
    assert ours.dtype == name
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(cr.errors.DTypeError, match="bool"):
        cr.relu(cr.tensor(DATA["bool"]))
