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


def _subtractions(lib):
    mask = lib.tensor([True, False, True])
    floats = lib.tensor([1.5, 2.0, -1.0])
    calls = {
        "1 - mask": lambda: 1 - mask,
        "mask - 1.0": lambda: mask - 1.0,
        "floats - mask": lambda: floats - mask,
        "mask - floats": lambda: mask - floats,
        "floats - True": lambda: floats - True,
        "True - floats": lambda: True - floats,
        "mask - mask": lambda: mask - mask,
        "sub(floats, mask)": lambda: lib.sub(floats, mask),
        "rsub(mask, floats)": lambda: lib.rsub(mask, floats),
        "floats.sub_(mask)": lambda: floats.clone().sub_(mask),
        "mask.sub_(mask)": lambda: mask.clone().sub_(mask),
        "~mask": lambda: ~mask,
        "mask + 1": lambda: mask + 1,
        "floats - 1": lambda: floats - 1,
    }
    return {name: _outcome(call) for name, call in calls.items()}


def test_subtraction_with_bools_is_refused_as_pytorch():
    assert _subtractions(cr) == _subtractions(torch)
    with pytest.raises(cr.errors.DTypeError, match=r"bool tensor.*`~` or logical_not"):
        1 - cr.tensor([True])


@pytest.mark.parametrize(
    "name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal"]
)
def test_comparison_functions_as_pytorchs(name):
    def calls(lib):
        fn = getattr(lib, name)
        ints, floats = lib.tensor([1, 2, 3]), lib.tensor([1.5, 2.0, 3.0])
        return [
            _outcome(lambda: fn(floats, 2)),
            _outcome(lambda: fn(ints, 2.5)),
            _outcome(lambda: fn(ints, floats)),
            _outcome(lambda: fn(floats, lib.tensor(2.0))),
            _outcome(lambda: fn(floats[:, None], ints)),
        ]

    assert calls(cr) == calls(torch)
    assert cr.not_equal is cr.ne
    with pytest.raises(TypeError, match="must be Tensor"):
        getattr(cr, name)(2, cr.tensor([1]))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_of_bools_raise_as_pytorchs(name):
    def calls(lib):
        bools = lib.tensor([[True, False], [True, True]])
        return [
            _outcome(lambda: getattr(bools, name)()),
            _outcome(lambda: getattr(lib, name)(bools, 1)),
            _outcome(lambda: getattr(bools.int(), name)(1)),
        ]

    assert calls(cr) == calls(torch)
    assert calls(cr)[0] == "RuntimeError"


def test_select_and_ravel_as_pytorchs():
    def run(lib):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        picked, row, flat = x.select(1, -1), lib.select(x, 0, 1), x.ravel()
        (picked.sum() + 2 * row.sum() + 3 * flat[0]).backward()
        names = [t.grad_fn.name() for t in (picked, row, flat)]
        try:
            x.select(0, 2)
            refused = False
        except IndexError:
            refused = True
        return picked.tolist(), row.tolist(), flat.tolist(), names, x.grad.tolist(), refused

    assert run(cr) == run(torch)


@pytest.mark.parametrize("dtype", ["int32", "int16", "int8", "uint8", "float64"])
def test_dtype_argument_of_sums_and_products_is_the_results_dtype(dtype):
    """NumPy accumulates small integers as int64; PyTorch's dtype= is the result's (wrapping)."""

    def calls(lib):
        x, d = lib.tensor([[100, 0, 100], [100, 100, 7]]), getattr(lib, dtype)
        return [
            _outcome(lambda: x.sum(dtype=d)),
            _outcome(lambda: lib.sum(x, 1, dtype=d)),
            _outcome(lambda: x.prod(dtype=d)),
            _outcome(lambda: x.prod(0, dtype=d)),
            _outcome(lambda: x.cumsum(1, dtype=d)),
            _outcome(lambda: lib.cumprod(x, 0, dtype=d)),
        ]

    assert calls(cr) == calls(torch)


def test_sums_and_products_in_bool_as_pytorchs():
    def calls(lib):
        x = lib.tensor([[1, 0], [1, 1]])
        sums = _outcome(lambda: x.sum(dtype=lib.bool))
        return [sums, _outcome(lambda: x.prod(1, dtype=lib.bool))]

    assert calls(cr) == calls(torch)
    with pytest.raises(NotImplementedError, match=r"cumsum\(dtype=bool\)"):
        cr.tensor([1, 0]).cumsum(0, dtype=cr.bool)
    with pytest.raises(NotImplementedError, match=r"cumprod\(dtype=bool\)"):
        cr.cumprod(cr.tensor([1, 0]), 0, dtype=cr.bool)
