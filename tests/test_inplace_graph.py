"""In-place ops on tensors in the middle of the graph, recorded as PyTorch records them
(autograd/inplace_graph.py), with PyTorch as the oracle; and the writes that must refuse."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphError

torch = pytest.importorskip("torch")


def _inputs(lib, seed=0):
    rng = np.random.default_rng(seed)
    arrays = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    if lib is cr:
        return [cr.tensor(a, requires_grad=True, dtype="float64") for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def _numpy(t):
    return None if t is None else np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def _run(lib, case):
    x, w = _inputs(lib)
    out = case(lib, x, w)
    name = out.grad_fn.name()
    (out * out).sum().backward()
    return _numpy(out.data if lib is cr else out), _numpy(x.grad), _numpy(w.grad), name


def _add(lib, x, w):
    y = x * 2
    y += w
    return y


def _sub(lib, x, w):
    y = x * 2
    y -= w
    return y


def _mul(lib, x, w):
    y = x * 2
    y *= w
    return y


def _div(lib, x, w):
    y = x * 2
    y /= w
    return y


def _add_alpha(lib, x, w):
    return (x * 2).add_(w, alpha=0.5)


def _sub_method(lib, x, w):
    return (x * 2).sub_(w)


def _mul_number(lib, x, w):
    return (x + w).mul_(0.5)


def _div_method(lib, x, w):
    return (x * w).div_(3.0)


def _clamp(lib, x, w):
    return (x * 2).clamp_(-0.5, 0.5)


def _relu(lib, x, w):
    return (x * w).relu_()


def _chain(lib, x, w):
    y = x * 2
    y.mul_(0.5).add_(w).sigmoid_()
    return y


def _neg_exp(lib, x, w):
    return (x * w).neg_().add_(1).exp_()


def _tanh(lib, x, w):
    return (x - w).tanh_()


def _setitem(lib, x, w):
    y = x * 2
    y[0] = w[1]
    return y


def _setitem_slice(lib, x, w):
    y = x * 2
    y[:, 1:3] = w[:, :2] * 3
    return y


def _setitem_number(lib, x, w):
    y = x * w
    y[1, 2] = 5.0
    return y


def _setitem_into_buffer(lib, x, w):
    y = (x * 0).detach()  # a tensor outside the graph, brought in by the value
    y[1] = w[0]
    return y


def _masked_fill(lib, x, w):
    y = x * w
    return y.masked_fill_(y.detach() > 0, 1.0)


def _relu_module(lib, x, w):
    relu = lib.nn.ReLU(inplace=True)
    y = x * w
    assert relu(y) is y  # the same tensor, as PyTorch's
    return y


def _leaky_relu_function(lib, x, w):
    functional = cr.nn.functional if lib is cr else torch.nn.functional
    y = x * w
    assert functional.leaky_relu(y, 0.1, inplace=True) is y
    return y


CASES = [
    _add,
    _sub,
    _mul,
    _div,
    _add_alpha,
    _sub_method,
    _mul_number,
    _div_method,
    _clamp,
    _relu,
    _chain,
    _neg_exp,
    _tanh,
    _setitem,
    _setitem_slice,
    _setitem_number,
    _setitem_into_buffer,
    _masked_fill,
    _relu_module,
    _leaky_relu_function,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))
def test_in_place_ops_in_the_graph_match_pytorch(case):
    ours, theirs = _run(cr, case), _run(torch, case)
    for a, b in zip(ours[:3], theirs[:3]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # F.leaky_relu(inplace=True): LeakyReluBackward0 here
    if theirs[3] != "LeakyReluBackward1":
        assert ours[3] == theirs[3]


def test_the_written_tensor_keeps_its_identity_and_version():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    y = x * 2
    version = y._version
    assert y.add_(1) is y and y.relu_() is y
    assert y._version == version + 2
    assert y.requires_grad and not y.is_leaf
    assert y.tolist() == [3.0, 0.0]


def test_in_place_gradients_pass_finite_differences():
    def fn(x, w):
        y = x * w
        y += x
        y.mul_(w).clamp_(-1.0, 1.0)
        y[0] = w[1] * 2
        return y.tanh()

    rng = np.random.default_rng(1)
    x, w = (cr.tensor(rng.standard_normal((3, 4)), True, "float64") for _ in range(2))
    assert cr.gradcheck(fn, x, w)


def test_second_derivatives_through_in_place_ops_match_pytorch():
    def second(lib, x):
        y = x * x
        y.mul_(x)  # x³
        y += x
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)  # 3x² + 1
        return lib.autograd.grad(g.sum(), x)[0]  # 6x

    ours = second(cr, cr.tensor([0.5, -1.5], requires_grad=True, dtype="float64"))
    theirs = second(torch, torch.tensor([0.5, -1.5], requires_grad=True, dtype=torch.float64))
    np.testing.assert_allclose(_numpy(ours), theirs.numpy())


def _basic_block(lib):
    nn = lib.nn

    class BasicBlock(nn.Module):  # torchvision's ResNet block
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 3, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(3)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(3, 3, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(3)

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    return BasicBlock()


def test_resnet_basic_block_matches_pytorch():
    theirs = _basic_block(torch).double()
    ours = _basic_block(cr).double()
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    data = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    x = cr.tensor(data, requires_grad=True, dtype="float64")
    tx = torch.tensor(data, requires_grad=True)
    out, tout = ours(x * 1), theirs(tx * 1)
    assert out.grad_fn.name() == "ReluBackward0"
    add = out.grad_fn.next_functions[0][0]
    assert add.name() == "AddBackward0"  # out += identity, reading the batch norm and x * 1
    assert add.next_functions[1][0].name() == "MulBackward0"
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-8, atol=1e-10)


# ---- what must refuse: never a wrong gradient ------------------------------------------------
def test_an_output_saved_for_backward_then_changed_raises_at_backward():
    x = cr.tensor([0.5, -1.0], requires_grad=True)
    y = x.sigmoid()
    y += 1  # as PyTorch: the write is allowed, backward() is not
    with pytest.raises(GraphError, match="Sigmoid.*changed in place"):
        y.sum().backward()


def test_an_output_saved_by_an_in_place_op_then_changed_raises_at_backward():
    for lib in (cr, torch):
        (x, _) = _inputs(lib)
        y = (x * 2).tanh_()
        y.exp_()  # tanh_'s saved output is overwritten: PyTorch raises too
        with pytest.raises((GraphError, RuntimeError), match="modified|changed in place"):
            y.sum().backward()


def _read_before_the_write(lib, x):
    y = x * 2
    z = y + 3  # read y before the write (saving nothing)
    y.mul_(2)
    w = y - 1  # read y between the writes
    y.add_(5)
    return (z * w * y).sum()


def test_an_op_that_read_the_tensor_before_the_write_gets_the_version_it_read():
    ours = cr.tensor([[0.5, -1.0, 2.0]], requires_grad=True, dtype="float64")
    theirs = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True, dtype=torch.float64)
    out, their_out = _read_before_the_write(cr, ours), _read_before_the_write(torch, theirs)
    out.backward(retain_graph=True)
    their_out.backward(retain_graph=True)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())
    out.backward()  # again, through the same graph
    their_out.backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())


def test_a_tensor_saved_by_an_op_or_viewed_is_refused_at_the_write():
    x = cr.tensor([[0.5, -1.0]], requires_grad=True)
    y = x * 2
    z = y * 3  # Mul keeps y's values
    with pytest.raises(GraphError, match="memory .* still holds"):
        y += 1
    h = x * 2
    v = h.reshape(-1)  # v shares h's memory: it would see the write
    with pytest.raises(GraphError, match="memory .* still holds"):
        h.mul_(2)
    assert z.tolist() == [[3.0, -6.0]] and v.tolist() == [1.0, -2.0]


def test_a_view_of_a_tensor_nothing_else_holds_is_written():
    x = cr.tensor([[0.5, -1.0], [2.0, 3.0]], requires_grad=True, dtype="float64")
    v = (x * 2).reshape(4)
    v.mul_(3)
    (v * v).sum().backward()
    np.testing.assert_allclose(x.grad.data, 72 * x.data)


def test_a_leaf_that_requires_grad_is_still_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="leaf tensor that requires grad"):
        w += 1
    with pytest.raises(GraphError):
        w[0] = 3.0


def test_a_tensor_with_retain_grad_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    with pytest.raises(GraphError, match="retain_grad"):
        y.add_(1)


def test_an_in_place_op_without_a_derivative_says_so():
    y = cr.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(GraphError, match="floor_divide_ is not implemented"):
        y.floor_divide_(2)  # (as PyTorch's; log_ & co.: tests/test_inplace_graph_ops.py)


@pytest.mark.parametrize(
    "name, args",
    [("relu_", ()), ("elu_", (0.5,)), ("hardtanh_", (-0.5, 0.5)), ("leaky_relu_", (0.2,))]
    + [("threshold_", (0.1, -2.0)), ("celu_", (0.7,)), ("selu_", ())],
)
def test_in_place_activation_functions_in_the_graph_match_pytorch(name, args):
    def case(lib, x, w):
        functional = cr.nn.functional if lib is cr else torch.nn.functional
        y = x * w
        assert getattr(functional, name)(y, *args) is y
        return y

    ours, theirs = _run(cr, case), _run(torch, case)
    for a, b in zip(ours[:3], theirs[:3]):  # (celu's alpha: PyTorch's float32 rounding)
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12)


def test_dropout_and_silu_in_place_write_the_tensor_of_the_graph():
    cr.manual_seed(0)
    x = cr.tensor([[0.5, -1.0, 2.0, 3.0, 1.0, 2.0]], requires_grad=True, dtype="float64")
    y = x * 2
    assert cr.nn.Dropout(0.5, inplace=True)(y) is y  # y · mask, as PyTorch's: MulBackward0
    assert y.grad_fn.name() == "MulBackward0"
    mask = y.data / (2 * x.data)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 8 * x.data * mask**2)
    case = _in_place_silu
    ours, theirs = _run(cr, case), _run(torch, case)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    assert ours[3] == theirs[3] == "SiluBackward0"


def _in_place_silu(lib, x, w):
    functional = cr.nn.functional if lib is cr else torch.nn.functional
    y = x * w
    assert functional.silu(y, inplace=True) is y
    return y


def test_inplace_true_after_an_op_that_keeps_its_output_stays_out_of_place():
    """ReLU keeps its output for backward: Dropout(inplace=True) after it would make PyTorch's
    backward() raise; chainrule hands back a new tensor there, as before, and backward works."""
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 5), cr.nn.ReLU(), cr.nn.Dropout(0.5, inplace=True))
    x = cr.randn(4, 3, requires_grad=True)
    hidden = model[1](model[0](x))
    assert model[2](hidden) is not hidden
    model(x).sum().backward()
    assert x.grad is not None
