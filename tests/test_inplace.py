"""In-place ops, ``.data``/``.grad`` as tensors, and the version clock, checked against PyTorch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

torch = pytest.importorskip("torch")

_VALUES = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=1, max_size=6)
_INPLACE = [
    ("add_", (0.5,)),
    ("sub_", (1.25,)),
    ("mul_", (-2.0,)),
    ("div_", (4.0,)),
    ("neg_", ()),
    ("abs_", ()),
    ("exp_", ()),
    ("tanh_", ()),
    ("sigmoid_", ()),
    ("relu_", ()),
    ("zero_", ()),
    ("fill_", (7.0,)),
    ("clamp_", (-0.5, 0.5)),
]


@settings(max_examples=25, deadline=None)
@given(values=_VALUES, case=st.sampled_from(_INPLACE))
def test_inplace_methods_match_torch_and_keep_the_array(values, case):
    name, args = case
    ours, theirs = cr.tensor(values), torch.tensor(values)
    array = ours.array
    assert getattr(ours, name)(*args) is ours
    getattr(theirs, name)(*args)
    assert ours.array is array  # the same memory, changed in place
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-6, atol=1e-7)
    assert ours._version == theirs._version == 1


@settings(max_examples=25, deadline=None)
@given(values=_VALUES, scale=st.floats(0.01, 1.0))
def test_augmented_assignment_under_no_grad_updates_the_same_parameter(values, scale):
    w = cr.tensor(values, requires_grad=True)
    tw = torch.tensor(values, requires_grad=True)
    (w * w).sum().backward()
    (tw * tw).sum().backward()
    before = w
    with cr.no_grad():
        w -= scale * w.grad
    with torch.no_grad():
        tw -= scale * tw.grad
    assert w is before and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_grad_and_data_are_tensors_that_share_memory():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * 3).sum().backward()
    assert isinstance(w.grad, cr.Tensor) and not w.grad.requires_grad
    w.grad.zero_()
    assert np.all(w.grad_array == 0)
    w.data.mul_(2)  # changes w, as in PyTorch; autograd is not told
    assert w.tolist() == [2.0, 4.0, 6.0] and w._version == 0
    w.data = cr.tensor([9.0, 9.0, 9.0])
    assert w.tolist() == [9.0, 9.0, 9.0]
    w.grad = None
    assert w.grad is None


def test_grad_assignment_checks_shape_and_dtype():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.ShapeError, match="shape"):
        w.grad = cr.zeros(3)
    with pytest.raises(cr.DTypeError, match="dtype"):
        w.grad = np.zeros(2, dtype=np.float64)
    w.grad = cr.ones(2)
    assert w.grad.tolist() == [1.0, 1.0]


def test_inplace_on_a_leaf_that_requires_grad_is_refused_in_grad_mode():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match="no_grad"):
        w += 1
    with pytest.raises(cr.GraphError, match="no_grad"):
        w.add_(1)
    assert w.tolist() == [1.0, 2.0]  # untouched by the refused op


def test_changing_a_saved_input_before_backward_is_an_error_not_a_wrong_gradient():
    x = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()  # Mul saved x for w's gradient
    x.mul_(10)
    with pytest.raises(cr.GraphError, match="changed in place"):
        y.backward()
    # the same in PyTorch
    tx, tw = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0], requires_grad=True)
    ty = (tx * tw).sum()
    tx.mul_(10)
    with pytest.raises(RuntimeError, match="inplace"):
        ty.backward()


def test_changing_an_input_that_no_op_saved_is_harmless():
    x = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (x + w).sum()  # Add saves nothing
    x.add_(5)
    y.backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_writes_after_backward_do_not_disturb_the_next_step():
    w = cr.tensor([0.5, -0.5], requires_grad=True)
    x = cr.tensor([1.0, 2.0])
    for _ in range(3):
        loss = (w * x).sum()
        loss.backward()
        with cr.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    np.testing.assert_allclose(w.array, [0.5 - 0.3, -0.5 - 0.6], rtol=1e-6)


def test_inplace_dtype_rules_follow_torch():
    i = cr.tensor([1, 2])
    with pytest.raises(cr.DTypeError, match="int64"):
        i += 0.5  # PyTorch: result type Float can't be cast to Long
    f = cr.tensor([1.0, 2.0])
    f += cr.tensor([1.0, 1.0], dtype="float64")
    assert f.dtype == np.float32 and f.tolist() == [2.0, 3.0]
    with pytest.raises(cr.ShapeError, match="broadcast"):
        f.add_(cr.ones(3))
    with pytest.raises(cr.GraphError, match="a @ b"):
        f @= cr.ones(2, 2)


def test_normal_and_uniform_fill_in_place_from_the_generator():
    t = cr.zeros(2000)
    array = t.array
    t.normal_(1.0, 2.0, generator=cr.Generator(0))
    assert t.array is array and abs(float(t.mean()) - 1.0) < 0.15
    t.uniform_(-1, 1, generator=cr.Generator(0))
    assert float(t.min()) >= -1 and float(t.max()) <= 1


@pytest.mark.parametrize(
    "shape, wrap",
    [((3, 3), False), ((7, 3), False), ((7, 3), True), ((3, 7), True), ((2, 2, 2), False)],
)
def test_fill_diagonal_matches_pytorch(shape, wrap):
    torch = pytest.importorskip("torch")
    ours, theirs = cr.zeros(*shape), torch.zeros(*shape)
    assert ours.fill_diagonal_(5.0, wrap=wrap) is ours
    theirs.fill_diagonal_(5.0, wrap=wrap)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours._version == 1


def test_fill_diagonal_refuses_leaves_that_require_grad_and_odd_shapes():
    w = cr.ones(3, 3, requires_grad=True)
    with pytest.raises(cr.errors.GraphError, match="in place"):
        w.fill_diagonal_(0.0)  # (a tensor in the graph: recorded, tests/test_inplace_graph_ops)
    with pytest.raises(cr.errors.ShapeError, match="equal size"):
        cr.zeros(2, 3, 4).fill_diagonal_(1.0)


@pytest.mark.parametrize(
    "make, statement",
    [
        (lambda lib: lib.tensor([[12, 9], [5, 6]]), statement)
        for statement in ("r //= 3", "r %= -5", "r &= 6", "r |= 1", "r ^= 3", "r.fmod_(-5)")
    ]
    + [
        (lambda lib: lib.tensor([[-4.0, 9.0, -0.0], [5.0, 6.0, 1.0]]), statement)
        for statement in ("r //= 3", "r %= 2", "r %= -2.5", "r.fmod_(-2.5)", "r //= 0", "r %= 0")
    ]
    + [
        (lambda lib: lib.tensor([[True, False], [True, True]]), statement)
        for statement in ("r &= False", "r |= lib.tensor([False, True])", "r ^= True")
    ],
)
def test_augmented_division_and_bitwise_assignment_write_through_views(make, statement):
    # without __ifloordiv__ & co. Python rebinds r to a new tensor and x keeps its old values
    results = []
    for lib in (torch, cr):
        x = make(lib)
        namespace = {"r": x[0], "lib": lib}
        exec(statement, namespace)
        assert namespace["r"] is not None
        results.append(np.asarray(x.tolist()))
    np.testing.assert_array_equal(results[1], results[0])
    np.testing.assert_array_equal(np.signbit(results[1]), np.signbit(results[0]))


def test_augmented_assignment_refuses_what_pytorch_refuses():
    with pytest.raises(cr.errors.DTypeError, match="cannot be stored in place"):
        x = cr.tensor([5, 7])
        x %= 2.5  # a float result in an integer tensor
    with pytest.raises(ZeroDivisionError, match="floor_divide_"):
        x = cr.tensor([5, 7])
        x //= 0
    with pytest.raises(cr.errors.DTypeError):
        x = cr.tensor([5.0])
        x &= 1


INTEGER_INTO_INTEGER = [
    ("uint8", "int64", lambda x, y: x.add_(y)),
    ("uint8", "int32", lambda x, y: x.mul_(y)),
    ("uint8", "int64", lambda x, y: x.sub_(y)),
    ("uint8", "int64", lambda x, y: x.__iadd__(y)),
    ("uint8", "int64", lambda x, y: x.floor_divide_(y.abs() + 1)),
    ("int64", "int64", lambda x, y: x.pow_(y)),
    ("uint8", "int64", lambda x, y: x.pow_(y)),
    ("int32", "int64", lambda x, y: x.pow_(y)),
    ("int64", "int64", lambda x, y: x.pow_(y[0])),
    ("uint8", "int64", lambda x, y: x.add_(np.int64(-3))),
    # a 0-d tensor of the same category does not promote: its -1 is uint8's 255, as PyTorch
    ("uint8", "int64", lambda x, y: x.clamp_min_(y[0])),
    ("uint8", "int32", lambda x, y: x.pow_(y[1])),
    ("uint8", "int64", lambda x, y: x.fmod_(y[0])),
    ("uint8", "int32", lambda x, y: x.remainder_(y[1])),
    ("uint8", "int64", lambda x, y: x.clamp_max_(np.int64(-2))),
]


@pytest.mark.parametrize(("into", "other", "op"), INTEGER_INTO_INTEGER)
def test_an_integer_result_goes_into_an_integer_tensor_in_place_as_torch(into, other, op):
    # PyTorch wraps int64 into uint8 (NumPy's same_kind refused it: a DTypeError) and an integer
    # tensor to negative integer powers is the quotient rounded toward 0 (was a ShapeError)
    results = []
    for lib in (torch, cr):
        x = lib.tensor([2, 1, 3, 0, 5, 7]).to(getattr(lib, into))
        y = lib.tensor([-1, -2, 3, -1, 2, 200]).to(getattr(lib, other))
        out = op(x, y)
        results.append((out is x, str(x.dtype).replace("torch.", ""), x.tolist()))
    assert results[1] == results[0]


def test_in_place_integer_pow_of_a_negative_number_is_refused_as_torch():
    with pytest.raises(RuntimeError, match="negative integer powers"):
        torch.tensor([2, 3]).pow_(-1)
    for dtype in ("int64", "int32", "uint8"):
        for op in (lambda x: x.pow_(-3), lambda x: x.__ipow__(np.int64(-1))):
            with pytest.raises(cr.errors.DTypeError, match="negative integer powers"):
                op(cr.tensor([[2, 3]], dtype=dtype))
    with pytest.raises(cr.errors.DTypeError, match="cannot be stored in place"):
        cr.tensor([2, 3], dtype="uint8").add_(cr.tensor([0.5, 1.0]))


@pytest.mark.parametrize("dtype", ["uint8", "int64"])
def test_true_division_into_an_integer_tensor_in_place_stays_refused(dtype):
    # int / int is a float, which PyTorch will not store in an integer tensor
    for op in (lambda x: x.div_(2), lambda x: x.__itruediv__(2), lambda x: x.div_(x)):
        with pytest.raises(RuntimeError, match="can't be cast"):
            op(torch.tensor([3, 4]).to(getattr(torch, dtype)))
        with pytest.raises(cr.errors.DTypeError, match="cannot be stored in place"):
            op(cr.tensor([3, 4], dtype=dtype))


def test_clamp_in_place_of_uint8_by_an_int64_bound_as_torch():
    results = []
    for lib in (torch, cr):
        x = lib.tensor([3, 4], dtype=lib.uint8)
        x.clamp_min_(lib.tensor([5, 1]))
        x.clamp_max_(np.int64(4))
        results.append((str(x.dtype).replace("torch.", ""), x.tolist()))
    assert results[1] == results[0]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_an_optimizer_step_before_backward_raises_as_torch(optimizer):
    # The built-in optimizers write parameters in place without an op: before this, backward()
    # then computed the input's gradient with the stepped weight, silently (PyTorch raises).
    torch = pytest.importorskip("torch")
    outcomes = []
    for lib in (cr, torch):
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2)
        x = lib.randn(4, 3, requires_grad=True)
        out = model(x)
        for p in model.parameters():
            p.grad = lib.ones_like(p)
        getattr(lib.optim, optimizer)(model.parameters(), lr=0.1).step()
        try:
            out.sum().backward()
            outcomes.append("ran")
        except (RuntimeError, cr.GraphError) as err:
            outcomes.append("raised")
            if lib is cr:
                assert "by an optimizer step" in str(err)
    assert outcomes == ["raised", "raised"]


def test_an_optimizer_step_leaves_ops_that_do_not_keep_the_weight_working():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (cr, torch):  # x needs no gradient: the weight is not kept for backward
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2)
        out = model(lib.ones(4, 3))
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        for p in model.parameters():
            p.grad = lib.ones_like(p)
        opt.step()
        opt.zero_grad()
        out.sum().backward()
        grads.append(np.array(model.weight.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1])


def test_a_training_loop_and_the_explicit_escape_still_run():
    from chainrule.autograd.inplace import steps_unseen

    cr.manual_seed(0)
    model = cr.nn.LSTM(3, 4)
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    x = cr.randn(5, 2, 3)
    for _ in range(3):  # forward, backward, step: nothing spans a step
        opt.zero_grad()
        model(x)[0].sum().backward()
        opt.step()
    loss = model(x)[0].sum()
    loss.backward(retain_graph=True)
    with steps_unseen():  # a backward pass that is meant to read the stepped weights
        opt.step()
        loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(cr.GraphError, match="optimizer step"):
        loss.backward()
