"""Silent differences a sweep of PyTorch's names over edge inputs (0-d, empty, bool and float
where an int belongs, tensors as dims) found: each now PyTorch's answer or its error."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _both(call, *arrays):
    """``call(lib, *tensors)`` with torch and with chainrule on copies of ``arrays``."""
    theirs = call(torch, *[torch.tensor(a) for a in arrays])
    ours = call(cr, *[cr.tensor(a, dtype=np.asarray(a).dtype) for a in arrays])
    return theirs, ours


def _same(theirs, ours):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for t, o in zip(theirs, ours):
            _same(t, o)
        return
    want = theirs.detach().numpy()
    got = np.asarray(ours.detach().numpy())
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def _raises_like_torch(call, error, *arrays):
    for lib in (torch, cr):
        with pytest.raises(error):
            call(lib, *[lib.tensor(a) for a in arrays])


@pytest.mark.parametrize(
    "a_shape, b_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 2, 3), (3, 2))]
)
def test_mm_takes_matrices_only(a_shape, b_shape):
    # before: mm was matmul (a vector dot, a matrix-vector product, a batched product)
    a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
    _raises_like_torch(lambda lib, x, y: lib.mm(x, y), RuntimeError, a, b)
    _raises_like_torch(lambda lib, x, y: x.mm(y), RuntimeError, a, b)
    _same(*_both(lambda lib, x, y: x.mm(y), np.ones((2, 3)), np.ones((3, 4))))


@pytest.mark.parametrize("end", [-1.5, -2])
def test_arange_with_one_negative_bound_raises(end):
    # before: an empty tensor (NumPy's answer); arange(0, -2) already raised
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent"):
            lib.arange(end)
    _same(torch.arange(0), cr.arange(0))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, d: x.amax(d),
        lambda x, d: x.sum(d),
        lambda x, d: x.mean(d),
        lambda x, d: x.max(d),
        lambda x, d: x.min(d),
        lambda x, d: x.prod(d),
        lambda x, d: x.cumsum(d),
        lambda x, d: x.unsqueeze(d),
        lambda x, d: x.logsumexp(d),
    ],
)
def test_a_dim_must_be_an_integer(call):
    # before: True was dim 1 and 1.0 or tensor([0.5]) dim 0 or 1, where torch refuses them
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    for dim in (True, 1.0):
        for lib in (torch, cr):
            with pytest.raises(TypeError):
                call(lib.tensor(data), dim)
    # a one-element integer tensor is a dim to both
    _same(call(torch.tensor(data), torch.tensor(1)), call(cr.tensor(data), cr.tensor(1)))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.diagonal(x, 1.5),
        lambda lib, x: lib.tril(x, 1.5),
        lambda lib, x: x.triu(True),
        lambda lib, x: lib.diag(x, 1.5),
        lambda lib, x: lib.rot90(x, 2.5),
        lambda lib, x: lib.kthvalue(x, 1.5),
    ],
)
def test_an_integer_argument_is_not_truncated(call):
    # before: diagonal(x, 1.5) was diagonal(x, 1), tril(x, 1.5) NumPy's tril with k=1.5 ...
    _raises_like_torch(call, TypeError, np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("value", [2.0, 0.0])
def test_where_of_a_0d_condition(value):
    # before: NumPy's "Calling nonzero on 0d arrays is not allowed"
    _same(*_both(lambda lib, c: lib.where(c), np.array(value)))


@pytest.mark.parametrize("p", [float("inf"), float("-inf"), -1, -2.5])
def test_norms_without_an_identity_refuse_empty_input(p):
    # before: the inf-norm of nothing was 0 and the -1 norm inf (only -inf raised)
    for shape, dim in (((0,), None), ((2, 0), 1)):
        for lib in (torch, cr):
            with pytest.raises(RuntimeError, match="norm"):
                lib.norm(lib.ones(shape), p, dim=dim)
    _same(torch.norm(torch.ones(0, 2), p, dim=1), cr.norm(cr.ones(0, 2), p, dim=1))
    _same(torch.norm(torch.ones(0), 2), cr.norm(cr.ones(0), 2))


def test_an_empty_dividend_divides_nothing():
    # before: IntegerDivisionError for a zero divisor that meets no element
    a, b = np.zeros((2, 0, 3), np.int64), np.array([1, 0, 2])
    _same(*_both(lambda lib, x, y: lib.floor_divide(x, y), a, b))
    _same(*_both(lambda lib, x, y: x.remainder_(y), a, b))
    for lib in (torch, cr):
        with pytest.raises(ZeroDivisionError if lib is cr else RuntimeError):
            lib.floor_divide(lib.tensor([1, 2]), lib.tensor([0, 1]))


@pytest.mark.parametrize("op", ["bitwise_left_shift_", "bitwise_right_shift_"])
def test_an_in_place_shift_keeps_its_tensors_shape(op):
    # before: the (1,)-shaped result was written into the 0-d tensor without a word
    x, y = np.array(7), np.array([1], np.int32)
    _raises_like_torch(lambda lib, a, b: getattr(a, op)(b), RuntimeError, x, y)
    _same(*_both(lambda lib, a, b: getattr(a, op)(b), np.array([7, 8]), np.array(1)))


def test_broadcast_to_takes_one_int_size():
    # before: "'int' object is not iterable" (torch's method takes it; its function does not)
    _same(*_both(lambda lib, x: x.broadcast_to(3), np.array(2.0)))
    _same(*_both(lambda lib, x: x.broadcast_to(3), np.array([2.0])))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.argsort(2),
        lambda x: x.sort(2),
        lambda x: x.cumsum(2),
        lambda x: x.flatten(2),
        lambda x: x.flatten(0, -2),
    ],
)
def test_a_0d_tensor_has_dims_minus_one_and_zero_only(call):
    # before: any dim passed for a 0-d tensor
    for lib in (torch, cr):
        with pytest.raises(IndexError):
            call(lib.tensor(1.5))
    _same(*_both(lambda lib, x: x.sort(-1), np.array(1.5)))
    _same(*_both(lambda lib, x: x.flatten(0, -1), np.array(1.5)))


@pytest.mark.parametrize(
    "shape, dims", [((2, 3), (0, 5)), ((2, 3), (2, 0)), ((3,), (2,)), ((0,), (1,))]
)
def test_permute_refuses_a_dim_out_of_range(shape, dims):
    # before: permute(0, 5) of a matrix wrapped 5 to 1 and returned the matrix itself
    for lib in (torch, cr):
        with pytest.raises((IndexError, RuntimeError)):
            lib.ones(shape).permute(*dims)
    _same(*_both(lambda lib, x: x.permute(-1, 0), np.arange(6.0).reshape(2, 3)))


@pytest.mark.parametrize("shape", [(-3, 2), (2, -2, 3)])
def test_reshape_infers_only_minus_one(shape):
    # before: NumPy read any negative size as -1
    _raises_like_torch(lambda lib, x: x.reshape(*shape), RuntimeError, np.ones(12))
    _same(*_both(lambda lib, x: x.reshape(-1, 2), np.ones(12)))


def test_one_hot_of_nothing_needs_num_classes():
    # before: a (0, 0) tensor, where torch cannot infer the number of classes
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="infer"):
            lib.nn.functional.one_hot(lib.zeros(0, dtype=lib.int64))
    _same(
        torch.nn.functional.one_hot(torch.zeros(0, dtype=torch.int64), 3),
        cr.nn.functional.one_hot(cr.zeros(0, dtype=cr.int64), 3),
    )


@pytest.mark.parametrize("x_shape", [(), (3,)])
@pytest.mark.parametrize("bound_shape", [(), (3,)])
@pytest.mark.parametrize(
    "x_dtype, bound_dtype",
    [("float32", "float64"), ("int32", "int64"), ("int64", "float64"), ("float64", "float32")],
)
def test_clamp_by_tensor_bounds_promotes_as_torch(x_shape, bound_shape, x_dtype, bound_dtype):
    # before: a 0-d x was promoted as if it had dimensions (float32 with a 0-d float64 bound
    # stayed float32; PyTorch: float64, both being 0-d)
    x = np.full(x_shape, 2, x_dtype)
    low, high = np.zeros(bound_shape, bound_dtype), np.ones(bound_shape, bound_dtype)
    _same(*_both(lambda lib, a, b, c: lib.clamp(a, b, c), x, low, high))
    _same(*_both(lambda lib, a, b: lib.clamp(a, min=b), x, low))
    _same(*_both(lambda lib, a, b: a.clamp_max(b), x, high))


@pytest.mark.parametrize(
    "a_shape, b_shape, dims",
    [((0, 3), (0, 3), 2), ((2, 0), (0, 4), 1), ((0,), (0,), 1), ((2, 3), (3, 0), 1)],
)
def test_tensordot_over_empty_dimensions(a_shape, b_shape, dims):
    # before: "reshape cannot turn shape (0, 3) into (-1, 0)" where torch sums to zeros
    _same(*_both(lambda lib, a, b: lib.tensordot(a, b, dims), np.ones(a_shape), np.ones(b_shape)))


def test_einsum_names_its_equation_argument():
    # before: AttributeError: 'Tensor' object has no attribute 'replace'
    with pytest.raises(TypeError, match="the first argument is the equation"):
        cr.einsum(cr.ones(2), cr.ones(2))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "float32"])
def test_trace_sums_small_integers_to_int64(dtype):
    # before: NumPy's uint64 for a uint8 matrix
    _same(*_both(lambda lib, x: lib.trace(x), np.ones((2, 3), dtype)))


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_repeat_interleave_of_counts_keeps_their_dtype(dtype):
    # before: int64 whatever the counts' dtype
    _same(*_both(lambda lib, c: lib.repeat_interleave(c), np.array([1, 2, 0], dtype)))


@pytest.mark.parametrize("value", [-1, 255])
def test_full_like_and_fill_diagonal_wrap_a_negative_into_uint8(value):
    # before: NumPy's OverflowError "Python integer -1 out of bounds for uint8"
    zeros = np.zeros((2, 2), np.uint8)
    _same(*_both(lambda lib, x: lib.full_like(x, value), zeros))
    _same(*_both(lambda lib, x: x.fill_diagonal_(value), zeros))


def test_full_like_refuses_a_value_out_of_range():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="overflow"):
            lib.full_like(lib.zeros(2, dtype=lib.int8), 200)
