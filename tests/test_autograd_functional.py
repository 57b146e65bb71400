"""``cr.autograd.functional`` (vjp, jvp, jacobian, hessian, vhp, hvp) against PyTorch's
``torch.autograd.functional``: values, the nesting of tuples, ``requires_grad`` of results,
``create_graph=True`` results differentiated again, and the errors (type and message)."""

import re

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import chainrule as cr
from chainrule.autograd import functional as F

RNG = np.random.default_rng(0)
A = RNG.standard_normal(3)
W1 = RNG.standard_normal((4, 3))
W2 = RNG.standard_normal((2, 4))
M = RNG.standard_normal((2, 3))


def _t(lib, array, requires_grad=False):
    return lib.tensor(np.array(array), dtype=lib.float64, requires_grad=requires_grad)


def _assert_same(ours, theirs, where=""):
    if isinstance(theirs, (tuple, list)):  # a list where PyTorch's forward mode makes one
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _assert_same(o, t, f"{where}[{i}]")
        return
    assert isinstance(ours, cr.Tensor), where
    assert tuple(ours.shape) == tuple(theirs.shape), where
    assert ours.requires_grad == theirs.requires_grad, where
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=where
    )


# ---- the functions: each built against lib (chainrule or torch) -------------------------------
def elementwise(lib):
    return lambda x: x.tanh() * x + x.exp()


def mlp(lib):
    w1, w2 = _t(lib, W1), _t(lib, W2)
    return lambda x: w2 @ (w1 @ x).tanh()


def two_in_two_out(lib):
    return lambda x, m: ((m @ x).sigmoid(), (x * x).sum() * m)


def scalar_out(lib):
    w1 = _t(lib, W1)
    return lambda x: ((w1 @ x).tanh() ** 2).sum()


def scalar_two_in(lib):
    return lambda x, m: ((m @ x).tanh() ** 2).sum() + (m * m).sum() * x[0]


def unused_input(lib):
    return lambda x, m: (x**3).sum()


def _inputs(case, lib, requires_grad=False):
    x = _t(lib, A, requires_grad)
    if case in ("two_in_two_out", "scalar_two_in", "unused_input"):
        return (x, _t(lib, M, requires_grad))
    return x


def _v_out(case, lib):
    """A vector shaped like the case's output."""
    if case == "elementwise":
        return _t(lib, A[::-1].copy())
    if case == "mlp":
        return _t(lib, [0.5, -2.0])
    if case == "two_in_two_out":
        return (_t(lib, [1.0, -1.0]), _t(lib, M[::-1].copy()))
    return _t(lib, 1.5)


def _v_in(case, lib):
    """A vector shaped like the case's inputs."""
    v = _t(lib, [0.3, -1.0, 2.0])
    return (v, _t(lib, M * 0.5)) if isinstance(_inputs(case, lib), tuple) else v


CASES = {
    "elementwise": elementwise,
    "mlp": mlp,
    "two_in_two_out": two_in_two_out,
    "scalar_out": scalar_out,
    "scalar_two_in": scalar_two_in,
    "unused_input": unused_input,
}
SCALAR = ["scalar_out", "scalar_two_in", "unused_input"]


def _both(call):
    return call(cr, F), call(torch, TF)


# ---- values and structure ---------------------------------------------------------------------
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_vjp_jvp_jacobian_match_pytorch(case, create_graph):
    def call(lib, mod):
        f, rg = CASES[case](lib), create_graph
        return (
            mod.vjp(f, _inputs(case, lib, rg), _v_out(case, lib), create_graph=create_graph),
            mod.jvp(f, _inputs(case, lib, rg), _v_in(case, lib), create_graph=create_graph),
            mod.jacobian(f, _inputs(case, lib, rg), create_graph=create_graph),
            mod.jacobian(f, _inputs(case, lib), vectorize=True),
            mod.jacobian(f, _inputs(case, lib, rg), vectorize=True, strategy="forward-mode"),
        )

    _assert_same(*_both(call))


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("case", SCALAR)
def test_hessian_vhp_hvp_match_pytorch(case, create_graph):
    def call(lib, mod):
        f, rg = CASES[case](lib), create_graph
        return (
            mod.hessian(f, _inputs(case, lib, rg), create_graph=create_graph),
            mod.hessian(f, _inputs(case, lib), vectorize=True),
            mod.vhp(f, _inputs(case, lib, rg), _v_in(case, lib), create_graph=create_graph),
            mod.hvp(f, _inputs(case, lib, rg), _v_in(case, lib), create_graph=create_graph),
        )

    _assert_same(*_both(call))


def test_v_may_be_omitted_for_one_element():
    def call(lib, mod):
        x = _t(lib, [0.7])
        cube = lambda x: (x**3).sum()  # noqa: E731
        return (
            mod.vjp(cube, x),
            mod.jvp(cube, x),
            mod.vhp(cube, x),
            mod.hvp(cube, x),
            mod.jacobian(cube, _t(lib, 2.0)),
            mod.hessian(cube, _t(lib, 2.0)),
        )

    _assert_same(*_both(call))


def test_identity_and_constant_outputs():
    def call(lib, mod):
        x = _t(lib, A)
        const = lambda x: (x * 0 + 1).detach()  # noqa: E731
        return (
            mod.jacobian(lambda x: x, x),
            mod.jacobian(const, x),
            mod.vjp(const, x, _t(lib, A)),
            mod.jvp(const, x, _t(lib, A)),
        )

    _assert_same(*_both(call))


# ---- create_graph: the results differentiate again --------------------------------------------
@pytest.mark.parametrize("fn", ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"])
def test_create_graph_results_differentiate_again(fn):
    def call(lib, mod):
        x = _t(lib, A, requires_grad=True)
        f = scalar_out(lib) if fn in ("hessian", "vhp", "hvp") else mlp(lib)
        if fn == "jacobian" or fn == "hessian":
            result = getattr(mod, fn)(f, x, create_graph=True)
        else:
            v = _v_out("mlp", lib) if fn == "vjp" else _t(lib, [0.3, -1.0, 2.0])
            result = getattr(mod, fn)(f, x, v, create_graph=True)[1]
        (result * result).sum().backward()
        return x.grad, x.requires_grad

    ours, theirs = _both(call)
    _assert_same(ours[0], theirs[0])
    assert ours[1] and theirs[1]


def test_create_graph_then_autograd_grad_of_hvp():
    def call(lib, mod):
        x = _t(lib, A, requires_grad=True)
        _, hv = mod.hvp(scalar_out(lib), x, _t(lib, [1.0, 0.5, -0.5]), create_graph=True)
        return lib.autograd.grad(hv.sum(), x)

    _assert_same(*_both(call))


# ---- the caller's tensors ---------------------------------------------------------------------
def test_inputs_are_not_changed():
    x, v = _t(cr, A), _t(cr, A)
    F.vjp(elementwise(cr), x, v)
    F.hessian(scalar_out(cr), x)
    assert not x.requires_grad and not v.requires_grad and x.grad is None
    y = cr.tensor(A, requires_grad=True)
    jac = F.jacobian(elementwise(cr), y)
    assert y.grad is None and not jac.requires_grad and y.is_leaf


def test_works_under_no_grad():
    def call(lib, mod):
        with lib.no_grad():
            x = _t(lib, A, requires_grad=True)
            return mod.jacobian(mlp(lib), x), mod.hvp(scalar_out(lib), x, _t(lib, A))

    _assert_same(*_both(call))


def test_reachable_as_cr_autograd_functional_and_as_torch_alias():
    from chainrule.torch_compat import ALIASES

    assert cr.autograd.functional is F
    assert ALIASES["torch.autograd.functional"] == "chainrule.autograd.functional"
    assert set(F.__all__) == set(TF.__all__)


# ---- errors: PyTorch's type and message -------------------------------------------------------
def _errors(lib, mod):
    x, m = _t(lib, A), _t(lib, M)
    lin = lambda x, m: x * 2  # noqa: E731
    const = lambda x: (x * 0).detach()  # noqa: E731
    return {
        "vjp strict unused": lambda: mod.vjp(lin, (x, m), _t(lib, A), strict=True),
        "vjp strict constant": lambda: mod.vjp(const, x, _t(lib, A), strict=True),
        "jvp strict unused": lambda: mod.jvp(lin, (x, m), (x, m), strict=True),
        "jacobian strict unused": lambda: mod.jacobian(lin, (x, m), strict=True),
        "jacobian strict+vectorize": lambda: mod.jacobian(lin, (x, m), strict=True, vectorize=True),
        "jacobian strict create_graph": lambda: mod.jacobian(
            lambda x: x * 2, x, strict=True, create_graph=True
        ),
        "hessian strict linear": lambda: mod.hessian(lambda x: x.sum(), x, strict=True),
        "hessian strict unused": lambda: mod.hessian(
            lambda x, m: (x**3).sum(), (x, m), strict=True
        ),
        "vhp strict linear": lambda: mod.vhp(lambda x: x.sum(), x, x, strict=True),
        "hvp strict linear": lambda: mod.hvp(lambda x: x.sum(), x, x, strict=True),
        "vhp strict unused": lambda: mod.vhp(
            lambda x, m: (x**3).sum(), (x, m), (x, m), strict=True
        ),
        "hessian non-scalar": lambda: mod.hessian(lambda x: x * x, x),
        "hessian tuple output": lambda: mod.hessian(lambda x: (x.sum(),), x),
        "hvp non-scalar": lambda: mod.hvp(lambda x: x * x, x, x),
        "v wrong shape": lambda: mod.vjp(lambda x: x * x, x, m),
        "v wrong shape in tuple": lambda: mod.jvp(lin, (x, m), (x, x)),
        "v tuple wrong length": lambda: mod.jvp(lin, (x, m), (x,)),
        "v single for a tuple": lambda: mod.vjp(lin, x, (x, x)),
        "v None for non-scalar": lambda: mod.vjp(lambda x: x * x, x),
        "v None for vector input": lambda: mod.jvp(lambda x: x * x, x),
        "output not a tensor": lambda: mod.jacobian(lambda x: 3, x),
        "output tuple with non-tensor": lambda: mod.vjp(lambda x: (x, 3), x, (x, x)),
        "input not a tensor": lambda: mod.jacobian(lambda x: x, [1.0, 2.0]),
        "v not a tensor": lambda: mod.vjp(lambda x: x, x, 1.0),
        "forward-mode create_graph": lambda: mod.jacobian(
            lambda x: x, x, create_graph=True, strategy="forward-mode"
        ),
        "forward-mode strict": lambda: mod.jacobian(
            lambda x: x, x, strict=True, strategy="forward-mode"
        ),
        "forward-mode not vectorized": lambda: mod.jacobian(
            lambda x: x, x, strategy="forward-mode"
        ),
    }


def _size(match) -> str:
    dims = tuple(int(d) for d in match[1].split(",") if d.strip())
    return str(dims)


def _message(text):
    """PyTorch prints sizes as torch.Size([2, 3]), chainrule as the tuple (2, 3); and one of
    PyTorch's messages misses a space ("isonly")."""
    return re.sub(r"torch\.Size\(\[([^\]]*)\]\)", _size, text).replace("isonly", "is only")


@pytest.mark.parametrize("name", list(_errors(torch, TF)))
def test_errors_match_pytorch(name):
    with pytest.raises(Exception) as theirs:
        _errors(torch, TF)[name]()
    with pytest.raises(Exception) as ours:
        _errors(cr, F)[name]()
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value))
    assert str(ours.value) == _message(str(theirs.value))


def test_invalid_strategy():
    x = cr.tensor(A)
    with pytest.raises(ValueError, match="forward-mode"):
        F.jacobian(lambda x: x, x, strategy="forward")
    with pytest.raises(ValueError, match="forward-mode"):
        F.hessian(lambda x: x.sum(), x, outer_jacobian_strategy="backward")


def _detached(result):
    if isinstance(result, (tuple, list)):
        return type(result)(_detached(r) for r in result)
    return result.detach()


@pytest.mark.parametrize("case", SCALAR)
def test_forward_over_reverse_hessian_matches_pytorch(case):
    """``outer_jacobian_strategy="forward-mode"``: PyTorch's result happens to require grad
    (its graph reaches only its own copies of the inputs); chainrule's is detached, as every
    result without ``create_graph``. The values and the nesting (lists) agree."""

    def call(lib, mod):
        kwargs = {"vectorize": True, "outer_jacobian_strategy": "forward-mode"}
        return _detached(mod.hessian(CASES[case](lib), _inputs(case, lib), **kwargs))

    _assert_same(*_both(call))


def test_forward_mode_jacobian_edge_cases_match_pytorch():
    def call(lib, mod):
        x, m = _t(lib, A), _t(lib, M)
        kwargs = {"vectorize": True, "strategy": "forward-mode"}
        return (
            mod.jacobian(lambda x, m: x * 2, (x, m), **kwargs),  # m unused: zeros
            mod.jacobian(lambda x: x.sum(), x, **kwargs),  # a scalar output
            mod.jacobian(lambda x: (x * 0 + 1).detach(), x, **kwargs),  # out of the graph
            mod.jacobian(lambda x: x[:0] * 2, x, **kwargs),  # an empty output
            mod.jacobian(lambda x: (x[None] * m).relu(), x, **kwargs),
        )

    _assert_same(*_both(call))


def test_forward_mode_jacobian_stays_in_the_callers_graph_as_pytorchs():
    """Forward AD detaches nothing: with inputs that require grad, PyTorch's forward-mode
    Jacobian is differentiable by them (not under no_grad); so is chainrule's."""
    grads = []
    for lib, mod in ((cr, F), (torch, TF)):
        x = _t(lib, A, requires_grad=True)
        jac = mod.jacobian(elementwise(lib), x, vectorize=True, strategy="forward-mode")
        (jac * _t(lib, W1[:3])).sum().backward()
        grads.append(x.grad.numpy())
        with lib.no_grad():
            assert not mod.jacobian(
                elementwise(lib), x, vectorize=True, strategy="forward-mode"
            ).requires_grad
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)
