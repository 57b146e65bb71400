"""CELU, SELU, RReLU, Hardshrink, Softshrink (functions, in-place forms, modules) and
gumbel_softmax against PyTorch: values and gradients in float32 and float64 over several
shapes, float64 finite differences, PyTorch's values and gradients at the kinks, second
derivatives, reprs, errors; RReLU's random slopes by their statistics and reproducibility."""

import numpy as np
import pytest
from tests.ops.op_check import UNARY, case, check_case, ids

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def off(*kinks):
    """A domain: normal values times 2, kept 0.05 away from each kink."""

    def domain(rng, shape):
        x = rng.standard_normal(shape) * 2
        for k in kinks:
            near = np.abs(x - k) < 0.05
            x = np.where(near, k + np.where(x >= k, 0.05, -0.05), x)
        return x

    return domain


CASES = [
    *case("celu", F.celu, TF.celu, UNARY, domain=off(0.0)),
    *case("celu_2", lambda x: F.celu(x, 2.0), lambda t: TF.celu(t, 2.0), UNARY, domain=off(0)),
    *case("celu_neg", lambda x: F.celu(x, alpha=-1.5), lambda t: TF.celu(t, -1.5), UNARY[1:]),
    *case("selu", F.selu, TF.selu, UNARY, domain=off(0.0)),
    *case("hardshrink", F.hardshrink, TF.hardshrink, UNARY, domain=off(-0.5, 0.5)),
    *case(
        "hardshrink_1",
        lambda x: F.hardshrink(x, lambd=1.0),
        lambda t: TF.hardshrink(t, 1.0),
        UNARY,
        domain=off(-1.0, 1.0),
    ),
    *case("softshrink", F.softshrink, TF.softshrink, UNARY, domain=off(-0.5, 0.5)),
    *case(
        "softshrink_0",
        lambda x: F.softshrink(x, 0.0),
        lambda t: TF.softshrink(t, 0.0),
        UNARY,
        domain=off(0.0),
    ),
    *case("rrelu_eval", F.rrelu, TF.rrelu, UNARY, domain=off(0.0)),
    *case(
        "rrelu_eval_args",
        lambda x: F.rrelu(x, 0.1, 0.3),
        lambda t: TF.rrelu(t, 0.1, 0.3),
        UNARY,
        domain=off(0.0),
    ),
    # lower == upper: the training slopes are all that number, in PyTorch too
    *case(
        "rrelu_train_fixed",
        lambda x: F.rrelu(x, 0.2, 0.2, True),
        lambda t: TF.rrelu(t, 0.2, 0.2, True),
        UNARY,
        domain=off(0.0),
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_against_torch(c, dtype):
    check_case(c, dtype)


EDGES = [-np.inf, -2.0, -0.6, -0.5, -0.4, -0.0, 0.0, 0.4, 0.5, 0.6, 2.0, np.inf, np.nan]
EDGE_FUNCTIONS = {
    "celu": (F.celu, TF.celu),
    "celu_half": (lambda x: F.celu(x, 0.5), lambda t: TF.celu(t, 0.5)),
    "selu": (F.selu, TF.selu),
    "hardshrink": (F.hardshrink, TF.hardshrink),
    "softshrink": (F.softshrink, TF.softshrink),
    "softshrink_0": (lambda x: F.softshrink(x, 0), lambda t: TF.softshrink(t, 0)),
    "rrelu": (F.rrelu, TF.rrelu),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(EDGE_FUNCTIONS))
def test_kinks_infinities_and_nan_as_torch(name, dtype):
    ours, theirs = EDGE_FUNCTIONS[name]
    x = cr.tensor(np.array(EDGES, dtype), requires_grad=True)
    t = torch.tensor(np.array(EDGES, dtype), requires_grad=True)
    out, ref = ours(x), theirs(t)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6, equal_nan=True)
    if not name.startswith(
        "softshrink"
    ):  # (PyTorch's sign of softshrink's zeros depends on its kernel)
        assert np.array_equal(np.signbit(out.data), np.signbit(ref.detach().numpy()))
    out.backward(np.ones(len(EDGES), dtype))
    ref.backward(torch.ones(len(EDGES), dtype=t.dtype))
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ["celu", "celu_half", "selu"])
def test_second_derivatives_as_torch_including_zero(name):
    ours, theirs = EDGE_FUNCTIONS[name]
    values = np.array([-2.0, -0.3, 0.0, 0.7], np.float64)
    x = cr.tensor(values, dtype="float64", requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    (g,) = cr.autograd.grad(ours(x).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(theirs(t).sum(), t, create_graph=True)
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-12)
    (gg,) = cr.autograd.grad((g * g).sum(), x)
    (ggt,) = torch.autograd.grad((gt * gt).sum(), t)
    np.testing.assert_allclose(gg.data, ggt.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.celu(x * x - 1, 0.7),
        lambda x: F.selu(x * x - 1),
        lambda x: F.softshrink(x * x, 0.1) * x,
        lambda x: F.hardshrink(x * 3) * x,
        lambda x: F.rrelu(x * x - 1, 0.1, 0.2, True, generator=cr.Generator(0)) * x,
    ],
)
def test_gradgradcheck(fn):
    x = cr.tensor(
        np.random.default_rng(3).uniform(0.3, 1.7, (3, 4)), dtype="float64", requires_grad=True
    )
    gradgradcheck(fn, x)


def test_rrelu_training_draws_one_slope_per_element_reproducibly():
    values = -np.abs(np.random.default_rng(0).standard_normal((200, 50))) - 0.1
    x = cr.tensor(np.concatenate([values, -values], axis=1), dtype="float64", requires_grad=True)
    cr.manual_seed(7)
    out = F.rrelu(x, 0.1, 0.4, training=True)
    slopes = out.data[:, :50] / values
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.4 + 1e-6
    assert abs(slopes.mean() - 0.25) < 0.005  # uniform on [0.1, 0.4]
    assert abs(slopes.std() - 0.3 / np.sqrt(12)) < 0.005
    assert len(np.unique(slopes)) > 9000  # a slope per element, not one per call
    np.testing.assert_array_equal(out.data[:, 50:], -values)  # positives pass unchanged
    out.backward(np.ones(out.shape, np.float32))
    np.testing.assert_allclose(x.grad[:, :50], slopes, rtol=1e-5)  # the gradient is the slope
    np.testing.assert_array_equal(x.grad[:, 50:], 1.0)
    cr.manual_seed(7)
    np.testing.assert_array_equal(F.rrelu(x, 0.1, 0.4, training=True).data, out.data)
    assert not np.array_equal(F.rrelu(x, 0.1, 0.4, training=True).data, out.data)


def test_rrelu_module_is_random_in_training_and_fixed_in_eval():
    layer = nn.RReLU(0.1, 0.3, generator=cr.Generator(1))
    x = cr.tensor(-np.ones((4, 1000)))
    slopes = -layer(x).numpy()
    assert 0.19 < slopes.mean() < 0.21 and slopes.std() > 0.05
    again = nn.RReLU(0.1, 0.3, generator=cr.Generator(1))(x).numpy()
    np.testing.assert_array_equal(-again, slopes)  # its own generator: the same slopes
    layer.eval()
    np.testing.assert_allclose(layer(x).numpy(), -0.2, rtol=1e-6)


def test_gumbel_softmax_is_softmax_of_logits_plus_the_drawn_noise_as_torch():
    from chainrule.ops.gumbel_softmax import gumbel_noise

    logits = np.random.default_rng(2).standard_normal((4, 5))
    for dim, tau in ((-1, 1.0), (0, 0.5)):
        noise = gumbel_noise(cr.Generator(3), logits.shape, np.float64)
        x = cr.tensor(logits, dtype="float64", requires_grad=True)
        out = F.gumbel_softmax(x, tau=tau, dim=dim, generator=cr.Generator(3))
        t = torch.tensor(logits, requires_grad=True)
        ref = torch.softmax((t + torch.tensor(noise)) / tau, dim)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
        weights = np.random.default_rng(4).standard_normal(logits.shape)
        (out * cr.tensor(weights, dtype="float64")).sum().backward()
        (ref * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = np.random.default_rng(5).standard_normal((6, 4)).astype(np.float32)
    x = cr.tensor(logits, requires_grad=True)
    hard = F.gumbel_softmax(x, tau=0.5, hard=True, dim=1, generator=cr.Generator(9))
    soft_x = cr.tensor(logits, requires_grad=True)
    soft = F.gumbel_softmax(soft_x, tau=0.5, dim=1, generator=cr.Generator(9))
    assert hard.dtype == np.float32
    np.testing.assert_allclose(hard.data.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(hard.data.argmax(1), soft.data.argmax(1))
    assert set(np.round(hard.data, 5).ravel()) == {0.0, 1.0}
    weights = cr.tensor(np.random.default_rng(6).standard_normal((6, 4)).astype(np.float32))
    (hard * weights).sum().backward()
    (soft * weights).sum().backward()
    np.testing.assert_allclose(x.grad, soft_x.grad, rtol=1e-6)  # straight through
    # PyTorch's statistics: the one-hot falls on category k with probability softmax(logits)_k
    cr.manual_seed(0)
    probs = np.array([0.1, 0.2, 0.7])
    many = F.gumbel_softmax(cr.tensor(np.log(np.tile(probs, (20000, 1)))), hard=True)
    np.testing.assert_allclose(many.numpy().mean(axis=0), probs, atol=0.012)


def test_gumbel_softmax_edge_cases_and_errors_as_torch():
    out = F.gumbel_softmax(cr.tensor(1.5), hard=True)
    assert out.shape == () and out.item() == 1.0
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(cr.zeros(3), eps=1e-5)
    with pytest.raises(IndexError, match="out of range|dimension"):
        F.gumbel_softmax(cr.zeros(2, 3), dim=2)
    with pytest.raises(cr.DTypeError, match="floating"):
        F.gumbel_softmax(cr.tensor([1, 2, 3]))
    cr.manual_seed(11)
    a = F.gumbel_softmax(cr.zeros(3, 4)).numpy()
    cr.manual_seed(11)
    np.testing.assert_array_equal(F.gumbel_softmax(cr.zeros(3, 4)).numpy(), a)


def test_in_place_forms_write_the_input_as_torch():
    values = np.array([-1.5, -0.2, 0.0, 0.3, 2.0], np.float32)
    for ours, theirs, args in [
        (F.celu_, TF.celu_, (0.5,)),
        (F.selu_, TF.selu_, ()),
        (F.rrelu_, TF.rrelu_, (0.1, 0.3)),
        (F.rrelu_, TF.rrelu_, (0.2, 0.2, True)),
    ]:
        x, t = cr.tensor(values.copy()), torch.tensor(values.copy())
        assert ours(x, *args) is x
        theirs(t, *args)
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
    for fn in (F.celu, F.selu, F.rrelu):
        x = cr.tensor(values.copy())
        assert fn(x, inplace=True) is x
        assert fn(x, inplace=False) is not x
    x = cr.tensor(values.copy())
    assert F.celu(x, 2.0, True) is x  # inplace by position, as PyTorch's signature
    np.testing.assert_allclose(x.numpy(), TF.celu(torch.tensor(values), 2.0).numpy(), rtol=1e-6)
    leaf = cr.tensor(values.copy(), requires_grad=True)
    with pytest.raises(cr.GraphError, match="celu_"):
        F.celu_(leaf)
    with pytest.raises(TypeError, match="Tensor"):
        F.selu_(values.copy())


def test_argument_errors_name_the_problem():
    x = cr.tensor([1.0, -1.0])
    with pytest.raises(RuntimeError, match="alpha cannot be 0"):
        F.celu(x, 0.0)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, .*float32.*found -1"):
        F.softshrink(x, -1.0)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        F.rrelu(x, 0.5, 0.1)
    with pytest.raises(RuntimeError, match="Lower bound"):
        F.rrelu(x, 0.5, 0.1, True)
    for fn in (F.celu, F.selu, F.rrelu, F.hardshrink, F.softshrink):
        with pytest.raises(NotImplementedError, match="floating-point"):
            fn(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="number"):
        F.hardshrink(x, "0.5")
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        nn.CELU(float("nan"))


@pytest.mark.parametrize(
    "make",
    [
        lambda n: n.CELU(),
        lambda n: n.CELU(2, True),
        lambda n: n.CELU(alpha=0.5),
        lambda n: n.SELU(),
        lambda n: n.SELU(True),
        lambda n: n.RReLU(),
        lambda n: n.RReLU(0.1, 0.3, True),
        lambda n: n.Hardshrink(),
        lambda n: n.Hardshrink(1),
        lambda n: n.Softshrink(),
        lambda n: n.Softshrink(lambd=0.25),
    ],
)
def test_module_reprs_and_outputs_as_torch(make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    ours.eval(), theirs.eval()
    values = np.random.default_rng(8).standard_normal((3, 4))
    out = ours(cr.tensor(values, dtype="float64"))
    np.testing.assert_allclose(out.data, theirs(torch.tensor(values)).numpy(), rtol=1e-12)
    assert out.dtype == np.float64


def test_inplace_modules_write_the_input_only_outside_the_graph():
    values = np.array([-1.0, 2.0], np.float32)
    x = cr.tensor(values.copy())
    assert nn.SELU(inplace=True)(x) is x
    leaf = cr.tensor(values.copy(), requires_grad=True)
    out = nn.CELU(inplace=True)(leaf)
    assert out is not leaf and np.array_equal(leaf.data, values)
    out.sum().backward()
    np.testing.assert_allclose(leaf.grad, [np.exp(-1.0), 1.0], rtol=1e-6)


def test_modules_round_trip_through_a_saved_architecture():
    import json

    from chainrule.nn.registry import module_from_config, module_to_config

    model = nn.Sequential(
        nn.Linear(3, 4),
        nn.CELU(2),
        nn.SELU(True),
        nn.RReLU(0.1, 0.2),
        nn.Hardshrink(1),
        nn.Softshrink(0.25),
    )
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert repr(rebuilt) == repr(model)


@pytest.mark.parametrize("name", ["chainrule.ops.activation_more", "chainrule.ops.gumbel_softmax"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("name", ["celu", "selu"])
def test_second_derivative_is_finite_for_large_inputs(name):
    ours, theirs = EDGE_FUNCTIONS[name]
    values = np.array([-800.0, -3.0, 5.0, 800.0])
    x = cr.tensor(values, dtype="float64", requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    (g,) = cr.autograd.grad(ours(x).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(theirs(t).sum(), t, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    (ggt,) = torch.autograd.grad(gt.sum(), t)
    np.testing.assert_allclose(gg.data, ggt.numpy(), rtol=1e-12)
