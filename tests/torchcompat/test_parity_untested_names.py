"""PyTorch's names that no test compared before (found by grepping tests/ for each name in
_torch_names.py that chainrule has): each against torch on ints, bools, floats, 0-d and empty
tensors, broadcasting and Python scalars."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")

INTS = [
    np.array([1, -2, 3], np.int64),
    np.array([0, 1, 2], np.int64),
    np.array([5], np.int32),
    np.array(7, np.int64),
    np.array([True, False, True]),
    np.array([], np.int64),
    np.array([1, 2, 3], np.uint8),
]
FLOATS = [
    np.array([0.5, -1.5, 2.0], np.float32),
    np.array(2.0, np.float64),
    np.array([], np.float32),
    np.array([[1.0, 4.0]], np.float64),
]


def _result(call, lib, arrays):
    """``call(lib, *tensors)`` as (dtype, shape, values), or the exception's class."""
    tensors = [
        torch.from_numpy(a.copy()) if lib is torch else cr.tensor(a, dtype=a.dtype) for a in arrays
    ]
    try:
        out = call(lib, *tensors)
    except Exception:  # noqa: BLE001 - both must raise; the classes differ by design
        return "raises"
    if isinstance(out, (torch.Tensor, cr.Tensor)):
        values = np.asarray(out.detach().numpy())
        return str(values.dtype), values.shape, values.tolist()
    return out


def _same(call, *arrays):
    theirs, ours = _result(call, torch, arrays), _result(call, cr, arrays)
    if isinstance(theirs, tuple) and theirs[0].startswith("float"):
        assert ours[:2] == theirs[:2]  # float32 resampling may differ in the last bit
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6, atol=1e-6, equal_nan=True)
    else:
        assert ours == theirs


@pytest.mark.parametrize("a, b", list(itertools.product(INTS, INTS)))
@pytest.mark.parametrize("name", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shifts_as_torch(name, a, b):
    _same(lambda lib, x, y: getattr(lib, name)(x, y), a, b)
    _same(lambda lib, x, y: getattr(x, name)(y), a, b)
    _same(lambda lib, x, y: getattr(x.clone(), name + "_")(y), a, b)


@pytest.mark.parametrize("a", INTS)
@pytest.mark.parametrize("shift", [2, -1, True])
def test_shifts_by_a_number_as_torch(a, shift):
    _same(lambda lib, x: lib.bitwise_left_shift(x, shift), a)
    _same(lambda lib, x: x.clone().bitwise_right_shift_(shift), a)


@pytest.mark.parametrize("a, b", list(itertools.product(INTS, INTS + FLOATS[:1])))
@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bitwise_logic_as_torch(name, a, b):
    # before: torch.bitwise_and and co. were NotSupportedError (only the methods existed)
    _same(lambda lib, x, y: getattr(lib, name)(x, y), a, b)
    _same(lambda lib, x, y: getattr(x.clone(), name + "_")(y), a, b)
    _same(lambda lib, x: lib.bitwise_not(x), a)


@pytest.mark.parametrize("a, b", list(itertools.product(INTS + FLOATS, INTS + FLOATS)))
@pytest.mark.parametrize("name", ["not_equal", "true_divide"])
def test_not_equal_true_divide_row_stack_as_torch(name, a, b):
    # before: Tensor.not_equal was NotSupportedError (torch.not_equal worked)
    _same(lambda lib, x, y: getattr(lib, name)(x, y), a, b)
    _same(lambda lib, x, y: getattr(x, name)(y), a, b)
    _same(lambda lib, x, y: lib.row_stack([x, y]), a, b)


@pytest.mark.parametrize("a", INTS + FLOATS)
def test_in_place_math_and_constructors_as_torch(a):
    _same(lambda lib, x: x.clone().log_(), a)
    _same(lambda lib, x: x.clone().sqrt_(), a)
    _same(lambda lib, x: x.clone().clip_(-1, 1), a)
    _same(lambda lib, x: x.clone().clip_(min=0), a)
    _same(lambda lib, x: x.element_size(), a)
    _same(lambda lib, x: x.new_ones(2, 3), a)
    _same(lambda lib, x: x.new_ones((2,), dtype=lib.float64), a)
    _same(lambda lib, x: x.new_tensor([1, 2]), a)
    _same(lambda lib, x: x.new_tensor([1.5, 2]), a)
    _same(lambda lib, x: x.new_tensor(True), a)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_factor": 2},
        {"size": (5, 7)},
        {"scale_factor": 2, "mode": "bilinear"},
        {"scale_factor": 2, "mode": "bilinear", "align_corners": True},
        {"size": 6, "mode": "nearest"},
    ],
)
def test_upsample_as_torch(kwargs):
    image = np.random.default_rng(1).normal(size=(1, 2, 3, 4)).astype(np.float32)
    functional = {torch: torch.nn.functional, cr: F}
    _same(lambda lib, x: functional[lib].upsample(x, **kwargs), image)
    if kwargs.get("mode", "nearest") == "nearest":
        _same(
            lambda lib, x: functional[lib].upsample_nearest(
                x, kwargs.get("size"), kwargs.get("scale_factor")
            ),
            image,
        )


@pytest.mark.parametrize("a", [np.arange(6.0).reshape(2, 3), np.array([1, 2, 3]), np.array(2.5)])
def test_function_and_method_forms_both_exist_as_in_torch(a):
    # before: torch.t, ravel, detach, is_floating_point, multiply and subtract had only their
    # method form, and greater, greater_equal, less, less_equal only their function form
    for name in ("t", "ravel", "detach", "is_floating_point"):
        _same(lambda lib, x, name=name: getattr(lib, name)(x), a)
    _same(lambda lib, x: lib.multiply(x, x), a)
    _same(lambda lib, x: lib.subtract(x, x, alpha=2), a)
    for name in ("greater", "greater_equal", "less", "less_equal"):
        _same(lambda lib, x, name=name: getattr(x, name)(2), a)


@pytest.mark.parametrize(
    "name, args",
    [
        ("relu", (True,)),
        ("relu6", (True,)),
        ("silu", (True,)),
        ("elu", (0.5, True)),
        ("leaky_relu", (0.2, True)),
        ("hardtanh", (-0.5, 0.5, True)),
        ("hardtanh", (-0.5, 0.5)),
    ],
)
def test_functional_activations_take_inplace_by_position(name, args):
    # before: "relu() takes 1 positional argument but 2 were given" for F.relu(x, True)
    a = np.array([-1.5, 0.5, 2.0], np.float32)
    functional = {torch: torch.nn.functional, cr: F}
    for lib in (torch, cr):
        x = lib.tensor(a)
        out = getattr(functional[lib], name)(x, *args)
        assert (out is x) == bool(args[-1] is True)
    _same(lambda lib, x: getattr(functional[lib], name)(x.clone(), *args), a)
