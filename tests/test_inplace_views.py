"""Writes into a view of a tensor still in use (``y[0] = 5``, ``y[:, 1].mul_(3)``,
``y.narrow(1, 1, 1).copy_(z)``, ``y[0] += 1``), recorded as PyTorch's CopySlices on the base:
the same gradients (float64) and grad_fn names; the views chainrule does not rebuild are
refused with a clear error."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

A = [[1.5, -2.0, 3.0], [4.0, 5.0, -6.0]]


def _t(lib, values, requires_grad=True):
    if lib is torch:
        return torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad)
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def _grads(*tensors):
    return [t.grad.detach().numpy().tolist() for t in tensors]


def _both(run):
    ours, theirs = run(cr), run(torch)
    assert ours == theirs
    return ours


def test_the_brief_s_three_writes():
    def run(lib):
        a, z = _t(lib, A), _t(lib, [[7.0], [8.0]])
        y = a * 2
        y[0] = 5
        first = y.grad_fn.name()
        y[:, 1].mul_(3)
        y.narrow(1, 2, 1).copy_(z * z)
        (y * y).sum().backward()
        return _grads(a, z), first, y.grad_fn.name(), y.detach().numpy().tolist()

    names = _both(run)[1:3]
    assert names == ("torch::autograd::CopySlices",) * 2  # y[0] = 5 was a WhereBackward0


@pytest.mark.parametrize(
    "write",
    [
        lambda lib, y: y[1].add_(1),
        lambda lib, y: y[:, 1].mul_(3),
        lambda lib, y: y[1, 2].pow_(2),
        lambda lib, y: y.select(1, 2).zero_(),
        lambda lib, y: y.narrow(1, 0, 2).clamp_(min=0.0),
        lambda lib, y: y[1][1:].mul_(3),  # a view of a view
        lambda lib, y: y[0].sigmoid_(),
        lambda lib, y: y[:, ::2].exp_(),
        lambda lib, y: y[1].masked_fill_(lib.tensor([True, False, True]), 0.5),
        lambda lib, y: y[1].fill_(2.0),
        lambda lib, y: y.t().mul_(3),  # views over the whole base, in another layout
        lambda lib, y: y.T[0].add_(1),
        lambda lib, y: y.view(6)[1:3].mul_(3),
        lambda lib, y: y.unsqueeze(0).exp_(),
        lambda lib, y: y.transpose(0, 1).unsqueeze(0)[0, 1].pow_(2),
    ],
)
def test_a_write_into_a_view_matches_pytorch(write):
    def run(lib):
        a = _t(lib, A)
        y = a * 2
        u = y + 1  # read the base before the write
        write(lib, y)
        (3 * u.sum() + (y * y).sum()).backward()
        return _grads(a), y.grad_fn.name(), y.detach().numpy().tolist()

    ours, theirs = run(cr), run(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    assert ours[1] == theirs[1] == "torch::autograd::CopySlices"


def test_python_s_augmented_index_assignment():
    # y[0] += 5 is v = y[0]; v += 5; y[0] = v: the last write puts v where it already is
    def run(lib):
        a = _t(lib, A)
        y = a * 2
        y[0] += 5
        y[:, 1] *= 3
        y[1, 2] -= 1
        y[0][2] /= 4
        (y * y).sum().backward()
        return _grads(a), y.detach().numpy().tolist()

    _both(run)


def test_the_view_and_its_readers_follow_the_write():
    def run(lib):
        a = _t(lib, A)
        y = a * 2
        v = y[:, 1]
        before = v + 1  # read the view before the write
        v.mul_(3)
        after = v * 2  # the view after it: a view of the base's new version
        (10 * before.sum() + after.sum() + (y * y).sum() + (v * v).sum()).backward()
        names = [before.grad_fn.next_functions[0][0].name(), v.grad_fn.name()]
        return _grads(a), names, v.detach().numpy().tolist()

    assert _both(run)[1] == ["SelectBackward0", "AsStridedBackward0"]


def test_a_held_transposed_view_follows_the_write():
    def run(lib):
        a = _t(lib, A)
        y = a * 2
        v = y.t()
        v.mul_(3)
        v[0].add_(1)
        (7 * v.sum() + (y * y).sum()).backward()
        return _grads(a), v.grad_fn.name(), y.detach().numpy().tolist()

    assert _both(run)[1] == "AsStridedBackward0"


def test_a_write_from_a_tensor_that_requires_grad():
    def run(lib):
        a, z = _t(lib, A), _t(lib, [1.0, 2.0])
        y = a * 2
        y[:, 0].copy_(z * 3)
        y[0, 1:] = z
        (y * y).sum().backward()
        return _grads(a, z)

    _both(run)


def test_second_derivatives_through_a_view_write():
    def run(lib):
        a = _t(lib, A)
        y = a * a
        y[:, 1].mul_(y[:, 0].detach() + 1)
        y[0, 2].pow_(2)
        (grad,) = lib.autograd.grad((y * y).sum(), a, create_graph=True)
        grad.sum().backward()
        return _grads(a)

    _both(run)


def test_view_writes_pass_finite_differences():
    def fn(x, w):
        y = x * w
        y[:, 1].mul_(w[:, 0])
        y[0].add_(x[1])
        y.narrow(0, 1, 1).copy_(w[:1] * 2)
        return y.tanh()

    rng = np.random.default_rng(3)
    x, w = (cr.tensor(rng.standard_normal((2, 3)), True, "float64") for _ in range(2))
    assert cr.gradcheck(fn, x, w)


def test_views_chainrule_does_not_rebuild_are_refused():
    y = _t(cr, A) * 2
    other = y[0]  # another live view of the base: PyTorch rebuilds its history, chainrule not
    with pytest.raises(cr.GraphError, match="still holds"):
        y[1].mul_(3)
    del other
    with pytest.raises(cr.GraphError, match="still holds"):
        y.diagonal().mul_(3)  # a view chainrule does not write through
    with pytest.raises(cr.GraphError, match="view of a leaf tensor that requires grad"):
        _t(cr, A)[0].mul_(3)  # as PyTorch
    y[1].mul_(3)  # (nothing else holds y's memory now)


def test_a_view_with_retain_grad_or_a_base_with_hooks_is_refused():
    # (their hooks belong to the values before the write, as for any write: inplace_graph)
    y = _t(cr, A) * 2
    v = y[:, 1]
    v.retain_grad()
    with pytest.raises(cr.GraphError, match="retain_grad"):
        v.mul_(3)
    z = _t(cr, A) * 2
    z.register_hook(lambda grad: grad * 10)
    with pytest.raises(cr.GraphError, match="hooks"):
        z[0].mul_(3)


def test_repeated_writes_into_a_held_view_match_pytorch():
    def run(lib):
        a = _t(lib, A)
        y = a * 2
        v = y[:, 1]
        v.mul_(3)
        v.add_(1)
        (v * v).sum().backward(retain_graph=True)
        (y * y).sum().backward()
        return _grads(a), v.grad_fn.name()

    _both(run)


def test_a_reshaped_view_of_a_tensor_in_use_is_written_through_it():
    # (was refused: GraphError "a view of memory ... still holds")
    def run(lib):
        a = _t(lib, [[0.5, -1.0], [2.0, 3.0]])
        b = a * 2
        v = b.view(4)
        v += 1
        (b * b).sum().backward()
        return _grads(a), b.grad_fn.name(), v.grad_fn.name()

    _both(run)


@pytest.mark.parametrize(
    "activate",
    [
        lambda lib, v: lib.nn.functional.relu(v, inplace=True),
        lambda lib, v: lib.nn.ReLU(inplace=True)(v),
        lambda lib, v: lib.nn.functional.hardtanh(v, -1.0, 4.0, inplace=True),
        lambda lib, v: lib.nn.functional.leaky_relu_(v, 0.1),
    ],
)
def test_an_inplace_activation_on_a_view_writes_the_base(activate):
    # was a new tensor: y kept its values (PyTorch's y had the activation's)
    def run(lib):
        a = _t(lib, A)
        y = a * 2
        v = y[:, 1]
        assert activate(lib, v) is v
        (y * y).sum().backward()
        return _grads(a), y.detach().numpy().tolist()

    _both(run)


def test_assigning_a_detached_view_cuts_the_gradient_or_refuses():
    # y[0] = y[0].detach() is no write of a view's new values: never skipped as one
    a = _t(cr, A)
    y = a * 2
    with pytest.raises(cr.GraphError, match="still holds"):
        y[0] = y[0].detach()  # (its memory is y's: refused, where PyTorch cuts y[0]'s gradient)

    def run(lib):
        a = _t(lib, A)
        y = a * 2
        y[0] = y[0].detach().clone()
        (y * y).sum().backward()
        return _grads(a)

    assert _both(run)[0][0] == [0.0, 0.0, 0.0]
