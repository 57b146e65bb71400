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


LOSSES = [
    "MSELoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "KLDivLoss",
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", LOSSES)
def test_a_float64_target_promotes_the_loss_where_pytorch_does(name):
    """float32 input, float64 target: float64 loss for the losses PyTorch promotes (its
    HuberLoss keeps float32, and so does ours); the input's gradient stays float32."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    b = rng.uniform(0.1, 0.9, (3, 4))
    x = cr.tensor(a, requires_grad=True)
    ours = getattr(cr.nn, name)()(x, cr.tensor(b, dtype="float64"))
    theirs = getattr(torch.nn, name)()(torch.tensor(a), torch.tensor(b))
    assert ours.dtype == str(theirs.dtype).removeprefix("torch."), name
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    ours.backward()
    assert x.grad.dtype == "float32"
    functional = {
        "MSELoss": "mse_loss",
        "L1Loss": "l1_loss",
        "SmoothL1Loss": "smooth_l1_loss",
        "HuberLoss": "huber_loss",
        "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
        "CrossEntropyLoss": "cross_entropy",
        "KLDivLoss": "kl_div",
    }[name]
    f = getattr(cr.nn.functional, functional)(cr.tensor(a), cr.tensor(b, dtype="float64"))
    assert f.dtype == ours.dtype


@pytest.mark.parametrize(
    ("first", "second"), [("int32", "uint8"), ("int64", "uint8"), ("bool", "int8")]
)
def test_atan2_of_two_integer_tensors_converts_each_to_float_as_torch(first, second):
    # the common integer dtype came first: a 0-d int32 −5 beside uint8 became 251
    a, b = np.array(-5, dtype=first), np.array([3, 0, 2], dtype=second)
    for x, y in ((a, b), (b, a)):
        theirs = torch.atan2(torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y)))
        ours = cr.atan2(cr.tensor(x, dtype=x.dtype), cr.tensor(y, dtype=y.dtype))
        assert str(ours.dtype) == "float32" == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
