"""``inference_mode`` makes inference tensors, as PyTorch's: ``is_inference()``, the errors on
in-place writes, ``requires_grad_()`` and saving one for backward outside the block, and what
still works (ops that do not record, ops that save nothing, copies, ``clone()``)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _behaviour(lib):
    """The same script under PyTorch and chainrule: what each step gives or raises."""
    seen = {}

    def step(name, fn):
        try:
            value = fn()
            seen[name] = value.tolist() if hasattr(value, "tolist") else value
        except RuntimeError:  # PyTorch's RuntimeError; chainrule's GraphError is one
            seen[name] = "RuntimeError"

    normal = lib.ones(2)
    with lib.inference_mode():
        made = lib.ones(2)
        computed = normal * 2
        seen["inside"] = (lib.is_inference_mode_enabled(), lib.is_grad_enabled())
        step("write a normal tensor inside", lambda: normal.add_(1))
        step("write an inference tensor inside", lambda: made.mul_(1))
        with lib.inference_mode(False):
            seen["inference_mode(False)"] = (
                lib.ones(1).is_inference(),
                lib.is_grad_enabled(),
                lib.is_inference_mode_enabled(),
            )
    seen["marks"] = (
        made.is_inference(),
        computed.is_inference(),
        normal.is_inference(),
        made.detach().is_inference(),
        made.clone().is_inference(),
        (made + 1).is_inference(),
        lib.is_inference(made),
    )
    seen["after"] = (lib.is_inference_mode_enabled(), lib.is_grad_enabled())
    w = lib.ones(2, requires_grad=True)
    step("requires_grad_", lambda: made.requires_grad_())
    step("mul records and saves it", lambda: (w * made).sum())
    step("linear saves it", lambda: lib.nn.functional.linear(made, w[None]))

    def add_then_backward():
        (w + made).sum().backward()  # add saves no tensor: allowed
        return w.grad

    step("add records, saves nothing", add_then_backward)
    step("clone then mul", lambda: (w * made.clone()).sum())
    step("copy into a normal tensor", lambda: lib.zeros(2).copy_(made))
    step("read", lambda: made.sum())
    # last: PyTorch raises on these after writing (chainrule refuses before writing)
    step("add_", lambda: made.add_(1))
    step("zero_", lambda: made.zero_())

    @lib.inference_mode()
    def decorated():
        return lib.ones(1).is_inference()

    seen["decorator"] = decorated()
    return seen


def test_inference_tensors_behave_as_pytorchs():
    ours, theirs = _behaviour(cr), _behaviour(torch)
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_errors_name_the_problem_and_the_fix_and_change_nothing():
    with cr.inference_mode():
        x = cr.ones(3)
    with pytest.raises(cr.errors.GraphError, match=r"inference tensor.*clone\(\)"):
        x[0] = 5.0
    assert x.tolist() == [1.0, 1.0, 1.0]  # refused before writing
    w = cr.ones(3, requires_grad=True)
    with pytest.raises(cr.errors.GraphError, match="cannot be saved for backward.*Mul"):
        w * x
    with cr.no_grad():
        assert (w * x).tolist() == [1.0, 1.0, 1.0]  # nothing recorded: allowed


def test_a_model_evaluated_under_inference_mode_trains_again_afterwards():
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1))
    data = cr.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    with cr.inference_mode():
        predictions = model(data)
    assert predictions.is_inference() and not predictions.requires_grad
    assert not any(p.is_inference() for p in model.parameters())
    loss = ((model(data) - predictions.clone()) ** 2).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_copies_of_inference_tensors_are_counted_so_refusals_keep_working():
    import copy
    import pickle

    with cr.inference_mode():
        made = cr.ones(2)
    copied, unpickled = copy.deepcopy(made), pickle.loads(pickle.dumps(made))
    assert copied.is_inference() and unpickled.is_inference()
    del copied, unpickled  # two fewer: `made` must still be refused
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(cr.errors.GraphError, match="cannot be saved for backward"):
        w * made


def _grad_mode_inside(lib):
    """enable_grad / set_grad_enabled inside inference_mode: what is reported and recorded."""
    x = lib.ones(3, requires_grad=True)
    seen = []
    with lib.inference_mode():
        with lib.enable_grad():
            y = x * 2
            made = lib.ones(2, requires_grad=True)
            seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
            seen.append((y.requires_grad, y.grad_fn is None, y.is_inference()))
            seen.append((made.requires_grad, made.is_inference(), (made * 2).requires_grad))
            with lib.no_grad():
                seen.append(lib.is_grad_enabled())
            seen.append(lib.is_grad_enabled())
        lib.set_grad_enabled(True)
        seen.append(((x * 2).requires_grad, lib.is_grad_enabled()))
        with lib.inference_mode(False):
            seen.append(((x * 2).requires_grad, lib.is_grad_enabled()))
        seen.append(((x * 2).requires_grad, lib.is_grad_enabled()))
    seen.append(((x * 2).requires_grad, lib.is_grad_enabled()))
    return seen


def test_enable_grad_inside_inference_mode_records_nothing_as_pytorch():
    assert _grad_mode_inside(cr) == _grad_mode_inside(torch)


def _views(lib):
    with lib.inference_mode():
        x = lib.arange(12.0).reshape(3, 4)
    views = {
        "x[0]": x[0], "x[:, 1:]": x[:, 1:], "x[None]": x[None], "x[[0, 1]]": x[[0, 1]],
        "x[x > 3]": x[x > 3], "view": x.view(12), "reshape": x.reshape(4, 3),
        "t().reshape (a copy)": x.t().reshape(12), "t": x.t(), "transpose": x.transpose(0, 1),
        "permute": x.permute(1, 0), "unsqueeze": x.unsqueeze(0), "squeeze (nothing)": x.squeeze(),
        "expand": x[:1].expand(3, 4), "flatten": x.flatten(), "narrow": x.narrow(1, 0, 2),
        "unbind": x.unbind(0)[1], "split": x.split(2)[1], "chunk": x.chunk(2, 1)[0],
        "diagonal": x.diagonal(), "data": x.data, "contiguous": x.contiguous(),
        "x + 1": x + 1, "clone": x.clone(), "sum": x.sum(0), "cat": lib.cat([x, x]),
    }  # fmt: skip
    seen = {name: view.is_inference() for name, view in views.items()}
    try:
        x[1].mul_(2)  # a view is written in place outside the block
        seen["write a view"] = "allowed"
    except RuntimeError:
        seen["write a view"] = "RuntimeError"
    return seen


def test_views_of_inference_tensors_are_inference_tensors_as_pytorchs():
    ours, theirs = _views(cr), _views(torch)
    assert ours == theirs
    assert ours["x[0]"] and not ours["x + 1"]  # (the oracle says both ways)
