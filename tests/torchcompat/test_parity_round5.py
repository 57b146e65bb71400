"""Parity probe, round 5: dtype rules PyTorch enforces with an error where NumPy would answer
(mean, var and std of integer tensors), checked against PyTorch itself."""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _outcome(fn):
    """The value as a list with its dtype's name, or "RuntimeError"."""
    try:
        result = fn()
    except RuntimeError:  # PyTorch's; chainrule's DTypeError is one
        return "RuntimeError"
    results = result if isinstance(result, tuple) else (result,)
    return [(r.tolist(), str(r.dtype).replace("torch.", "")) for r in results]


@pytest.mark.parametrize("values", [[1, 2, 4], [True, False, True]])
@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.mean(),
        lambda lib, x: lib.mean(x, 0),
        lambda lib, x: x.mean(dtype=lib.float32),
        lambda lib, x: x.var(),
        lambda lib, x: x.std(unbiased=False),
        lambda lib, x: lib.var_mean(x),
        lambda lib, x: lib.std_mean(x, correction=0),
        lambda lib, x: x.float().mean(),
    ],
)
def test_mean_var_std_of_integer_tensors_as_pytorch(values, call):
    ours = _outcome(lambda: call(cr, cr.tensor(values)))
    theirs = _outcome(lambda: call(torch, torch.tensor(values)))
    assert ours == theirs


def test_the_refusal_names_the_dtype_and_the_fix():
    with pytest.raises(cr.errors.DTypeError, match=r"mean\(\).*int64.*x\.float\(\)"):
        cr.tensor([1, 2]).mean()
    with pytest.raises(cr.errors.DTypeError, match=r"std\(\).*bool"):
        cr.tensor([True]).std()
